"""The commerce schedules evaluated at given ticks: the rates schedule asks for the latest completed UTC
window (whatever SCHEDULE_TIMEZONE is), the daily repricing targets its job."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.settings import Settings


def defs_in(tz: str) -> dg.Definitions:
    return build_definitions(Settings({"DATA_DIR": "/nonexistent/never-created", "SCHEDULE_TIMEZONE": tz}))


def tick(defs, name: str, at: datetime, instance):
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, repository_def=defs.get_repository_def()
    )
    return defs.get_schedule_def(name).evaluate_tick(context)


@pytest.mark.parametrize(
    ("at", "partition"),
    [
        (datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc), "2026-03-05-04:00"),
        (datetime(2026, 3, 5, 8, 0, tzinfo=timezone.utc), "2026-03-05-04:00"),  # the window 04:00-08:00 just closed
        (datetime(2026, 3, 5, 7, 59, tzinfo=timezone.utc), "2026-03-05-00:00"),
        (datetime(2026, 3, 5, 0, 0, tzinfo=timezone.utc), "2026-03-04-20:00"),  # across midnight
    ],
)
def test_rates_schedule_requests_the_latest_completed_window(instance, at, partition):
    defs = defs_in("UTC")
    (request,) = tick(defs, "currency_rates_schedule", at, instance).run_requests
    assert request.partition_key == partition
    assert request.run_key == partition  # a replayed tick never launches the window twice
    assert request.job_name in (None, "currency_rates_job")


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 3, 5, 12, 0, tzinfo=ZoneInfo("Europe/Moscow")),  # a Moscow tick: 09:00 UTC
        datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc),
    ],
)
def test_rates_schedule_in_moscow_still_asks_for_utc_windows(instance, at):
    defs = defs_in("Europe/Moscow")
    schedule = defs.get_schedule_def("currency_rates_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 */4 * * *", "Europe/Moscow")
    (request,) = tick(defs, "currency_rates_schedule", at, instance).run_requests
    assert request.partition_key == request.run_key == "2026-03-05-04:00"


def test_reprice_schedule_targets_the_job_daily_after_the_rates(instance):
    defs = defs_in("Europe/Moscow")
    schedule = defs.get_schedule_def("reprice_products_schedule")
    assert schedule.job_name == "reprice_products_job"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("20 0 * * *", "Europe/Moscow")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    at = datetime(2026, 3, 5, 0, 20, tzinfo=ZoneInfo("Europe/Moscow"))
    (request,) = tick(defs, "reprice_products_schedule", at, instance).run_requests
    assert request.partition_key is None
    rates = defs.get_schedule_def("currency_rates_schedule")
    assert rates.job_name == "currency_rates_job" and rates.default_status == dg.DefaultScheduleStatus.RUNNING
