"""Tag the posts of a time window and persist the tags: the plain logic behind `post_tags`.

A post is tagged when it has never been, when its text or the tagger changed since, or when its
persisted tags no longer carry the hash it was tagged with; otherwise it is skipped (replaces seed
001's TTL-LRU cache and Redis dedup). Tagger output goes through `ground_tags`. Per batch, the tags
(`post_enrichment(kind='tags')`, UPSERT by hash) and the bookkeeping (`post_tag_state`) are written in
one transaction; a post the tagger failed on writes nothing and is retried by the next run.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Engine, and_, func, select

from appdb.posts_tables import post_tag_state
from appdb.tables import post, post_enrichment
from assets.posts.grounding import data_hash, ground_tags, text_hash
from assets.posts.report import Tally
from assets.posts.store import UpsertCounts, dialect_insert, in_window, iter_pages, upsert_enrichments
from resources.tagging import Tagger

TAGS = "tags"
PAGE_ROWS = 1000


@dataclass
class TaggingReport:
    tagger: str
    posts: int = 0
    unchanged: int = 0  # skipped: same text, same tagger, tags still persisted
    tagged: int = 0
    without_tags: int = 0  # tagged, but no tag survived grounding (an empty list is stored)
    tags_kept: int = 0
    duplicates_merged: int = 0
    failed: Tally = field(default_factory=Tally)  # posts, by reason
    rejected: Tally = field(default_factory=Tally)  # tags dropped, by reason
    rows: UpsertCounts = field(default_factory=UpsertCounts)
    usage: Counter = field(default_factory=Counter)
    timings: Counter = field(default_factory=Counter)


def _needs_tagging(row, tagger_name: str, force: bool) -> bool:
    return (
        force
        or row.text_hash is None
        or row.text_hash != text_hash(row.text)
        or row.tagger != tagger_name
        or row.persisted_hash != row.tags_hash
    )


def _posts_query(start: datetime, end: datetime):
    enrichment = post_enrichment.alias("enrichment")
    return select(
        post.c.id,
        post.c.text,
        post_tag_state.c.text_hash,
        post_tag_state.c.tagger,
        post_tag_state.c.tags_hash,
        enrichment.c.data_hash.label("persisted_hash"),
    ).select_from(
        post.outerjoin(post_tag_state, post_tag_state.c.post_id == post.c.id).outerjoin(
            enrichment, and_(enrichment.c.post_id == post.c.id, enrichment.c.kind == TAGS)
        )
    ).where(in_window(start, end))


def tag_posts(
    engine: Engine,
    start: datetime,
    end: datetime,
    tagger: Tagger,
    max_tags: int,
    *,
    batch_size: int = 64,
    force: bool = False,
    log=None,
) -> TaggingReport:
    report = TaggingReport(tagger=tagger.name)
    for page in iter_pages(engine, _posts_query(start, end), post.c.id, PAGE_ROWS):
        report.posts += len(page)
        todo = [row for row in page if _needs_tagging(row, tagger.name, force)]
        report.unchanged += len(page) - len(todo)
        for offset in range(0, len(todo), batch_size):
            _tag_batch(engine, todo[offset : offset + batch_size], tagger, max_tags, report)
            if log:
                log(f"tagged {report.tagged}, failed {report.failed.total()} of {report.posts} posts so far")
    return report


def _tag_batch(engine: Engine, rows: list, tagger: Tagger, max_tags: int, report: TaggingReport) -> None:
    started = time.perf_counter()
    outcomes = tagger.tag([row.text for row in rows])
    report.timings["tagging"] += time.perf_counter() - started
    if len(outcomes) != len(rows):
        raise RuntimeError(f"tagger {tagger.name} returned {len(outcomes)} outcomes for {len(rows)} posts")
    tags_by_post: dict[int, dict] = {}
    state_rows = []
    now = datetime.now(timezone.utc)
    for row, outcome in zip(rows, outcomes):
        report.usage.update(outcome.usage)
        if not outcome.ok:
            report.failed.add(outcome.failure, f"post {row.id}: {outcome.detail[:120]}")
            continue
        grounded = ground_tags(outcome.tags or [], row.text, max_tags)
        for raw, reason in grounded.rejected:
            report.rejected.add(reason, f"post {row.id}: {raw!r}")
        report.duplicates_merged += grounded.duplicates
        report.tags_kept += len(grounded.tags)
        report.without_tags += not grounded.tags
        data = {"tags": grounded.tags}
        tags_by_post[row.id] = data
        state_rows.append(
            {"post_id": row.id, "text_hash": text_hash(row.text), "tagger": tagger.name,
             "tags_hash": data_hash(data), "tagged_at": now}
        )
    if not state_rows:
        return
    started = time.perf_counter()
    with engine.begin() as conn:  # tags and bookkeeping together, or neither
        report.rows.add(upsert_enrichments(conn, TAGS, tags_by_post, now))
        statement = dialect_insert(conn, post_tag_state).values(state_rows)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[post_tag_state.c.post_id],
                set_={name: statement.excluded[name] for name in ("text_hash", "tagger", "tags_hash", "tagged_at")},
            )
        )
    report.tagged += len(state_rows)
    report.timings["persisting"] += time.perf_counter() - started


def unpersisted_tagged_posts(engine: Engine, start: datetime, end: datetime, examples: int = 5) -> tuple[int, list[int]]:
    """Posts of the window that were tagged but whose persisted tags are missing or not the ones tagged
    (seed 001's TaggingPipelineBroken alert)."""
    enrichment = post_enrichment.alias("enrichment")
    broken = (
        select(post.c.id)
        .select_from(
            post.join(post_tag_state, post_tag_state.c.post_id == post.c.id).outerjoin(
                enrichment, and_(enrichment.c.post_id == post.c.id, enrichment.c.kind == TAGS)
            )
        )
        .where(in_window(start, end))
        .where(enrichment.c.data_hash.is_(None) | (enrichment.c.data_hash != post_tag_state.c.tags_hash))
    )
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(broken.subquery())).scalar_one()
        sample = conn.execute(broken.order_by(post.c.id).limit(examples)).scalars().all()
    return count, list(sample)
