"""Merging scraped duplicates of API products (seed 000's manual find-merge-duplicates).

Products are grouped by normalized title: trimmed, inner whitespace collapsed to one space,
case-folded (so Cyrillic and other non-ASCII titles compare case-insensitively too, which SQL
`lower()` on SQLite would not). Only groups holding both an `api` product and `scraped` products
merge: the lowest-id `api` product that is not itself merged is the main one, and every `scraped`
product of the group gets `merged_into_id` = main (and a new `updated_at`, so the next vector run
drops its vectors). A product whose title is empty or only whitespace is never grouped: an empty
title says nothing about what the product is. Always the whole catalog; a second run changes nothing;
merges are never undone.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Engine, bindparam, select, update

from appdb.tables import product
from assets.maintenance.retention import BATCH_ERRORS, BatchErrors

STREAM_ROWS = 10_000
UPDATE_BATCH = 1000
GROUPS_LISTED = 1000  # groups kept in the report (the counts cover all of them)


def normalize_title(title: str | None) -> str:
    return " ".join((title or "").split()).casefold()


@dataclass
class MergeGroup:
    title: str
    main_id: int
    scraped_ids: list[int]
    newly_merged: list[int]


@dataclass
class DuplicateReport:
    dry_run: bool
    products_scanned: int = 0
    duplicate_groups: int = 0  # normalized titles held by more than one product
    groups_merged: int = 0  # of those, groups with both api and scraped products
    groups_single_source: int = 0  # duplicates that stay: only api or only scraped products
    scraped_merged: int = 0  # scraped products given a (new) merged_into_id; would be, on a dry run
    scraped_already_merged: int = 0
    untitled: int = 0  # products with an empty or whitespace title: never grouped
    groups: list[MergeGroup] = field(default_factory=list)  # the first GROUPS_LISTED, by main id
    errors: BatchErrors = field(default_factory=BatchErrors)  # UPDATE batches that failed (the rest went on)
    duration_s: float = 0.0


def _key(title: str | None) -> bytes | None:
    """A 16-byte digest of the normalized title (memory stays flat on a large catalog); None when empty."""
    normalized = normalize_title(title)
    return hashlib.blake2b(normalized.encode(), digest_size=16).digest() if normalized else None


def merge_duplicates(engine: Engine, *, dry_run: bool = False, now: datetime | None = None) -> DuplicateReport:
    started = time.perf_counter()
    report = DuplicateReport(dry_run=dry_run)
    # digest -> [product count, lowest unmerged api id or None, [(scraped id, merged_into_id)]]
    groups: dict[bytes, list] = {}
    query = select(product.c.id, product.c.title, product.c.source, product.c.merged_into_id).order_by(product.c.id)
    with engine.connect() as conn:
        for rows in conn.execution_options(yield_per=STREAM_ROWS).execute(query).partitions():
            for pid, title, source, merged_into in rows:
                report.products_scanned += 1
                key = _key(title)
                if key is None:
                    report.untitled += 1
                    continue
                group = groups.setdefault(key, [0, None, []])
                group[0] += 1
                if source == "api":
                    if merged_into is None and group[1] is None:
                        group[1] = pid  # rows come in id order: the first is the lowest
                elif source == "scraped":
                    group[2].append((pid, merged_into))

    changes: list[dict] = []
    merged: list[tuple[int, list[int], list[int]]] = []
    for count, main_id, scraped in groups.values():
        if count < 2:
            continue
        report.duplicate_groups += 1
        if main_id is None or not scraped:
            report.groups_single_source += 1
            continue
        report.groups_merged += 1
        new = [pid for pid, current in scraped if current != main_id]
        report.scraped_already_merged += len(scraped) - len(new)
        changes += [{"pid": pid, "main_id": main_id} for pid in new]
        merged.append((main_id, [pid for pid, _ in scraped], new))
    del groups
    report.scraped_merged = len(changes)

    if changes and not dry_run:
        statement = (
            update(product)
            .where(product.c.id == bindparam("pid"), product.c.merged_into_id.is_distinct_from(bindparam("main_id")))
            .values(merged_into_id=bindparam("main_id"), updated_at=now or datetime.now(timezone.utc))
        )
        for start in range(0, len(changes), UPDATE_BATCH):
            batch = changes[start : start + UPDATE_BATCH]
            try:
                with engine.begin() as conn:
                    conn.execute(statement, batch)
            except BATCH_ERRORS as exc:  # counted; the other batches go on, a re-run retries these
                report.errors.add(f"products {batch[0]['pid']}..{batch[-1]['pid']}", exc)
                report.scraped_merged -= len(batch)

    listed = sorted(merged)[:GROUPS_LISTED]
    if listed:
        with engine.connect() as conn:
            main_ids = [main for main, _, _ in listed]
            titles = dict(conn.execute(select(product.c.id, product.c.title).where(product.c.id.in_(main_ids))).tuples().all())
        report.groups = [MergeGroup(normalize_title(titles.get(main)), main, scraped, new) for main, scraped, new in listed]
    report.duration_s = time.perf_counter() - started
    return report
