"""assistant_changes_sensor over the shared change log and debounce (SQLite and PostgreSQL)."""

import dagster as dg
from sqlalchemy import text

from assets.assistant.sensor import build_assistant_changes_sensor
from orchestration.settings import Settings
from resources.database import DatabaseResource


def ticker(sensor, db_url, instance):
    """One evaluation of `sensor` per call, from a cursor to (run requests, the next cursor)."""
    resources = {"assistant_database": DatabaseResource(url=db_url)}
    defs = dg.Definitions(sensors=[sensor], jobs=[dg.define_asset_job("assistant_changes_job")])

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
        data = sensor.evaluate_tick(context)
        return dg.SensorResult(run_requests=list(data.run_requests or []), cursor=data.cursor)

    return tick


def test_a_burst_becomes_one_run_with_the_changed_entities_after_the_quiet_period(catalog, db_url, instance):
    now = [1000.0]
    settings = Settings({"ASSISTANT_CHANGES_QUIET_SECONDS": "10", "ASSISTANT_CHANGES_LEADING_EDGE": "false"})
    sensor = build_assistant_changes_sensor(settings, clock=lambda: now[0])
    tick = ticker(sensor, db_url, instance)

    with catalog.begin() as conn:
        conn.execute(text("INSERT INTO preconfigured_product (id, name, base_price) VALUES (6, 'Silent Streamer', 79)"))
        conn.execute(text("UPDATE incompatibility_rule SET reason = 'Too long.' WHERE id = 14"))
        conn.execute(text("DELETE FROM part_option WHERE id = 801"))
    first = tick(None)
    assert first.run_requests == []  # still within the quiet period
    now[0] += 11
    second = tick(first.cursor)
    [request] = second.run_requests
    assert request.run_config == {"ops": {
        "assistant_documents": {"config": {"entities": ["category:8", "incompatibility_rule:14", "option:801", "product:6"]}},
        "assistant_knowledge_index": {"config": {"mode": "incremental"}},
    }}
    assert request.tags["debounce/items"] == "4"
    now[0] += 30
    assert tick(second.cursor).run_requests == []  # nothing new


def test_an_isolated_change_is_indexed_at_once_and_a_following_burst_waits(catalog, db_url, instance):
    """Leading edge (the default): nothing in flight and nothing changed in the last quiet period, so the
    first change runs on the first tick; changes right after it wait for the quiet period, as a burst."""
    now = [1000.0]
    sensor = build_assistant_changes_sensor(Settings({"ASSISTANT_CHANGES_QUIET_SECONDS": "10"}), clock=lambda: now[0])
    tick = ticker(sensor, db_url, instance)

    with catalog.begin() as conn:
        conn.execute(text("INSERT INTO preconfigured_product (id, name, base_price) VALUES (6, 'Silent Streamer', 79)"))
    first = tick(None)
    [request] = first.run_requests
    assert request.run_config["ops"]["assistant_documents"]["config"]["entities"] == ["product:6"]
    now[0] += 2
    with catalog.begin() as conn:
        conn.execute(text("UPDATE incompatibility_rule SET reason = 'Too long.' WHERE id = 14"))
    second = tick(first.cursor)
    assert second.run_requests == []  # within the quiet period after the leading-edge launch
    now[0] += 11
    [later] = tick(second.cursor).run_requests
    assert later.run_config["ops"]["assistant_documents"]["config"]["entities"] == ["incompatibility_rule:14"]
