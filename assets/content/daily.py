"""What `daily_content` does for one date: per topic an article and a quote, chosen once and kept
(`daily_content_choice`), into Redis `article:{topic}:{date}`, `quote:{topic}:{date}` and
`daily_content:{date}` (24 h each, rewritten by every hourly refresh).

The library choice is deterministic: the item at sha256("{date}:{topic}:{kind}") modulo the topic's
items of that kind, ordered by id, so every run (and every replica) picks the same one. With
DAILY_CONTENT_WRITER=llm the chat model writes the text instead (stored as a new content_item with
source 'llm'); when it fails, the library choice is used and the failure counted.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, insert, select

from assets.content.cache import DAILY_TTL, CacheReport, ContentCache, Entry, article_key, daily_content_key, quote_key
from assets.content.store import dialect_insert
from assets.content.taxonomy import Topic
from assets.content.tables import content_item, daily_content_choice, topic
from resources.llm import TRANSPORT, ChatCompletionsClient, LLMError

KINDS = ("article", "quote")


@dataclass
class DailyReport:
    topics: int = 0
    chosen: Counter = field(default_factory=Counter)  # new choices by source
    kept: int = 0  # choices made by an earlier run of the date
    missing: list[str] = field(default_factory=list)  # topic/kind with nothing in the library
    llm_failed: Counter = field(default_factory=Counter)
    cache: CacheReport = field(default_factory=CacheReport)


def pick(day: str, topic: str, kind: str, item_ids: list[int]) -> int | None:
    if not item_ids:
        return None
    digest = int(hashlib.sha256(f"{day}:{topic}:{kind}".encode()).hexdigest(), 16)
    return sorted(item_ids)[digest % len(item_ids)]


def _llm_write(client: ChatCompletionsClient, topic: Topic, kind: str, day: str) -> dict:
    what = "короткую статью (3-5 абзацев)" if kind == "article" else "короткую поддерживающую цитату"
    answer = client.complete(
        [
            {"role": "system", "content": 'Ты пишешь материалы для приложения психологической поддержки на русском. Ответь JSON: {"title": "...", "body": "..."}.'},
            {"role": "user", "content": f"Напиши {what} на тему «{topic.name}» ({topic.description}) для {day}."},
        ],
        max_tokens=900,
        temperature=0.7,
    )
    data = json.loads(answer.content)
    if not isinstance(data, dict) or not str(data.get("title", "")).strip() or not str(data.get("body", "")).strip():
        raise ValueError("the answer lacks title or body")
    return {"title": str(data["title"])[:500], "body": str(data["body"])}


def build_daily_content(
    engine: Engine, cache: ContentCache, topics: list[Topic], day: str, now: datetime, llm: ChatCompletionsClient | None = None
) -> DailyReport:
    report = DailyReport(topics=len(topics))
    c = content_item.c
    with engine.connect() as conn:
        library: dict[tuple[str, str], list[int]] = {}
        for r in conn.execute(select(c.id, c.topic_slug, c.kind).where(c.kind.in_(KINDS))):
            library.setdefault((r.topic_slug, r.kind), []).append(r.id)
        chosen = {(r.topic_slug, r.kind): r.content_id for r in conn.execute(select(daily_content_choice).where(daily_content_choice.c.day == day))}
    for t in topics:
        for kind in KINDS:
            if (t.slug, kind) in chosen:
                report.kept += 1
                continue
            source, content_id, written = "library", None, None
            if llm is not None:
                try:
                    written = _llm_write(llm, t, kind, day)
                    source = "llm"
                except (LLMError, ValueError) as exc:
                    reason = getattr(exc, "reason", "invalid_answer")
                    report.llm_failed[reason] += 1
                    if reason == TRANSPORT:
                        llm = None  # unreachable after its retries: the library for the rest of the run
            if written is None:
                content_id = pick(day, t.slug, kind, library.get((t.slug, kind), []))
                if content_id is None:
                    report.missing.append(f"{t.slug}/{kind}")
                    continue
            # The written item and the choice commit together: a crash leaves neither.
            with engine.begin() as conn:
                if written is not None:
                    content_id = conn.execute(
                        insert(content_item).values(kind=kind, topic_slug=t.slug, language="ru", created_at=now, **written).returning(c.id)
                    ).scalar_one()
                statement = dialect_insert(conn, daily_content_choice).values(
                    day=day, topic_slug=t.slug, kind=kind, content_id=content_id, source=source, chosen_at=now
                )
                conn.execute(statement.on_conflict_do_nothing())
            chosen[(t.slug, kind)] = content_id
            report.chosen[source] += 1
    with engine.connect() as conn:
        rows = conn.execute(
            select(daily_content_choice.c.topic_slug, daily_content_choice.c.kind, daily_content_choice.c.source, c.id, c.title, c.body, c.url)
            .join(content_item, content_item.c.id == daily_content_choice.c.content_id)
            .where(daily_content_choice.c.day == day)
        ).all()
    names = {t.slug: t.name for t in topics}
    summary: dict[str, dict] = {}
    entries = []
    for r in rows:
        item = {"id": r.id, "topic": r.topic_slug, "kind": r.kind, "title": r.title, "body": r.body, "url": r.url, "source": r.source, "date": day}
        entries.append(Entry((article_key if r.kind == "article" else quote_key)(r.topic_slug, day), item, DAILY_TTL))
        summary.setdefault(r.topic_slug, {"name": names.get(r.topic_slug, r.topic_slug)})[r.kind] = item
    entries.append(Entry(daily_content_key(day), {"date": day, "topics": dict(sorted(summary.items()))}, DAILY_TTL))
    report.cache = cache.write(entries)
    return report


def missing_choices(engine: Engine, day: str) -> list[str]:
    """`topic/kind` pairs of the taxonomy without a choice for `day`."""
    with engine.connect() as conn:
        slugs = list(conn.execute(select(topic.c.slug).order_by(topic.c.slug)).scalars())
        chosen = {(r.topic_slug, r.kind) for r in conn.execute(select(daily_content_choice).where(daily_content_choice.c.day == day))}
    return [f"{slug}/{kind}" for slug in slugs for kind in KINDS if (slug, kind) not in chosen]
