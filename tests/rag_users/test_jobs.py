"""The Dagster side: jobs run in process on the definitions, the sensor's decisions, the schedules."""

import dagster as dg
import pytest
from sqlalchemy import insert, select, update

from appdb.engine import build_engine
from assets.rag.users.jobs import DELIVER_JOB
from assets.rag.users.sensors import notifications_sensor
from assets.rag.users.tables import rag_user, rag_user_stats
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from tests.rag_users.helpers import log_rows, outbox, stats_recomputed, stats_table, write_logs


@pytest.fixture
def defs(sqlite_url, users_server, monkeypatch, tmp_path):
    for name, value in {
        "DATA_DIR": str(tmp_path), "DATABASE_URL": sqlite_url, "USERS_URL": users_server.url, "USERS_API_KEY": "k",
        "RAG_TIERS": "free:0,active:3,power:6", "NOTIFY_BACKOFF_SECONDS": "0", "REDIS_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    return build_definitions(Settings())


def _meta(result, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _op_meta(result) -> dict:
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {k: v.value for k, v in output.event_specific_data.metadata.items()}


def test_deliver_job_sends_updates_stats_and_tiers(defs, sqlite_url, users_server, instance):
    engine = build_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(insert(rag_user), [{"id": f"user-{i}"} for i in range(3)])
    write_logs(engine, log_rows(12, users=3))
    result = defs.resolve_job_def(DELIVER_JOB).execute_in_process(instance=instance)
    delivered = _meta(result, "notification_outbox")
    assert (delivered["delivered"], delivered["dead_lettered"], delivered["outbox_sent"]) == (12, 0, 12)
    assert len(users_server.records) == 12
    assert _meta(result, "rag_user_stats")["users_changed"] == 3
    tiers = _meta(result, "rag_user_tiers")
    assert tiers["changed"] == 3 and tiers["users_per_tier"] == {"active": 3}
    assert "user-0: free -> active (4 queries)" in tiers["changes"]
    assert stats_table(engine) == stats_recomputed(engine)
    # The daily job's checks pass: statistics equal the log, nothing stuck or dead.
    daily = defs.resolve_job_def("rag_user_tiers_job").execute_in_process(instance=instance)
    assert {e.check_name: e.passed for e in daily.get_asset_check_evaluations()} == {
        "stats_match_log": True, "outbox_not_stuck": True, "no_dead_notifications": True,
    }
    # A statistics row that no longer matches the log fails the check, naming the user.
    with engine.begin() as conn:
        conn.execute(update(rag_user_stats).where(rag_user_stats.c.user_id == "user-0").values(tokens_total=1))
    tampered = defs.resolve_job_def("rag_user_tiers_job").execute_in_process(instance=instance, raise_on_error=False)
    [check] = [e for e in tampered.get_asset_check_evaluations() if e.check_name == "stats_match_log"]
    assert not check.passed and check.metadata["examples"].value == "user-0"


def test_system_notification_is_written_once_and_delivered(defs, sqlite_url, users_server, instance):
    config = {"notification_type": "maintenance", "title": "Downtime", "message": "سامانه ساعت ۲ به‌روزرسانی می‌شود",
              "user_ids": ["user-1", "user-2"], "metadata": {"window": "02:00-02:30"}}
    run_config = {"ops": {"send_system_notification_op": {"config": {**config, "idempotency_key": "downtime-1"}}}}
    job = defs.resolve_job_def("send_system_notification_job")
    assert _op_meta(job.execute_in_process(run_config=run_config, instance=instance))["queued"] is True
    assert _op_meta(job.execute_in_process(run_config=run_config, instance=instance))["queued"] is False
    defs.resolve_job_def(DELIVER_JOB).execute_in_process(instance=instance)
    assert users_server.records["system:downtime-1"] == ("/api/v1/notifications", config)


def test_usage_statistics_partition_and_reset_job(defs, sqlite_url, instance):
    from tests.rag_users.helpers import utc

    engine = build_engine(sqlite_url)
    write_logs(engine, log_rows(4, users=2, created_at=utc(2026, 11, 30, 10, 15)))
    result = defs.resolve_job_def("usage_statistics_job").execute_in_process(instance=instance, partition_key="2026-11-30-10:00")
    assert _meta(result, "usage_statistics")["enqueued"] == 2
    assert {k for k in outbox(engine) if k.startswith("usage_statistics:")} == {
        "usage_statistics:user-0:2026-11-30T10:00Z", "usage_statistics:user-1:2026-11-30T10:00Z"}
    reset = defs.resolve_job_def("reset_daily_limits_job")
    run_config = {"ops": {"reset_daily_limits_op": {"config": {"day": "2026-12-04"}}}}
    assert _op_meta(reset.execute_in_process(run_config=run_config, instance=instance))["reset"] is True
    assert _op_meta(reset.execute_in_process(run_config=run_config, instance=instance))["reset"] is False


def test_sensor_launches_one_run_when_rows_are_due(defs, sqlite_url, instance):
    engine = build_engine(sqlite_url)
    resources = {"rag_database": defs.resources["rag_database"], "users_api": defs.resources["users_api"]}

    def tick():
        return notifications_sensor(dg.build_sensor_context(instance=instance, resources=resources))

    assert isinstance(tick(), dg.SkipReason)
    write_logs(engine, log_rows(2))
    request = tick()
    assert isinstance(request, dg.RunRequest) and request.tags["rag/due"] == "2"
    assert request.run_config == {"ops": {"notification_outbox": {"config": {"reconcile": False, "linger_seconds": 20.0}}}}
    # A run of the job queued or running: the sensor waits for it instead of piling up runs.
    instance.create_run_for_job(defs.resolve_job_def(DELIVER_JOB), run_config=request.run_config)
    skip = tick()
    assert isinstance(skip, dg.SkipReason) and "in flight" in skip.skip_message


def test_schedules_follow_the_beat_table(defs):
    repo = defs.get_repository_def()
    crons = {s.name: (s.cron_schedule, s.job_name, s.default_status) for s in repo.schedule_defs if s.job_name in {
        "reset_daily_limits_job", "rag_cache_cleanup_job", "query_cache_cleanup_job", "usage_statistics_job"}}
    assert crons == {
        "reset_daily_limits_schedule": ("0 * * * *", "reset_daily_limits_job", dg.DefaultScheduleStatus.RUNNING),
        "rag_cache_cleanup_schedule": ("0 */6 * * *", "rag_cache_cleanup_job", dg.DefaultScheduleStatus.RUNNING),
        "query_cache_cleanup_schedule": ("0 2 * * *", "query_cache_cleanup_job", dg.DefaultScheduleStatus.RUNNING),
        "usage_statistics_schedule": ("5 * * * *", "usage_statistics_job", dg.DefaultScheduleStatus.RUNNING),
    }
    assert repo.get_sensor_def("notifications_sensor").default_status == dg.DefaultSensorStatus.RUNNING


def test_cleanup_jobs_dry_run_report_without_deleting(defs, sqlite_url, instance):
    from datetime import timedelta

    from assets.rag.users.sqlutil import utcnow
    from assets.rag.users.tables import conversation, query_cache

    engine = build_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(insert(query_cache), [{"query_hash": "h", "created_at": utcnow() - timedelta(days=31)}])
        conn.execute(insert(conversation), [{"id": "c1", "user_id": "u", "last_message_at": utcnow() - timedelta(days=91)}])
    dry = {"config": {"dry_run": True}}
    q = _op_meta(defs.resolve_job_def("query_cache_cleanup_job").execute_in_process(
        instance=instance, run_config={"ops": {"query_cache_cleanup_op": dry}}))
    a = _op_meta(defs.resolve_job_def("archive_conversations_job").execute_in_process(
        instance=instance, run_config={"ops": {"archive_conversations_op": dry}}))
    c = _op_meta(defs.resolve_job_def("rag_cache_cleanup_job").execute_in_process(
        instance=instance, run_config={"ops": {"rag_cache_cleanup_op": dry}}))
    assert (q["would_delete"], a["would_archive"], c["skipped"]) == (1, 1, "REDIS_URL unset")
    with engine.connect() as conn:
        assert conn.execute(select(query_cache.c.id)).all() and conn.execute(select(conversation.c.id)).all()
    real = _op_meta(defs.resolve_job_def("archive_conversations_job").execute_in_process(instance=instance))
    assert real["archived"] == 1
    with engine.connect() as conn:
        assert not conn.execute(select(conversation.c.id)).all()
    failed = _op_meta(defs.resolve_job_def("failed_runs_cleanup_job").execute_in_process(
        instance=instance, run_config={"ops": {"failed_runs_cleanup_op": dry}}))
    assert failed["would_delete"] == 0 and failed["retention_days"] == 30


def test_outbox_checks_flag_overdue_and_dead_rows(defs, sqlite_url, instance):
    from datetime import timedelta

    from assets.rag.users.sqlutil import utcnow
    from assets.rag.users.tables import notification_outbox

    engine = build_engine(sqlite_url)
    ids = write_logs(engine, log_rows(2))
    with engine.begin() as conn:
        conn.execute(update(notification_outbox).where(notification_outbox.c.idempotency_key == f"query_result:{ids[0]}")
                     .values(next_attempt_at=utcnow() - timedelta(minutes=20)))
        conn.execute(update(notification_outbox).where(notification_outbox.c.idempotency_key == f"query_result:{ids[1]}")
                     .values(status="dead", last_error="HTTP 422: unknown user"))
    result = defs.resolve_job_def("rag_user_tiers_job").execute_in_process(instance=instance, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["outbox_not_stuck"].passed and checks["outbox_not_stuck"].metadata["overdue_rows"].value == 1
    dead = checks["no_dead_notifications"]
    assert not dead.passed and dead.severity == dg.AssetCheckSeverity.WARN
    assert dead.metadata["dead_by_kind"].value == {"query_result": 1} and "unknown user" in dead.metadata["examples"].value
