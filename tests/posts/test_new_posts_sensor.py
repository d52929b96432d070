"""new_posts_sensor cursor cases, on SQLite and PostgreSQL: first tick, nothing new, a burst, edits that
move a post to another day, deletes, a run in flight, a lost cursor, days that are not partitions."""

import uuid
from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import delete, func, select, update

import assets.posts
from appdb.engine import build_engine
from appdb.posts_tables import post_change
from appdb.tables import post
from orchestration.resources import build_resources
from orchestration.settings import Settings
from resources.database import DatabaseResource
from sensors.debounce import DebounceState
from sensors.new_posts import SENSOR_NAME, build_new_posts_sensor
from tests.posts.conftest import DAY, DAY_KEY, at, insert_posts

NEXT_KEY = (DAY + timedelta(days=1)).date().isoformat()


class SensorHarness:
    """The sensor with a fake clock, a real database and a real instance; `submit` does what the daemon does."""

    def __init__(self, url: str, instance: dg.DagsterInstance, **env: str):
        settings = Settings({"NEW_POSTS_QUIET_SECONDS": "30", "NEW_POSTS_MAX_WAIT_SECONDS": "300",
                             "DATA_DIR": "/nonexistent/never-created",
                             "NEW_POSTS_LEADING_EDGE": "false",  # these cases are about the trailing edge
                             **env})
        self.now = 1_000_000.0
        self.sensor = build_new_posts_sensor(settings, clock=lambda: self.now)
        self.database = DatabaseResource(url=url)
        self.defs = dg.Definitions.merge(
            assets.posts.build_defs(settings),
            dg.Definitions(sensors=[self.sensor], resources={**build_resources(settings), "database": self.database}),
        )
        self.instance = instance
        self.engine = build_engine(url)
        self.cursor = None

    def tick(self, advance: float = 0.0, save: bool = True):
        self.now += advance
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor, definitions=self.defs,
                                          resources={"database": self.database})
        data = self.sensor.evaluate_tick(context)
        if save:
            self.cursor = data.cursor
        return data

    def submit(self, data, status=dg.DagsterRunStatus.NOT_STARTED) -> list[dg.DagsterRun]:
        runs = []
        for request in data.run_requests:
            if self.instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": request.run_key, "dagster/sensor_name": SENSOR_NAME})):
                continue
            run = dg.DagsterRun(job_name="posts_job", run_id=str(uuid.uuid4()), status=status,
                                tags={**request.tags, "dagster/run_key": request.run_key, "dagster/sensor_name": SENSOR_NAME,
                                      "dagster/partition": request.partition_key})
            self.instance.add_run(run)
            runs.append(run)
        return runs

    def finish(self, runs) -> None:
        for run in runs:
            self.instance.report_run_canceled(run, message="test: finished")


@pytest.fixture
def harness(db_url, instance):
    return SensorHarness(db_url, instance)


def _days(data) -> list[str]:
    return sorted(r.partition_key for r in data.run_requests)


def test_first_tick_reads_new_posts_and_waits_for_the_quiet_period(harness):
    assert harness.tick().run_requests == []  # empty log
    insert_posts(harness.engine, [(1, "a", "x", at(9)), (2, "a", "y", at(10)), (3, "b", "z", at(9) + timedelta(days=1))])
    waiting = harness.tick(advance=5)
    assert waiting.run_requests == [] and "read 3 changes (I=3)" in waiting.skip_message
    due = harness.tick(advance=30)
    assert _days(due) == [DAY_KEY, NEXT_KEY]
    request = {r.partition_key: r for r in due.run_requests}[DAY_KEY]
    assert harness.sensor.job_name == "posts_job"
    assert request.run_config == {}
    epoch = DebounceState.from_json(harness.cursor).epoch
    assert request.run_key == f"{DAY_KEY}:{epoch}:0"
    assert request.tags["debounce/changes"] == "2"


def test_nothing_new_launches_nothing_and_a_no_op_update_is_no_change(harness):
    insert_posts(harness.engine, [(1, "a", "x", at(9))])
    harness.tick()
    harness.submit(harness.tick(advance=31))
    position = DebounceState.from_json(harness.cursor).position
    with harness.engine.begin() as conn:
        conn.execute(update(post).where(post.c.id == 1).values(text="x"))  # same text
    quiet = harness.tick(advance=60)
    after = DebounceState.from_json(harness.cursor).position
    assert quiet.run_requests == [] and after["hwm"] == position["hwm"] and not after["draining"]


def test_a_burst_of_edits_is_one_run_of_its_day(harness):
    insert_posts(harness.engine, [(i, "a", f"post {i}", at(9)) for i in range(1, 6)])
    harness.tick()
    harness.finish(harness.submit(harness.tick(advance=31)))
    for second in range(5):  # five edits, a few seconds apart: the quiet period restarts each time
        with harness.engine.begin() as conn:
            conn.execute(update(post).where(post.c.id == second + 1).values(text=f"edited {second}"))
        assert harness.tick(advance=10).run_requests == []
    due = harness.tick(advance=31)
    assert _days(due) == [DAY_KEY] and due.run_requests[0].run_key.endswith(":1")
    assert due.run_requests[0].tags["debounce/changes"] == "5"


def test_a_post_moved_to_another_day_and_a_deleted_post_request_both_days(harness):
    insert_posts(harness.engine, [(1, "a", "x", at(9)), (2, "a", "y", at(10))])
    harness.tick()
    harness.finish(harness.submit(harness.tick(advance=31)))
    with harness.engine.begin() as conn:
        conn.execute(update(post).where(post.c.id == 1).values(posted_at=at(9) + timedelta(days=1)))
    harness.tick()
    assert _days(harness.tick(advance=31)) == [DAY_KEY, NEXT_KEY]  # the day it left and the day it joined
    with harness.engine.begin() as conn:
        conn.execute(delete(post).where(post.c.id == 2))
    harness.tick()
    assert _days(harness.tick(advance=31)) == [DAY_KEY]


def test_changes_during_an_in_flight_run_wait_for_the_next_run(harness):
    insert_posts(harness.engine, [(1, "a", "x", at(9))])
    harness.tick()
    runs = harness.submit(harness.tick(advance=31), status=dg.DagsterRunStatus.STARTED)
    insert_posts(harness.engine, [(2, "a", "y", at(11))])
    harness.tick()
    busy = harness.tick(advance=400)  # past the quiet period and the max wait: the day is still busy
    assert busy.run_requests == [] and "waiting for in-flight runs" in busy.skip_message
    harness.finish(runs)
    assert _days(harness.tick(advance=31)) == [DAY_KEY]  # quiet since it was read, and no longer busy


def test_a_lost_cursor_launches_nothing_twice(harness):
    insert_posts(harness.engine, [(1, "a", "x", at(9))])
    harness.tick()
    saved = harness.cursor
    launched = harness.tick(advance=31, save=False)  # the runs went out, the cursor was never saved
    harness.finish(harness.submit(launched))
    harness.cursor = saved
    again = harness.tick(advance=5)
    assert again.run_requests == [] and "recovered" in again.skip_message
    insert_posts(harness.engine, [(2, "a", "y", at(10))])
    harness.tick()
    nxt = harness.tick(advance=31)
    assert [r.run_key.rsplit(":", 1)[1] for r in nxt.run_requests] == ["1"]  # numbering goes on after the lost run


def test_days_before_the_first_partition_are_dropped_and_future_days_wait(harness):
    insert_posts(harness.engine, [(1, "a", "archive", at(9).replace(year=2019)), (2, "a", "future", at(9).replace(year=2099)),
                                  (3, "a", "fine", at(9))])
    harness.tick()
    data = harness.tick(advance=31)
    assert _days(data) == [DAY_KEY]
    # The future day is kept pending until its partition exists (tests/sensors: then it runs).
    assert list(DebounceState.from_json(data.cursor).pending) == ["2099-03-10"]


def test_consumed_changes_are_pruned_once_the_cursor_is_saved(db_url, instance):
    harness = SensorHarness(db_url, instance, NEW_POSTS_RETENTION_HOURS="0")
    insert_posts(harness.engine, [(1, "a", "x", at(9)), (2, "a", "y", at(10))])
    harness.tick()
    with harness.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(post_change)).scalar_one() == 2
    harness.tick(advance=1)  # acknowledges what the saved cursor consumed
    with harness.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(post_change)).scalar_one() == 0
