"""The daily-limit reset: 00:00 in RAG_TIMEZONE, a missed midnight caught up, never twice for one day."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
from sqlalchemy import insert, select, update

from assets.rag.users.limits import reset_daily_limits
from assets.rag.users.schedules import build_reset_schedule
from assets.rag.users.tables import rag_limit_reset, rag_user


def _requests(schedule, instance, moment):
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=moment)
    return schedule.evaluate_tick(context).run_requests


def test_schedule_asks_for_todays_reset_in_the_timezone_across_a_daemon_gap(instance):
    tehran = ZoneInfo("Asia/Tehran")
    schedule = build_reset_schedule("Asia/Tehran")
    assert schedule.cron_schedule == "0 * * * *" and schedule.execution_timezone == "Asia/Tehran"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # 23:00 on Dec 3 (Tehran): still Dec 3's reset (done at its midnight).
    [before] = _requests(schedule, instance, datetime(2026, 12, 3, 23, 0, tzinfo=tehran))
    assert before.run_key == "reset:2026-12-03"
    # The daemon was down from 23:30 to 03:10: the first tick after the gap asks for Dec 4's reset.
    [after_gap] = _requests(schedule, instance, datetime(2026, 12, 4, 4, 0, tzinfo=tehran))
    assert after_gap.run_key == "reset:2026-12-04"
    assert after_gap.run_config["ops"]["reset_daily_limits_op"]["config"]["day"] == "2026-12-04"
    # Midnight Tehran is 20:30 UTC the day before: the day is Tehran's.
    [midnight] = _requests(schedule, instance, datetime(2026, 12, 4, 20, 30, tzinfo=ZoneInfo("UTC")))
    assert midnight.run_key == "reset:2026-12-05"
    # Every later tick of a day asks under the same run key: the daemon launches one run per day.
    later = {_requests(schedule, instance, datetime(2026, 12, 4, h, 0, tzinfo=tehran))[0].run_key for h in range(0, 24, 5)}
    assert later == {"reset:2026-12-04"}


def _usage(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(rag_user.c.id, rag_user.c.daily_used)).all())


def test_reset_runs_once_per_day_and_never_for_an_older_day(engine):
    with engine.begin() as conn:
        conn.execute(insert(rag_user), [{"id": "a", "daily_used": 7}, {"id": "b", "daily_used": 3}])
    dry = reset_daily_limits(engine, date(2026, 12, 4), dry_run=True)
    assert not dry.done and dry.users_reset == 2 and _usage(engine) == {"a": 7, "b": 3}
    first = reset_daily_limits(engine, date(2026, 12, 4), run_id="r1")
    assert first.done and first.users_reset == 2 and _usage(engine) == {"a": 0, "b": 0}
    with engine.begin() as conn:
        conn.execute(update(rag_user).values(daily_used=5))  # the day goes on
    second = reset_daily_limits(engine, date(2026, 12, 4), run_id="r2")  # re-executed run, caught-up tick
    assert not second.done and "already reset" in second.reason and _usage(engine) == {"a": 5, "b": 5}
    older = reset_daily_limits(engine, date(2026, 12, 3), run_id="r3")  # a late catch-up of yesterday
    assert not older.done and "2026-12-04" in older.reason and _usage(engine) == {"a": 5, "b": 5}
    assert reset_daily_limits(engine, date(2026, 12, 5), run_id="r4").done and _usage(engine) == {"a": 0, "b": 0}
    with engine.connect() as conn:
        ledger = conn.execute(select(rag_limit_reset.c.day, rag_limit_reset.c.users_reset, rag_limit_reset.c.run_id)
                              .order_by(rag_limit_reset.c.day)).all()
    assert [(str(d), n, r) for d, n, r in ledger] == [("2026-12-04", 2, "r1"), ("2026-12-05", 2, "r4")]
