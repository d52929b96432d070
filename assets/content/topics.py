"""What `message_topics` does: classify chat messages into `message_topic`, mark their users for new
recommendations, and put each affected user's current topic in Redis (`user_topic:{user_id}`, 1 h).

Which messages: the ids the sensor passes (new or edited messages; an edited text is classified again),
and every message without a topic yet that is younger than CONTENT_RETENTION_DAYS (older topics are
removed by cleanup_old_content_job, so older messages are not classified again). Pages by id
(bounded memory); each page is one transaction, so a crash loses at most the page it was writing and
the next run finds those messages still without a topic.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Sequence

from sqlalchemy import Engine, and_, exists, func, select, tuple_

from assets.content.cache import USER_TOPIC_TTL, CacheReport, ContentCache, Entry, user_topic_key
from assets.content.classifier import Verdict
from assets.content.store import as_utc, chunks, dialect_insert
from assets.content.tables import chat_message, content_user_state, message_topic

PAGE = 2000


@dataclass
class TopicReport:
    messages: int = 0
    with_topic: int = 0
    none: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    by_topic: Counter = field(default_factory=Counter)
    flags: Counter = field(default_factory=Counter)  # empty, no_words, non_russian, truncated
    methods: Counter = field(default_factory=Counter)
    users: int = 0
    cache: CacheReport = field(default_factory=CacheReport)
    seconds_classifying: float = 0.0
    seconds_writing: float = 0.0


def _untopiced(since: datetime):
    return and_(
        chat_message.c.created_at >= since,
        ~exists().where(message_topic.c.message_id == chat_message.c.id),
    )


def count_untopiced(engine: Engine, since: datetime) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(chat_message).where(_untopiced(since))).scalar_one()


def _pages(engine: Engine, message_ids: Sequence[int] | None, since: datetime):
    columns = (chat_message.c.id, chat_message.c.user_id, chat_message.c.text)
    for ids in chunks(sorted(set(message_ids or ())), PAGE):
        with engine.connect() as conn:
            rows = conn.execute(select(*columns).where(chat_message.c.id.in_(ids))).all()
        if rows:
            yield rows
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(*columns).where(_untopiced(since), chat_message.c.id > last).order_by(chat_message.c.id).limit(PAGE)
            ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _write(engine: Engine, rows, verdicts: list[Verdict], now: datetime, report: TopicReport) -> set[str]:
    """Upsert the page's topics (a row changes only when topic, score or method differ); return the users
    whose topics changed."""
    values = [
        {"message_id": r.id, "topic_slug": v.topic, "score": v.score, "method": v.method, "created_at": now}
        for r, v in zip(rows, verdicts)
    ]
    user_of = {r.id: r.user_id for r in rows}
    with engine.begin() as conn:
        c = message_topic.c
        existing = {
            row.message_id: (row.topic_slug, row.score, row.method)
            for row in conn.execute(select(c.message_id, c.topic_slug, c.score, c.method).where(c.message_id.in_(list(user_of))))
        }
        changed_users = set()
        for value in values:
            old = existing.get(value["message_id"])
            if old is None:
                report.inserted += 1
            elif old != (value["topic_slug"], value["score"], value["method"]):
                report.updated += 1
            else:
                report.unchanged += 1
                continue
            changed_users.add(user_of[value["message_id"]])
        statement = dialect_insert(conn, message_topic).values(values)
        guard = tuple_(c.topic_slug, c.score, c.method).is_distinct_from(
            tuple_(statement.excluded.topic_slug, statement.excluded.score, statement.excluded.method)
        ) if conn.dialect.name == "postgresql" else (
            c.topic_slug.is_distinct_from(statement.excluded.topic_slug)
            | c.score.is_distinct_from(statement.excluded.score)
            | c.method.is_distinct_from(statement.excluded.method)
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[c.message_id],
                set_={k: statement.excluded[k] for k in ("topic_slug", "score", "method", "created_at")},
                where=guard,
            )
        )
        if changed_users:
            state = dialect_insert(conn, content_user_state).values(
                [{"user_id": u, "topics_changed_at": now} for u in sorted(changed_users)]
            )
            conn.execute(
                state.on_conflict_do_update(
                    index_elements=[content_user_state.c.user_id], set_={"topics_changed_at": state.excluded.topics_changed_at}
                )
            )
    return changed_users


def current_topics(engine: Engine, user_ids: Sequence[str]) -> dict[str, dict]:
    """Each user's current topic: that of their newest message with a topic."""
    out: dict[str, dict] = {}
    for users in chunks(sorted(user_ids), 500):
        ranked = (
            select(
                chat_message.c.user_id, chat_message.c.id, chat_message.c.created_at,
                message_topic.c.topic_slug, message_topic.c.score, message_topic.c.method,
                func.row_number().over(
                    partition_by=chat_message.c.user_id, order_by=(chat_message.c.created_at.desc(), chat_message.c.id.desc())
                ).label("n"),
            )
            .join(message_topic, message_topic.c.message_id == chat_message.c.id)
            .where(chat_message.c.user_id.in_(users), message_topic.c.topic_slug.is_not(None))
            .subquery()
        )
        with engine.connect() as conn:
            for r in conn.execute(select(ranked).where(ranked.c.n == 1)):
                out[r.user_id] = {
                    "user_id": r.user_id, "topic": r.topic_slug, "score": r.score, "method": r.method,
                    "message_id": r.id, "message_at": as_utc(r.created_at).isoformat(),
                }
    return out


def classify_messages(
    engine: Engine,
    classifier,
    cache: ContentCache,
    topic_names: dict[str, str],
    *,
    since: datetime,
    now: datetime,
    message_ids: Sequence[int] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> TopicReport:
    report = TopicReport()
    users: set[str] = set()
    for rows in _pages(engine, message_ids, since):
        started = time.perf_counter()
        verdicts = classifier.classify_many([r.text for r in rows])
        report.seconds_classifying += time.perf_counter() - started
        started = time.perf_counter()
        users |= _write(engine, rows, verdicts, now, report)
        report.seconds_writing += time.perf_counter() - started
        report.messages += len(rows)
        for v in verdicts:
            report.methods[v.method] += 1
            if v.flag:
                report.flags[v.flag] += 1
            if v.topic is None:
                report.none += 1
            else:
                report.with_topic += 1
                report.by_topic[v.topic] += 1
        log(f"{report.messages} messages classified")
    report.users = len(users)
    entries = []
    for user_id, value in current_topics(engine, sorted(users)).items():
        value["topic_name"] = topic_names.get(value["topic"], value["topic"])
        entries.append(Entry(user_topic_key(user_id), value, USER_TOPIC_TTL))
    report.cache = cache.write(entries)
    return report
