"""classify_messages on SQLite and PostgreSQL with real Redis (db 5): rows, idempotence, edits,
user_topic keys (JSON, 1 h TTL), Redis down (topics written, cache writes owed, written next run)."""

import json
from datetime import timedelta

from sqlalchemy import select, update

from assets.content.cache import ContentCache
from assets.content.classifier import LocalClassifier, read_examples
from assets.content.tables import chat_message, chat_message_change, content_cache_pending, content_user_state, message_topic
from assets.content.taxonomy import load_taxonomy
from assets.content.topics import classify_messages, count_untopiced
from resources.cache import CacheResource
from tests.content.conftest import NOW, add_messages

DOWN = CacheResource(url="redis://127.0.0.1:1/5", retries=0, socket_timeout_s=1)


def run(engine, cache, now=NOW, ids=None):
    topics = load_taxonomy(engine)
    return classify_messages(
        engine, LocalClassifier(topics, read_examples()), ContentCache(cache, engine, now), {t.slug: t.name for t in topics},
        since=now - timedelta(days=30), now=now, message_ids=ids,
    )


def topics_of(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(message_topic.c.message_id, message_topic.c.topic_slug)).all())


def test_every_message_without_a_topic_is_classified_once_and_users_get_their_current_topic(content_engine, redis_cache, user_prefix):
    _, client = redis_cache
    a, b = f"{user_prefix}a", f"{user_prefix}b"
    ids = add_messages(
        content_engine,
        [
            (a, "Не могу уснуть уже неделю", NOW - timedelta(minutes=30)),
            (a, "На работе дедлайны и начальник давит", NOW - timedelta(minutes=5)),
            (a, "Спасибо!", NOW - timedelta(minutes=1)),  # none: the current topic stays stress
            (b, "😀😀", NOW - timedelta(minutes=2)),
            (b, "", NOW - timedelta(minutes=2)),
            (b, "Очень одиноко по вечерам, не с кем поговорить", NOW - timedelta(days=40)),  # older than retention
        ],
    )
    report = run(content_engine, redis_cache[0])

    assert (report.messages, report.with_topic, report.none, report.inserted) == (5, 2, 3, 5)
    assert report.flags == {"no_words": 1, "empty": 1}
    assert topics_of(content_engine) == {ids[0]: "sleep", ids[1]: "stress", ids[2]: None, ids[3]: None, ids[4]: None}
    value = json.loads(client.get(f"user_topic:{a}"))
    assert value["topic"] == "stress" and value["topic_name"] == "Стресс" and value["message_id"] == ids[1]
    assert value["method"] == "local" and 0 < value["score"] < 1
    assert 3500 < client.ttl(f"user_topic:{a}") <= 3600
    assert client.get(f"user_topic:{b}") is None  # no message of b has a topic
    with content_engine.connect() as conn:
        assert sorted(conn.execute(select(content_user_state.c.user_id)).scalars()) == [a, b]

    again = run(content_engine, redis_cache[0])
    assert (again.messages, again.inserted, again.updated, again.users) == (0, 0, 0, 0)
    assert count_untopiced(content_engine, NOW - timedelta(days=30)) == 0


def test_an_edited_message_is_classified_again_and_logged_by_the_trigger(content_engine, redis_cache, user_prefix):
    [mid] = add_messages(content_engine, [(f"{user_prefix}c", "Не могу уснуть", NOW)])
    run(content_engine, redis_cache[0])
    with content_engine.begin() as conn:
        conn.execute(update(chat_message).where(chat_message.c.id == mid).values(text="Злюсь на всех, бесит всё"))
        conn.execute(update(chat_message).where(chat_message.c.id == mid).values(user_id=f"{user_prefix}c"))  # not the text: no change row
        ops = conn.execute(select(chat_message_change.c.message_id, chat_message_change.c.op).order_by(chat_message_change.c.seq)).all()
    assert [tuple(r) for r in ops] == [(mid, "I"), (mid, "U")]
    report = run(content_engine, redis_cache[0], ids=[mid])
    assert (report.messages, report.updated) == (1, 1)
    assert topics_of(content_engine)[mid] == "anger"
    assert json.loads(redis_cache[1].get(f"user_topic:{user_prefix}c"))["topic"] == "anger"


def test_redis_down_topics_are_written_cache_writes_owed_and_written_by_the_next_run(content_engine, redis_cache, user_prefix):
    _, client = redis_cache
    user = f"{user_prefix}d"
    [mid] = add_messages(content_engine, [(user, "Мне грустно и ничего не хочется", NOW)])

    down = run(content_engine, DOWN)
    assert topics_of(content_engine) == {mid: "sadness"}
    assert down.cache.deferred == 1 and down.cache.written == 0
    assert "Redis unavailable" in down.cache.skipped_reason
    assert down.cache.metadata()["cache_deferred_examples"] == f"user_topic:{user}"
    with content_engine.connect() as conn:
        owed = conn.execute(select(content_cache_pending)).one()
    assert owed.cache_key == f"user_topic:{user}" and json.loads(owed.value)["topic"] == "sadness"

    later = NOW + timedelta(minutes=20)
    up = run(content_engine, redis_cache[0], now=later)  # nothing new to classify, but the owed write is made
    assert (up.messages, up.cache.pending_written) == (0, 1)
    assert json.loads(client.get(f"user_topic:{user}"))["topic"] == "sadness"
    assert 2300 < client.ttl(f"user_topic:{user}") <= 2400  # the TTL it had left: 60 min - 20 min
    with content_engine.connect() as conn:
        assert conn.execute(select(content_cache_pending)).all() == []


def test_an_owed_write_whose_ttl_ran_out_is_dropped(content_engine, redis_cache, user_prefix):
    user = f"{user_prefix}e"
    add_messages(content_engine, [(user, "Не могу уснуть", NOW)])
    run(content_engine, DOWN)
    report = run(content_engine, redis_cache[0], now=NOW + timedelta(hours=2))
    assert (report.cache.pending_written, report.cache.pending_expired) == (0, 1)
    assert redis_cache[1].get(f"user_topic:{user}") is None


def test_without_redis_url_nothing_is_owed(content_engine):
    add_messages(content_engine, [("u1", "Не могу уснуть", NOW)])
    report = run(content_engine, CacheResource(url=""))
    assert report.cache.skipped_reason.startswith("skipped: REDIS_URL unset")
    with content_engine.connect() as conn:
        assert conn.execute(select(content_cache_pending)).all() == []
