"""The post–tag–channel graph in SQL (seed 001 kept it in Neo4j): rebuilt per day, queried for co-occurrence.

`rebuild_graph` replaces the graph rows of a window's days in one transaction (delete, then insert
from `post` and the persisted tags): running it twice leaves the same rows. Expired posts are left
out. Tag and channel nodes are only ever added here; the ones no post uses any more are removed by
cleanup_expired_posts_job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, and_, delete, func, select

from appdb.posts_tables import post_graph_channel, post_graph_edge, post_graph_post, post_graph_tag
from appdb.tables import post, post_enrichment
from assets.posts.grounding import normalize_tag
from assets.posts.store import as_utc, day_key, dialect_insert, in_window

ROWS_PER_STATEMENT = 500


@dataclass
class GraphReport:
    posts: int = 0
    edges: int = 0
    expired_skipped: int = 0
    edges_added: int = 0
    edges_removed: int = 0
    posts_added: int = 0
    posts_removed: int = 0
    tags_distinct: int = 0
    channels_distinct: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.edges_added or self.edges_removed or self.posts_added or self.posts_removed)


def _insert_ignore(conn, table, rows: list[dict], keys: list) -> None:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        statement = dialect_insert(conn, table).values(rows[start : start + ROWS_PER_STATEMENT])
        conn.execute(statement.on_conflict_do_nothing(index_elements=keys))


def rebuild_graph(
    engine: Engine, start: datetime, end: datetime, days: list[str], ttl_days: int, now: datetime | None = None
) -> GraphReport:
    now = as_utc(now) if now else datetime.now(timezone.utc)
    ttl = timedelta(days=ttl_days)
    report = GraphReport()
    enrichment = post_enrichment.alias("enrichment")
    source = (
        select(post.c.id, post.c.channel, post.c.posted_at, enrichment.c.data)
        .select_from(post.outerjoin(enrichment, and_(enrichment.c.post_id == post.c.id, enrichment.c.kind == "tags")))
        .where(in_window(start, end))
    )
    with engine.begin() as conn:
        old_posts = set(conn.execute(select(post_graph_post.c.post_id).where(post_graph_post.c.day.in_(days))).scalars())
        old_edges = set(
            conn.execute(
                select(post_graph_edge.c.post_id, post_graph_edge.c.tag).where(
                    post_graph_edge.c.post_id.in_(select(post_graph_post.c.post_id).where(post_graph_post.c.day.in_(days)))
                )
            ).tuples()
        )
        posts, edges, tags, channels = [], [], set(), set()
        for row in conn.execute(source):
            posted_at = as_utc(row.posted_at)
            if posted_at + ttl <= now:
                report.expired_skipped += 1
                continue
            posts.append({"post_id": row.id, "channel": row.channel, "day": day_key(posted_at), "expires_at": posted_at + ttl})
            channels.add(row.channel)
            for tag in dict.fromkeys(normalize_tag(t) for t in (row.data or {}).get("tags") or [] if isinstance(t, str)):
                if tag:
                    edges.append({"post_id": row.id, "tag": tag})
                    tags.add(tag)
        conn.execute(
            delete(post_graph_edge).where(
                post_graph_edge.c.post_id.in_(select(post_graph_post.c.post_id).where(post_graph_post.c.day.in_(days)))
            )
        )
        conn.execute(delete(post_graph_post).where(post_graph_post.c.day.in_(days)))
        # A post that moved to another day (posted_at edited) leaves its old rows behind otherwise.
        moved = [p["post_id"] for p in posts]
        for chunk_start in range(0, len(moved), ROWS_PER_STATEMENT):
            chunk = moved[chunk_start : chunk_start + ROWS_PER_STATEMENT]
            conn.execute(delete(post_graph_edge).where(post_graph_edge.c.post_id.in_(chunk)))
            conn.execute(delete(post_graph_post).where(post_graph_post.c.post_id.in_(chunk)))
        _insert_ignore(conn, post_graph_channel, [{"channel": c} for c in sorted(channels)], ["channel"])
        _insert_ignore(conn, post_graph_tag, [{"tag": t} for t in sorted(tags)], ["tag"])
        for chunk_start in range(0, len(posts), ROWS_PER_STATEMENT):
            conn.execute(post_graph_post.insert(), posts[chunk_start : chunk_start + ROWS_PER_STATEMENT])
        for chunk_start in range(0, len(edges), ROWS_PER_STATEMENT):
            conn.execute(post_graph_edge.insert(), edges[chunk_start : chunk_start + ROWS_PER_STATEMENT])
    new_posts = {p["post_id"] for p in posts}
    new_edges = {(e["post_id"], e["tag"]) for e in edges}
    report.posts, report.edges = len(new_posts), len(new_edges)
    report.posts_added, report.posts_removed = len(new_posts - old_posts), len(old_posts - new_posts)
    report.edges_added, report.edges_removed = len(new_edges - old_edges), len(old_edges - new_edges)
    report.tags_distinct, report.channels_distinct = len(tags), len(channels)
    return report


def related_tags(engine: Engine, tag: str, limit: int = 10, channel: str | None = None) -> list[tuple[str, int]]:
    """The tags that share the most posts with `tag` (co-occurrence), most frequent first."""
    wanted = normalize_tag(tag)
    mine = post_graph_edge.alias("mine")
    other = post_graph_edge.alias("other")
    query = (
        select(other.c.tag, func.count().label("posts"))
        .select_from(mine.join(other, and_(other.c.post_id == mine.c.post_id, other.c.tag != mine.c.tag)))
        .where(mine.c.tag == wanted)
    )
    if channel:
        query = query.join(post_graph_post, post_graph_post.c.post_id == mine.c.post_id).where(
            post_graph_post.c.channel == channel
        )
    query = query.group_by(other.c.tag).order_by(func.count().desc(), other.c.tag).limit(limit)
    with engine.connect() as conn:
        return [(row.tag, row.posts) for row in conn.execute(query)]


def tag_post_count(engine: Engine, tag: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(post_graph_edge).where(post_graph_edge.c.tag == normalize_tag(tag))
        ).scalar_one()
