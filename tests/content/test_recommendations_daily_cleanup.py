"""Recommendations, popular topics, daily content and cleanup on SQLite and PostgreSQL with real Redis (db 5)."""

import json
import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from assets.content.cache import ContentCache
from assets.content.cleanup import CleanupReport, clean_cache, clean_rows
from assets.content.daily import build_daily_content, pick
from assets.content.popular import compute_popular_topics, window_end_of
from assets.content.recommendations import recommend
from assets.content.tables import content_item, content_recommendation, daily_content_choice, message_topic, popular_topic
from assets.content.taxonomy import load_taxonomy
from resources.cache import CacheResource
from tests.content.conftest import NOW, add_messages
from tests.content.test_message_topics import run


def test_recommendations_follow_recent_topics_and_never_repeat_within_a_day(content_engine, redis_cache, user_prefix):
    cache, client = redis_cache
    user = f"{user_prefix}r"
    add_messages(
        content_engine,
        [(user, "Не могу уснуть, бессонница", NOW - timedelta(hours=1)), (user, "Злюсь на коллег", NOW - timedelta(days=3))],
    )
    run(content_engine, cache)
    first = recommend(content_engine, ContentCache(cache, content_engine, NOW), NOW, limit=4)
    assert (first.users, first.items) == (1, 4)
    value = json.loads(client.get(f"recommendations:{user}"))
    assert [i["rank"] for i in value["items"]] == [1, 2, 3, 4]
    assert value["items"][0]["topic"] == "sleep"  # the recent topic outweighs the 3-day-old one
    assert {i["topic"] for i in value["items"]} <= {"sleep", "anger"}
    assert 1700 < client.ttl(f"recommendations:{user}") <= 1800

    # Nothing changed: the user is not due.
    assert recommend(content_engine, ContentCache(cache, content_engine, NOW), NOW).users == 0
    # A new message an hour later: new items only (9 sleep items, 4 already given within a day).
    later = NOW + timedelta(hours=1)
    add_messages(content_engine, [(user, "Снова не спал всю ночь", later)])
    run(content_engine, cache, now=later)
    recommend(content_engine, ContentCache(cache, content_engine, later), later, limit=4)
    second = json.loads(client.get(f"recommendations:{user}"))
    assert not {i["id"] for i in second["items"]} & {i["id"] for i in value["items"]}


def test_popular_topics_count_the_window_and_the_one_before(content_engine):
    end = window_end_of(NOW + timedelta(minutes=17))
    assert end == NOW.replace(minute=0)
    add_messages(
        content_engine,
        [("p1", "Не могу уснуть", end - timedelta(hours=1)), ("p2", "Бессонница замучила", end - timedelta(hours=2)),
         ("p3", "Злюсь на всех", end - timedelta(hours=3)), ("p4", "Злюсь опять", end - timedelta(hours=30)),
         ("p5", "Злюсь и кричу", end - timedelta(hours=30)), ("p6", "Не могу уснуть", end + timedelta(minutes=5))],
    )
    run(content_engine, CacheResource(url=""), now=end + timedelta(minutes=10))
    result = compute_popular_topics(content_engine, end, timedelta(hours=24))
    assert [(p.topic, p.messages, p.previous, p.rank) for p in result] == [("sleep", 2, 0, 1), ("anger", 1, 2, 2)]
    assert result[1].change == -0.5 and result[0].change is None
    compute_popular_topics(content_engine, end, timedelta(hours=24))  # the same half hour again replaces its rows
    with content_engine.connect() as conn:
        assert len(conn.execute(select(popular_topic)).all()) == 2


def test_daily_content_is_deterministic_per_date_and_cached_for_a_day(content_engine, redis_cache):
    cache, client = redis_cache
    day = f"2099-{uuid.uuid4().int % 12 + 1:02d}-{uuid.uuid4().int % 28 + 1:02d}"  # a date no other test writes
    topics = load_taxonomy(content_engine)
    report = build_daily_content(content_engine, ContentCache(cache, content_engine, NOW), topics, day, NOW)
    assert report.chosen == {"library": 24} and report.kept == 0 and report.missing == []
    with content_engine.connect() as conn:
        chosen = {(r.topic_slug, r.kind): r.content_id for r in conn.execute(select(daily_content_choice).where(daily_content_choice.c.day == day))}
        sleep_articles = sorted(conn.execute(select(content_item.c.id).where(content_item.c.topic_slug == "sleep", content_item.c.kind == "article")).scalars())
    assert chosen[("sleep", "article")] == pick(day, "sleep", "article", sleep_articles)
    article = json.loads(client.get(f"article:sleep:{day}"))
    assert article["id"] == chosen[("sleep", "article")] and article["date"] == day
    assert json.loads(client.get(f"quote:anger:{day}"))["kind"] == "quote"
    summary = json.loads(client.get(f"daily_content:{day}"))
    assert len(summary["topics"]) == 12 and summary["topics"]["sleep"]["name"] == "Сон"
    for key in (f"article:sleep:{day}", f"quote:anger:{day}", f"daily_content:{day}"):
        assert 86300 < client.ttl(key) <= 86400
    # The hourly refresh keeps the day's choices.
    again = build_daily_content(content_engine, ContentCache(cache, content_engine, NOW), topics, day, NOW + timedelta(hours=1))
    assert again.kept == 24 and not again.chosen
    client.unlink(*client.scan_iter(match=f"*:{day}"))


def test_cleanup_scans_past_dated_keys_and_old_rows_with_a_dry_run(content_engine, redis_cache):
    cache, client = redis_cache
    tag = uuid.uuid4().hex[:6]
    old, today = "2000-01-01", NOW.date().isoformat()
    keys = {f"article:{tag}:{old}": True, f"quote:{tag}:{old}": True, f"daily_content:{old}": True,
            f"article:{tag}:{today}": False, f"user_topic:{tag}": False, f"article:{tag}:not-a-date": False}
    for key in keys:
        client.set(key, "{}", ex=600)
    [old_id, new_id] = add_messages(content_engine, [("c1", "Не могу уснуть", NOW - timedelta(days=40)), ("c2", "Не могу уснуть", NOW)])
    with content_engine.begin() as conn:
        conn.execute(insert(message_topic), [
            {"message_id": old_id, "topic_slug": "sleep", "score": 0.5, "method": "local", "created_at": NOW - timedelta(days=40)},
            {"message_id": new_id, "topic_slug": "sleep", "score": 0.5, "method": "local", "created_at": NOW},
        ])

    dry = CleanupReport(dry_run=True)
    clean_cache(cache, NOW.date(), True, dry)
    clean_rows(content_engine, NOW, 30, True, dry)
    assert dry.keys["article:*"] >= 1 and dry.rows["message_topic"] == 1
    assert all(client.exists(k) for k in keys)

    done = CleanupReport(dry_run=False)
    clean_cache(cache, NOW.date(), False, done)
    clean_rows(content_engine, NOW, 30, False, done)
    assert {k: bool(client.exists(k)) for k in keys} == {k: not gone for k, gone in keys.items()}
    assert done.rows["message_topic"] == 1
    with content_engine.connect() as conn:
        assert list(conn.execute(select(message_topic.c.message_id)).scalars()) == [new_id]
    client.unlink(*[k for k in keys if client.exists(k)])


def test_cleanup_without_redis_url_says_so(content_engine):
    report = CleanupReport(dry_run=False)
    clean_cache(CacheResource(url=""), NOW.date(), False, report)
    assert report.keys_status == "skipped: REDIS_URL unset" and report.keys == {}


def test_recommendations_are_kept_two_days(content_engine):
    with content_engine.begin() as conn:
        item = conn.execute(select(content_item.c.id).limit(1)).scalar_one()
        conn.execute(insert(content_recommendation), [
            {"user_id": "x", "content_id": item, "rank": 1, "score": 1.0, "recommended_at": NOW - timedelta(days=3)},
            {"user_id": "y", "content_id": item, "rank": 1, "score": 1.0, "recommended_at": NOW - timedelta(hours=30)},
        ])
    report = CleanupReport(dry_run=False)
    clean_rows(content_engine, NOW, 30, False, report)
    assert report.rows["content_recommendation"] == 1


def test_missing_daily_choices_are_listed(content_engine):
    from assets.content.daily import missing_choices

    day = "2099-12-31"
    assert len(missing_choices(content_engine, day)) == 24
    topics = [t for t in load_taxonomy(content_engine) if t.slug == "sleep"]
    build_daily_content(content_engine, ContentCache(CacheResource(url=""), content_engine, NOW), topics, day, NOW)
    gaps = missing_choices(content_engine, day)
    assert len(gaps) == 22 and "sleep/article" not in gaps and "anger/quote" in gaps
