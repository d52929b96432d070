"""Bring the post points of a time window up to date in Qdrant: the logic behind `post_vectors`.

One point per live post: id uuid5("post:<id>") (the same on every run), a `text` vector of the post
with its tags and the main text of the pages it links to (`post_link_enrichments`; bounded:
LINK_TEXT_CHARS per page, LINKS_TEXT_CHARS in all, after the post's own text so a model that truncates
keeps the post), and a payload with channel, posted_at, day, tags, links (the URLs whose text was
embedded), expires_at (posted_at + TTL, epoch seconds) and `content_hash` (of the model, the embedded
text and the payload: a changed linked page re-embeds the post). The stored hash is
read back from the points themselves, so only posts whose text, tags or dates changed are embedded
again. Posts already expired get no point (their old one is removed), and points of the window's days
whose post is gone are removed too.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Protocol

from sqlalchemy import Engine, and_, select

from appdb.tables import post, post_enrichment
from assets.posts.grounding import data_hash
from assets.posts.links import CRAWL
from assets.posts.report import Tally
from assets.posts.store import as_utc, day_key, in_window, iter_pages
from resources.vectors import point_id

TEXT = "text"
PAGE_ROWS = 512
EXPIRED = "expired"
POST_GONE = "post_gone"
PAYLOAD_INDEXES = {"day": "keyword", "expires_at": "integer", "channel": "keyword", "tags": "keyword"}
# Linked pages add context, not the bulk of the vector: a small embedding model reads ~256 tokens.
LINK_TEXT_CHARS = 1_000
LINKS_TEXT_CHARS = 3_000


class Embedder(Protocol):
    model_name: str

    def encode(self, texts: list[str]) -> Any: ...


def post_point_id(post_id: int) -> str:
    return point_id("post", post_id)


def linked_text(crawl: dict | None) -> tuple[str, list[str]]:
    """Title and main text of the post's fetched links (failed ones skipped), whitespace collapsed,
    at most LINK_TEXT_CHARS each and LINKS_TEXT_CHARS in all; and the URLs that contributed."""
    parts: list[str] = []
    urls: list[str] = []
    budget = LINKS_TEXT_CHARS
    for link in (crawl or {}).get("links", []):
        if budget <= 0:
            break
        if not link.get("ok"):
            continue
        body = " ".join(" ".join(filter(None, [link.get("title"), link.get("text")])).split())
        body = body[: min(LINK_TEXT_CHARS, budget)]
        if body:
            parts.append(body)
            urls.append(link.get("url", ""))
            budget -= len(body)
    return "\n".join(parts), urls


def embedded_text(text: str, tags: list[str], links_text: str = "") -> str:
    """The post first (a model that truncates keeps it), then its tags, then what its links say."""
    embedded = f"{text}\n\nTags: {', '.join(tags)}" if tags else text
    return f"{embedded}\n\nLinks:\n{links_text}" if links_text else embedded


@dataclass
class VectorReport:
    model: str
    posts: int = 0
    embedded: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    expired_skipped: int = 0
    without_tags: int = 0
    with_link_text: int = 0  # posts whose vector includes the text of at least one linked page
    deleted: Tally = field(default_factory=Tally)
    timings: Counter = field(default_factory=Counter)


def _posts_query(start: datetime, end: datetime):
    enrichment = post_enrichment.alias("enrichment")
    crawl = post_enrichment.alias("crawl")
    return (
        select(
            post.c.id, post.c.channel, post.c.text, post.c.posted_at,
            enrichment.c.data.label("tags"), crawl.c.data.label("crawl"),
        )
        .select_from(
            post.outerjoin(enrichment, and_(enrichment.c.post_id == post.c.id, enrichment.c.kind == "tags"))
            .outerjoin(crawl, and_(crawl.c.post_id == post.c.id, crawl.c.kind == CRAWL))
        )
        .where(in_window(start, end))
    )


def _plan(row, ttl: timedelta, model: str) -> tuple[str, dict, str]:
    posted_at = as_utc(row.posted_at)
    tags = list((row.tags or {}).get("tags") or [])
    links_text, links = linked_text(row.crawl)
    text = embedded_text(row.text, tags, links_text)
    payload = {
        "post_id": row.id,
        "channel": row.channel,
        "posted_at": posted_at.isoformat(),
        "day": day_key(posted_at),
        "tags": tags,
        "links": links,
        "expires_at": int((posted_at + ttl).timestamp()),
    }
    payload["content_hash"] = data_hash({"model": model, "text": text, "payload": payload})
    return text, payload, payload["content_hash"]


class PostVectorSync:
    def __init__(
        self,
        engine: Engine,
        client: Any,
        collection: str,
        embedder: Embedder,
        ttl_days: int,
        *,
        ensure_collection: Callable[[Any], None],
        embed_batch: int = 128,
        force: bool = False,
        now: datetime | None = None,
    ):
        self.engine, self.client, self.collection, self.embedder = engine, client, collection, embedder
        self.ttl = timedelta(days=ttl_days)
        self.ensure_collection = ensure_collection
        self.embed_batch = embed_batch
        self.force = force
        self.now = as_utc(now) if now else None
        self._ready = False

    def _collection(self) -> bool:
        if not self._ready:
            self._ready = self.client.collection_exists(self.collection)
        return self._ready

    def run(self, start: datetime, end: datetime, days: list[str]) -> VectorReport:
        now = self.now or datetime.now(timezone.utc)
        report = VectorReport(model=self.embedder.model_name)
        live: set[int] = set()
        expired: set[int] = set()
        for page in iter_pages(self.engine, _posts_query(start, end), post.c.id, PAGE_ROWS):
            report.posts += len(page)
            plans = []
            for row in page:
                if as_utc(row.posted_at) + self.ttl <= now:
                    expired.add(row.id)
                    continue
                live.add(row.id)
                plans.append((row.id, *_plan(row, self.ttl, report.model)))
            self._write(plans, report)
        report.expired_skipped = len(expired)
        self._remove_extra(days, live, expired, report)
        return report

    def _write(self, plans: list, report: VectorReport) -> None:
        if not plans:
            return
        existing: dict[int, str | None] = {}
        if self._collection():
            started = time.perf_counter()
            records = self.client.retrieve(
                self.collection, [post_point_id(pid) for pid, *_ in plans], with_payload=["post_id", "content_hash"]
            )
            existing = {int(r.payload["post_id"]): r.payload.get("content_hash") for r in records}
            report.timings["qdrant_read"] += time.perf_counter() - started
        todo = []
        for pid, text, payload, content_hash in plans:
            report.without_tags += not payload["tags"]
            report.with_link_text += bool(payload["links"])
            if not self.force and existing.get(pid) == content_hash:
                report.unchanged += 1
                continue
            todo.append((pid, text, payload, pid in existing))
        if not todo:
            return
        from qdrant_client import models

        if not self._ready:
            self.ensure_collection(self.client)
            self._ready = True
        for offset in range(0, len(todo), self.embed_batch):
            batch = todo[offset : offset + self.embed_batch]
            started = time.perf_counter()
            vectors = self.embedder.encode([text for _, text, _, _ in batch])
            report.timings["embedding"] += time.perf_counter() - started
            started = time.perf_counter()
            self.client.upsert(
                self.collection,
                points=[
                    models.PointStruct(id=post_point_id(pid), vector={TEXT: vector.tolist()}, payload=payload)
                    for (pid, _, payload, _), vector in zip(batch, vectors)
                ],
            )
            report.timings["qdrant_write"] += time.perf_counter() - started
            report.embedded += len(batch)
            for _, _, _, known in batch:
                report.created += not known
                report.updated += known

    def _remove_extra(self, days: list[str], live: set[int], expired: set[int], report: VectorReport) -> None:
        """Points of the window's days that must not exist: expired posts, deleted posts."""
        if not days or not self._collection():
            return
        from qdrant_client import models

        day_filter = models.Filter(must=[models.FieldCondition(key="day", match=models.MatchAny(any=list(days)))])
        offset = None
        doomed: list[tuple[str, int, str]] = []
        started = time.perf_counter()
        while True:
            records, offset = self.client.scroll(
                self.collection, scroll_filter=day_filter, limit=512, offset=offset, with_payload=["post_id"]
            )
            for record in records:
                pid = int(record.payload.get("post_id", -1))
                if pid not in live:
                    doomed.append((str(record.id), pid, EXPIRED if pid in expired else POST_GONE))
            if offset is None:
                break
        for start in range(0, len(doomed), 512):
            chunk = doomed[start : start + 512]
            self.client.delete(self.collection, points_selector=models.PointIdsList(points=[pid for pid, _, _ in chunk]))
            for _, post_id, reason in chunk:
                report.deleted.add(reason, f"post {post_id}")
        report.timings["qdrant_cleanup"] += time.perf_counter() - started
