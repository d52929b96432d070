"""posts_job retries its steps; a day's posts are closed by 00:15 UTC the next day and post_tags and
post_link_enrichments say (freshness policy, shown in the UI) when that did not happen by 02:00 UTC."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from orchestration.settings import Settings


@pytest.fixture(scope="module")
def defs():
    return build_definitions(Settings({"DATA_DIR": "/nonexistent/never-created", "SCHEDULE_TIMEZONE": "Europe/Moscow"}))


@pytest.mark.parametrize(
    ("tick", "day"),
    [
        (datetime(2026, 3, 11, 0, 15, tzinfo=timezone.utc), "2026-03-10"),
        (datetime(2026, 1, 1, 0, 15, tzinfo=timezone.utc), "2025-12-31"),
    ],
)
def test_close_posts_day_schedule_requests_the_utc_day_that_ended(defs, instance, tick, day):
    schedule = defs.get_schedule_def("close_posts_day_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("15 0 * * *", "UTC")
    assert schedule.job_name == "posts_job" and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def())
    (request,) = schedule.evaluate_tick(context).run_requests
    assert (request.partition_key, request.run_key) == (day, f"close-{day}")


def test_tags_and_enrichments_are_late_when_the_day_is_not_closed_by_02_utc(defs):
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    for name in ("post_tags", "post_link_enrichments"):
        policy = specs[name].freshness_policy
        assert policy is not None, name
        assert (policy.deadline_cron, policy.timezone, policy.lower_bound_delta) == ("0 2 * * *", "UTC", timedelta(hours=2))
        # The window a materialization must fall in, [deadline - lower bound, deadline], holds the closing tick.
        deadline = datetime(2026, 3, 11, 2, 0, tzinfo=ZoneInfo("UTC"))
        closing = datetime(2026, 3, 11, 0, 15, tzinfo=ZoneInfo("UTC"))
        assert deadline - policy.lower_bound_delta <= closing <= deadline


def test_posts_job_retries_its_steps(defs):
    from dagster._core.definitions.dependency import NodeHandle

    job = defs.get_repository_def().get_job("posts_job")
    for node in job.graph.nodes:
        policy = job.get_retry_policy_for_handle(NodeHandle(node.name, None))
        assert policy is not None and policy.max_retries >= 2, node.name
