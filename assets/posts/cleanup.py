"""Remove what expired: post points past `expires_at` from Qdrant, then graph rows of expired or deleted
posts and the tag/channel nodes no post uses any more. The logic behind cleanup_expired_posts_job.

Work goes in batches, and after each batch a checkpoint row records the cutoff, the phase and the
position reached (in the same transaction as the SQL deletes). A run that finds an unfinished
checkpoint resumes it (same cutoff, same phase, from that position) instead of starting over; the
row is removed when the last phase is done. Deletes are idempotent, so a batch repeated after a crash
between delete and checkpoint changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import Engine, delete, exists, select

from appdb.posts_tables import post_cleanup_checkpoint, post_graph_channel, post_graph_edge, post_graph_post, post_graph_tag
from appdb.tables import post
from assets.posts.store import as_utc

CHECKPOINT = "expired_posts"
QDRANT_POINTS = "qdrant_points"
GRAPH_POSTS = "graph_posts"
GRAPH_EDGES = "graph_edges"
GRAPH_TAGS = "graph_tags"
GRAPH_CHANNELS = "graph_channels"
PHASES = (QDRANT_POINTS, GRAPH_POSTS, GRAPH_EDGES, GRAPH_TAGS, GRAPH_CHANNELS)


@dataclass
class CleanupReport:
    cutoff: datetime
    dry_run: bool = False
    resumed_from: str | None = None  # "phase@position" of the checkpoint this run continued
    deleted: dict[str, int] = field(default_factory=lambda: {phase: 0 for phase in PHASES})
    batches: int = 0
    duration_s: float = 0.0


@dataclass
class _Checkpoint:
    cutoff: datetime
    phase: str
    position: str | None
    deleted: dict[str, int]
    started_at: datetime


def load_checkpoint(engine: Engine) -> _Checkpoint | None:
    with engine.connect() as conn:
        row = conn.execute(select(post_cleanup_checkpoint).where(post_cleanup_checkpoint.c.name == CHECKPOINT)).first()
    if row is None:
        return None
    return _Checkpoint(as_utc(row.cutoff), row.phase, row.position, dict(row.deleted), as_utc(row.started_at))


def _save(conn, checkpoint: _Checkpoint) -> None:
    values = {
        "cutoff": checkpoint.cutoff,
        "phase": checkpoint.phase,
        "position": checkpoint.position,
        "deleted": dict(checkpoint.deleted),
        "started_at": checkpoint.started_at,
        "updated_at": datetime.now(timezone.utc),
    }
    updated = conn.execute(
        post_cleanup_checkpoint.update().where(post_cleanup_checkpoint.c.name == CHECKPOINT).values(**values)
    ).rowcount
    if not updated:
        conn.execute(post_cleanup_checkpoint.insert().values(name=CHECKPOINT, **values))


class ExpiredPostsCleanup:
    def __init__(
        self,
        engine: Engine,
        open_client: Callable[[], Any],
        collection: str,
        *,
        batch: int = 500,
        dry_run: bool = False,
        after_batch: Callable[[str, int], None] | None = None,
    ):
        self.engine = engine
        self.open_client = open_client  # a context manager factory: `with open_client() as client`
        self.collection = collection
        self.batch = max(1, batch)
        self.dry_run = dry_run
        self.after_batch = after_batch or (lambda phase, n: None)

    def run(self, now: datetime | None = None) -> CleanupReport:
        started = time.perf_counter()
        checkpoint = None if self.dry_run else load_checkpoint(self.engine)
        resumed = checkpoint is not None
        if checkpoint is None:
            cutoff = as_utc(now) if now else datetime.now(timezone.utc)
            checkpoint = _Checkpoint(cutoff, PHASES[0], None, {p: 0 for p in PHASES}, datetime.now(timezone.utc))
        report = CleanupReport(cutoff=checkpoint.cutoff, dry_run=self.dry_run)
        if resumed:
            report.resumed_from = f"{checkpoint.phase}@{checkpoint.position or 'start'}"
            report.deleted.update(checkpoint.deleted)
        steps = {QDRANT_POINTS: self._qdrant_points, GRAPH_POSTS: self._graph_posts, GRAPH_EDGES: self._graph_edges,
                 GRAPH_TAGS: self._graph_tags, GRAPH_CHANNELS: self._graph_channels}
        for phase in PHASES[PHASES.index(checkpoint.phase):]:
            if phase != checkpoint.phase:
                checkpoint.phase, checkpoint.position = phase, None
            steps[phase](checkpoint, report)
        if not self.dry_run:
            with self.engine.begin() as conn:
                conn.execute(delete(post_cleanup_checkpoint).where(post_cleanup_checkpoint.c.name == CHECKPOINT))
        report.duration_s = time.perf_counter() - started
        return report

    def _record(self, checkpoint: _Checkpoint, report: CleanupReport, n: int, conn) -> None:
        """Count a batch and save the checkpoint in `conn`'s transaction (with the batch's deletes)."""
        checkpoint.deleted[checkpoint.phase] = checkpoint.deleted.get(checkpoint.phase, 0) + n
        report.deleted[checkpoint.phase] = checkpoint.deleted[checkpoint.phase]
        report.batches += 1
        if not self.dry_run:
            _save(conn, checkpoint)

    # -- phases ------------------------------------------------------------------------------------
    def _qdrant_points(self, checkpoint: _Checkpoint, report: CleanupReport) -> None:
        from qdrant_client import models

        expired = models.Filter(
            must=[models.FieldCondition(key="expires_at", range=models.Range(lte=int(checkpoint.cutoff.timestamp())))]
        )
        with self.open_client() as client:
            if not client.collection_exists(self.collection):
                return
            offset = checkpoint.position
            while True:
                records, next_offset = client.scroll(
                    self.collection, scroll_filter=expired, limit=self.batch, offset=offset, with_payload=False
                )
                if not records:
                    return
                if not self.dry_run:
                    client.delete(self.collection, points_selector=models.PointIdsList(points=[r.id for r in records]))
                # Deleted points cannot be met again: resuming from the next id skips nothing left.
                checkpoint.position = None if next_offset is None else str(next_offset)
                with self.engine.begin() as conn:
                    self._record(checkpoint, report, len(records), conn)
                self.after_batch(checkpoint.phase, len(records))
                if next_offset is None:
                    return
                offset = next_offset

    def _keyset(self, checkpoint: _Checkpoint, report: CleanupReport, key, orphan_condition, tables_to_clear) -> None:
        while True:
            query = select(key).distinct().where(orphan_condition).order_by(key).limit(self.batch)
            if checkpoint.position is not None:
                query = query.where(key > (int(checkpoint.position) if key.name == "post_id" else checkpoint.position))
            with self.engine.begin() as conn:
                keys = conn.execute(query).scalars().all()
                if not keys:
                    return
                if not self.dry_run:
                    for table in tables_to_clear:
                        conn.execute(delete(table).where(table.c[key.name].in_(keys)))
                checkpoint.position = str(keys[-1])
                self._record(checkpoint, report, len(keys), conn)
            self.after_batch(checkpoint.phase, len(keys))

    def _graph_posts(self, checkpoint: _Checkpoint, report: CleanupReport) -> None:
        gone = ~exists().where(post.c.id == post_graph_post.c.post_id)
        self._keyset(
            checkpoint, report, post_graph_post.c.post_id,
            (post_graph_post.c.expires_at <= checkpoint.cutoff) | gone,
            (post_graph_edge, post_graph_post),
        )

    def _graph_edges(self, checkpoint: _Checkpoint, report: CleanupReport) -> None:
        no_post_node = ~exists().where(post_graph_post.c.post_id == post_graph_edge.c.post_id)
        self._keyset(checkpoint, report, post_graph_edge.c.post_id, no_post_node, (post_graph_edge,))

    def _graph_tags(self, checkpoint: _Checkpoint, report: CleanupReport) -> None:
        unused = ~exists().where(post_graph_edge.c.tag == post_graph_tag.c.tag)
        self._keyset(checkpoint, report, post_graph_tag.c.tag, unused, (post_graph_tag,))

    def _graph_channels(self, checkpoint: _Checkpoint, report: CleanupReport) -> None:
        unused = ~exists().where(post_graph_post.c.channel == post_graph_channel.c.channel)
        self._keyset(checkpoint, report, post_graph_channel.c.channel, unused, (post_graph_channel,))
