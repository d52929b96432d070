"""chat_messages_sensor over the real change log (SQLite and PostgreSQL) with a fake clock: a burst is
one run after the quiet period; its run of chat_messages_job (in process, real Redis db 5) classifies,
recommends and reports; materializing message_topics by hand takes every message without a topic."""

import time
from datetime import datetime, timezone

import dagster as dg
from sqlalchemy import func, insert, select

import assets.content
from assets.content.sensor import build_chat_messages_sensor
from assets.content.tables import chat_message, message_topic
from orchestration.resources import build_resources
from orchestration.settings import Settings
from resources.cache import CacheResource
from resources.database import DatabaseResource
from tests.content.conftest import REDIS_URL


def with_sensor(settings, sensor, **resources) -> dg.Definitions:
    """The domain's definitions with `sensor` (a fake clock) in place of its own."""
    domain = assets.content.build_defs(settings)
    return dg.Definitions(
        assets=domain.assets, asset_checks=domain.asset_checks, jobs=domain.jobs, sensors=[sensor],
        resources={**build_resources(settings), **resources},
    )


def test_a_burst_becomes_one_run_after_the_quiet_period_and_the_run_classifies_it(content_engine, db_url, redis_cache, user_prefix):
    _, client = redis_cache
    now = [time.time()]
    settings = Settings({"CONTENT_QUIET_SECONDS": "2", "CONTENT_MAX_WAIT_SECONDS": "15", "CONTENT_LEADING_EDGE": "false",
                         "DATA_DIR": "/nonexistent/never-created"})
    sensor = build_chat_messages_sensor(settings, clock=lambda: now[0])
    database = DatabaseResource(url=db_url)
    defs = with_sensor(settings, sensor, content_database=database, cache=CacheResource(url=REDIS_URL))
    at = datetime.now(timezone.utc)
    with content_engine.begin() as conn:
        conn.execute(insert(chat_message), [{"user_id": f"{user_prefix}{i % 7}", "text": "Не могу уснуть ночами", "created_at": at} for i in range(300)])
    with dg.instance_for_test() as instance:
        cursor = None

        def tick(advance):
            nonlocal cursor
            now[0] += advance
            data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources={"content_database": database}))
            cursor = data.cursor
            return data

        first = tick(0)  # the messages are younger than the quiet period: held back
        assert first.run_requests == [] and first.skip_message.startswith("read 0 changes")
        [request] = tick(3).run_requests  # quiet for 3 s: launched by the first tick that sees it
        ids = request.run_config["ops"]["message_topics"]["config"]["message_ids"]
        assert len(ids) == 300 and request.tags["debounce/reason"].startswith("quiet")
        assert tick(4).run_requests == []  # nothing new

        result = defs.resolve_job_def("chat_messages_job").execute_in_process(instance=instance, run_config=request.run_config)
        assert result.success
        meta = {k: v.value for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "message_topics"
                for k, v in e.materialization.metadata.items()}
        assert (meta["messages"], meta["messages_with_topic"], meta["users_affected"], meta["cache_written"]) == (300, 300, 7, 7)
        assert client.exists(f"user_topic:{user_prefix}3") and client.exists(f"recommendations:{user_prefix}3")

        # By hand (no config): every message without a topic.
        with content_engine.begin() as conn:
            conn.execute(insert(chat_message), [{"user_id": "h", "text": "Злюсь", "created_at": at}, {"user_id": "h", "text": "🙂", "created_at": at}])
        by_hand = dg.materialize([*defs.assets], selection=["message_topics"], instance=instance, resources={**defs.resources})
        assert by_hand.success
        with content_engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(message_topic)).scalar_one() == 302


def test_more_messages_than_a_run_lists_become_a_run_of_everything_without_a_topic(content_engine, db_url):
    now = [time.time() + 3]  # the messages are 3 s old when the sensor looks
    settings = Settings({"CONTENT_QUIET_SECONDS": "2", "DATA_DIR": "/nonexistent/never-created"})
    sensor = build_chat_messages_sensor(settings, clock=lambda: now[0])
    database = DatabaseResource(url=db_url)
    defs = with_sensor(settings, sensor, content_database=database)
    at = datetime.now(timezone.utc)
    with content_engine.begin() as conn:
        conn.execute(insert(chat_message), [{"user_id": str(i % 50), "text": "Тоска", "created_at": at} for i in range(5001)])
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, definitions=defs, resources={"content_database": database})
        [request] = sensor.evaluate_tick(context).run_requests
    assert request.run_config == {} and request.tags["debounce/items"] == "all"


def test_leading_edge_a_message_after_a_quiet_log_goes_at_once_and_the_next_ones_wait_for_quiet(content_engine, db_url):
    from datetime import timedelta

    from sqlalchemy import update

    from assets.content.tables import chat_message_change

    now = [time.time()]
    settings = Settings({"CONTENT_QUIET_SECONDS": "2", "CONTENT_MAX_WAIT_SECONDS": "15", "DATA_DIR": "/nonexistent/never-created"})
    sensor = build_chat_messages_sensor(settings, clock=lambda: now[0])
    database = DatabaseResource(url=db_url)
    defs = with_sensor(settings, sensor, content_database=database)

    def add(user, age_s):
        with content_engine.begin() as conn:
            conn.execute(insert(chat_message).values(user_id=user, text="Не могу уснуть", created_at=datetime.now(timezone.utc)))
            seq = conn.execute(select(func.max(chat_message_change.c.seq))).scalar_one()
            conn.execute(update(chat_message_change).where(chat_message_change.c.seq == seq)
                         .values(changed_at=datetime.fromtimestamp(now[0] - age_s, tz=timezone.utc)))

    with dg.instance_for_test() as instance:
        cursor = None

        def tick(advance=0.0):
            nonlocal cursor
            now[0] += advance
            data = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources={"content_database": database}))
            cursor = data.cursor
            return data

        add("lone", 0.1)  # nothing before it in the log: no quiet period to wait
        [first] = tick().run_requests
        assert len(first.run_config["ops"]["message_topics"]["config"]["message_ids"]) == 1
        now[0] += 10
        add("again", 0.5)  # the log was quiet for 9.5 s before it: at once as well
        add("burst", 0.2)  # 0.3 s after it: held back with nothing else until the log is quiet
        [second] = tick().run_requests
        assert len(second.run_config["ops"]["message_topics"]["config"]["message_ids"]) == 2
        add("follow", 0.0)  # 0.2 s after the last: waits for the quiet period
        assert tick().run_requests == []
        [third] = tick(2.5).run_requests
        assert len(third.run_config["ops"]["message_topics"]["config"]["message_ids"]) == 1


def test_a_continuous_stream_is_delivered_after_the_max_wait(content_engine):
    from datetime import timedelta

    from sqlalchemy import update

    from assets.content.sensor import QuietChatMessageSource
    from assets.content.tables import chat_message_change

    now = time.time()
    with content_engine.begin() as conn:
        conn.execute(insert(chat_message), [{"user_id": "s", "text": "Тоска", "created_at": datetime.now(timezone.utc)} for _ in range(3)])
    source = QuietChatMessageSource(content_engine, 3600, quiet_s=2, max_wait_s=15, clock=lambda: now, leading_edge=False)
    assert source.read(None, 100).changes == []  # all three are younger than 2 s
    with content_engine.begin() as conn:  # the first arrived 16 s ago, the newest just now: still streaming
        first = conn.execute(select(func.min(chat_message_change.c.seq))).scalar_one()
        conn.execute(update(chat_message_change).where(chat_message_change.c.seq == first)
                     .values(changed_at=datetime.fromtimestamp(now, tz=timezone.utc) - timedelta(seconds=16)))
    batch = source.read(None, 100)
    assert len(batch.changes) == 3 and batch.position["hwm"] > 0


def test_a_message_committed_late_is_still_delivered_on_postgresql(pg_url):
    """T1 inserts first but commits after T2: the source reads T2's message, then T1's once it commits."""
    from appdb.engine import build_engine
    from assets.content.sensor import QuietChatMessageSource

    engine = build_engine(pg_url)
    source = QuietChatMessageSource(engine, 3600, quiet_s=0, max_wait_s=15)
    at = datetime.now(timezone.utc)
    slow = engine.connect()
    slow_tx = slow.begin()
    slow.execute(insert(chat_message).values(user_id="late", text="Тоска", created_at=at))
    with engine.begin() as conn:
        conn.execute(insert(chat_message).values(user_id="quick", text="Злюсь", created_at=at))
    first = source.read(None, 100)
    assert len(first.changes) == 1 and first.position["inflight"]
    slow_tx.commit()
    slow.close()
    second = source.read(first.position, 100)
    assert len(second.changes) == 1 and second.changes[0].item != first.changes[0].item
    assert source.read(second.position, 100).changes == []
