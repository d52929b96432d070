"""Render the catalog's documents into `assistant_document`: the logic behind `assistant_documents`.

A row is written only when its content hash changed (or it is new); an entity that is gone or
deactivated turns its row into a tombstone (active = false) that the index clears once its points
are deleted. `changed=None` renders everything and also retires rows of entities no longer there.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import Engine, and_, bindparam, select, update

from assets.assistant.catalog import Key, all_keys, doc_key, load, parse_key, touched
from assets.assistant.render import render
from assets.assistant.tables import assistant_document

PAGE = 500


@dataclass
class DocumentReport:
    mode: str
    requested: int = 0  # changed entities given (incremental) or catalog entities (full)
    rendered: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0  # documents of deleted or deactivated entities, now tombstones
    by_type: Counter = field(default_factory=Counter)
    problems: dict[str, list[str]] = field(default_factory=dict)
    timings: Counter = field(default_factory=Counter)


def sync_documents(engine: Engine, changed: Iterable[str] | None = None, now: datetime | None = None) -> DocumentReport:
    """Re-render the documents `changed` entity keys ("option:12") touch, or all of them (None)."""
    now = now or datetime.now(timezone.utc)
    report = DocumentReport(mode="full" if changed is None else "incremental")
    started = time.perf_counter()
    with engine.connect() as conn:
        if changed is None:
            keys = sorted(all_keys(conn))
            report.requested = len(keys)
        else:
            seeds = {parse_key(item) for item in changed}
            report.requested = len(seeds)
            keys = sorted(touched(conn, seeds))
    report.timings["expand"] += time.perf_counter() - started
    for start in range(0, len(keys), PAGE):
        _sync_page(engine, keys[start : start + PAGE], now, report)
    if changed is None:
        started = time.perf_counter()
        _retire_missing(engine, {doc_key(*key) for key in keys}, now, report)
        report.timings["retire"] += time.perf_counter() - started
    return report


def _sync_page(engine: Engine, keys: list[Key], now: datetime, report: DocumentReport) -> None:
    d = assistant_document.c
    with engine.begin() as conn:
        started = time.perf_counter()
        catalog = load(conn, keys)
        report.timings["read"] += time.perf_counter() - started
        started = time.perf_counter()
        documents = {doc_key(*key): render(catalog, key) for key in keys}
        report.timings["render"] += time.perf_counter() - started
        started = time.perf_counter()
        existing = {
            row.doc_key: row
            for row in conn.execute(select(d.doc_key, d.content_hash, d.active).where(d.doc_key.in_(list(documents)))).all()
        }
        inserts, updates, retire = [], [], []
        for key, document in documents.items():
            old = existing.get(key)
            if document is None:
                if old is not None and old.active:
                    retire.append({"k": key})
                continue
            report.rendered += 1
            report.by_type[document.entity_type] += 1
            if document.problems:
                report.problems[key] = document.problems
            values = {
                "title": document.title, "body": document.body, "content_hash": document.content_hash,
                "problems": document.problems, "active": True, "rendered_at": now,
            }
            if old is None:
                inserts.append({"doc_key": key, "entity_type": document.entity_type, "entity_id": document.entity_id, **values})
            elif not old.active or old.content_hash != document.content_hash:
                updates.append({"k": key, **values})
            else:
                report.unchanged += 1
        if inserts:
            conn.execute(assistant_document.insert(), inserts)
        if updates:
            conn.execute(update(assistant_document).where(d.doc_key == bindparam("k")), updates)
        if retire:
            _retire(conn, retire, now)
        report.created += len(inserts)
        report.updated += len(updates)
        report.retired += len(retire)
        report.timings["write"] += time.perf_counter() - started


def _retire(conn, keys: list[dict], now: datetime) -> None:
    d = assistant_document.c
    conn.execute(
        update(assistant_document).where(and_(d.doc_key == bindparam("k"), d.active.is_(True))),
        [{**key, "active": False, "content_hash": None, "body": "", "problems": [], "rendered_at": now} for key in keys],
    )


def _retire_missing(engine: Engine, present: set[str], now: datetime, report: DocumentReport) -> None:
    d = assistant_document.c
    with engine.begin() as conn:
        gone = [row.doc_key for row in conn.execute(select(d.doc_key).where(d.active.is_(True))) if row.doc_key not in present]
        for start in range(0, len(gone), PAGE):
            _retire(conn, [{"k": key} for key in gone[start : start + PAGE]], now)
    report.retired += len(gone)
