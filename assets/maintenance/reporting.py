"""Run metadata of the maintenance jobs: the same count names everywhere, markdown lists capped."""

from __future__ import annotations

from typing import Iterable, Mapping

import dagster as dg

LISTED = 50


_WOULD = {
    "deleted": "would_delete",
    "merged": "would_merge",
    "quarantined": "would_quarantine",
    "restored": "would_restore",
    "purged": "would_purge",
}


def removed_key(dry_run: bool, verb: str = "deleted") -> str:
    """The count's name: `deleted` on a real run, `would_delete` on a dry run (merged/would_merge, ...)."""
    return _WOULD[verb] if dry_run else verb


def md_list(items: Iterable[str], total: int | None = None, limit: int = LISTED) -> dg.MetadataValue:
    items = list(items)
    total = len(items) if total is None else total
    if not total:
        return dg.MetadataValue.md("none")
    lines = [f"- `{item}`" for item in items[:limit]]
    if total > len(lines):
        lines.append(f"- ... and {total - len(lines)} more")
    return dg.MetadataValue.md("\n".join(lines))


def md_errors(errors: Mapping[str, str], limit: int = LISTED) -> dg.MetadataValue:
    if not errors:
        return dg.MetadataValue.md("none")
    lines = [f"- `{key!r}`: {error}" for key, error in list(errors.items())[:limit]]
    if len(errors) > limit:
        lines.append(f"- ... and {len(errors) - limit} more")
    return dg.MetadataValue.md("\n".join(lines))


def md_table(header: list[str], rows: list[list], total: int | None = None, limit: int = LISTED) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("none")
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows[:limit]]
    total = len(rows) if total is None else total
    if total > min(len(rows), limit):
        out.append(f"\n... and {total - min(len(rows), limit)} more")
    return dg.MetadataValue.md("\n".join(out))
