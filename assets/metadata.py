"""Markdown for the metadata an operator reads in the UI, shared by every domain: capped lists, tables,
counts and phase timings, each "none" when empty."""

from __future__ import annotations

from typing import Iterable, Mapping

import dagster as dg

from appdb.change_log import CHANGE_LOG_POINT, change_log_point

LISTED = 50


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


def md_counts(counts: Mapping[str, int]) -> dg.MetadataValue:
    """A count per key (a Counter: reasons, topics, flags), most common first."""
    return md_table(["", "count"], sorted(([k, n] for k, n in counts.items() if n), key=lambda row: (-row[1], str(row[0]))))


def timings_md(timings: Mapping[str, float], total_s: float) -> dg.MetadataValue:
    rows = "\n".join(f"| {phase} | {seconds:.3f} |" for phase, seconds in sorted(timings.items()))
    return dg.MetadataValue.md(f"| phase | seconds |\n|---|---:|\n{rows}\n| **total** | {total_s:.3f} |")


def change_log_point_md(engine, table) -> dict:
    """Where this run reads the change log `table` from (appdb.change_log), as metadata: the change
    sensors drop the pending changes it saw instead of launching them again. Call it before reading."""
    return {CHANGE_LOG_POINT: dg.MetadataValue.json(change_log_point(engine, table))}
