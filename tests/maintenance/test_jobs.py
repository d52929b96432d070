"""The jobs as operators launch them: run config, metadata the UI shows, failures, dry runs."""

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
import yaml
from sqlalchemy import func, insert, select

from appdb.engine import build_engine
from appdb.tables import ai_processing_log, product, scraped_product_log, scraping_session
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from resources.media import LocalMediaStore
from resources.media_s3 import S3MediaStore
from tests.maintenance.helpers import keys_of, put_file, put_many, refuse_deletes

NOW = datetime.now(timezone.utc)


@pytest.fixture
def defs_for(tmp_path, monkeypatch):
    """Definitions for an environment; secrets (DATABASE_URL) are resolved from it when the run starts."""

    def build(db_url, **env) -> dg.Definitions:
        env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": db_url, "MEDIA_ROOT": str(tmp_path / "media"), **env}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return build_definitions(Settings(env))

    return build


def run(defs, instance, job, op, config=None, raise_on_error=True):
    run_config = {"ops": {op: {"config": config}}} if config is not None else None
    return defs.resolve_job_def(job).execute_in_process(run_config=run_config, instance=instance, raise_on_error=raise_on_error)


def metadata(result, op) -> dict:
    for event in result.all_node_events:
        if event.step_key == op and event.event_type_value == "STEP_OUTPUT":
            return {k: v.value for k, v in event.step_output_data.metadata.items()}
        if event.step_key == op and event.event_type_value == "STEP_FAILURE":
            failure = event.step_failure_data.user_failure_data
            return {"failure": failure.description, **{k: v.value for k, v in failure.metadata.items()}}
    raise AssertionError(f"no output or failure of {op}")


def test_session_and_ai_log_jobs(defs_for, db_url, instance):
    engine = build_engine(db_url)
    with engine.begin() as conn:
        old = conn.execute(insert(scraping_session).values(scraper="s", started_at=NOW - timedelta(days=40), status="finished")).inserted_primary_key[0]
        # Running for 40 days: stale (its worker died), reported and deleted with the others.
        conn.execute(insert(scraping_session).values(scraper="s", started_at=NOW - timedelta(days=40), status="running"))
        conn.execute(insert(scraping_session).values(scraper="s", started_at=NOW - timedelta(hours=1), status="running"))
        conn.execute(insert(scraped_product_log), [{"session_id": old, "created_at": NOW - timedelta(days=40)}] * 3)
        conn.execute(
            insert(ai_processing_log),
            [
                {"task": "t", "status": "completed", "created_at": NOW - timedelta(days=10)},
                {"task": "t", "status": "approved", "created_at": NOW - timedelta(days=5)},
                {"task": "t", "status": "failed", "created_at": NOW - timedelta(days=50)},
            ],
        )
    defs = defs_for(db_url)

    dry = metadata(run(defs, instance, "cleanup_scraper_sessions_job", "cleanup_scraper_sessions_op", {"dry_run": True}), "cleanup_scraper_sessions_op")
    assert (dry["dry_run"], dry["would_delete"], dry["would_delete_logs"], dry["kept_running"], dry["retention_days"]) == (True, 2, 3, 0, 30)
    assert (dry["stale_running"], dry["stale_hours"], dry["kept_within_retention"]) == (1, 48, 1)
    real = metadata(run(defs, instance, "cleanup_scraper_sessions_job", "cleanup_scraper_sessions_op"), "cleanup_scraper_sessions_op")
    assert (real["scanned"], real["deleted"], real["deleted_logs"], real["errors"]) == (3, 2, 3, 0)
    assert real["error_examples"] == "none"
    with engine.connect() as conn:
        assert conn.execute(select(scraping_session.c.status)).scalars().all() == ["running"]

    ai = metadata(run(defs, instance, "cleanup_ai_logs_job", "cleanup_ai_logs_op", {"retention_days": 7}), "cleanup_ai_logs_op")
    assert (ai["retention_days"], ai["deleted"], ai["deleted_completed"], ai["kept_status_failed"]) == (7, 1, 1, 1)
    with engine.connect() as conn:
        assert sorted(conn.execute(select(ai_processing_log.c.status)).scalars()) == ["approved", "failed"]
    engine.dispose()


def media_with_refs(tmp_path, db_url):
    root = tmp_path / "media"
    for key in ("products/ref.jpg", "products/orphan.jpg", "ai/a.png", "temp/t.bin", "banners/old.png"):
        put_file(root, key)
    put_file(root, "products/new.jpg", age=timedelta(hours=2))
    engine = build_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(product).values(title="p", image_key="products/ref.jpg", updated_at=NOW))
    engine.dispose()
    return LocalMediaStore(root)


def test_orphaned_media_job_dry_run_real_run_and_cap(defs_for, tmp_path, sqlite_url, instance):
    store = media_with_refs(tmp_path, sqlite_url)
    before = keys_of(store)
    defs = defs_for(sqlite_url)
    job, op = "cleanup_orphaned_media_job", "cleanup_orphaned_media_op"

    # Default cap: floor(10% of 6 objects) = 0, so a real run refuses, and says why.
    failed = run(defs, instance, job, op, raise_on_error=False)
    assert not failed.success
    info = metadata(failed, op)
    assert info["failure"].startswith("2 orphans exceed the cap of 0 (min(0.1 x 6 objects, 1000)): no orphan was removed")
    assert keys_of(store) == before

    dry = metadata(run(defs, instance, job, op, {"dry_run": True, "max_delete_fraction": 0.5}), op)
    assert (dry["orphans"], dry["would_delete"], dry["cap"], dry["kept_protected"], dry["kept_young"]) == (2, 2, 3, 2, 1)
    assert dry["orphan_keys"] == "- `banners/old.png`\n- `products/orphan.jpg`"
    assert keys_of(store) == before

    real = metadata(run(defs, instance, job, op, {"max_delete_fraction": 0.5}), op)
    assert (real["deleted"], real["errors"], real["kept_referenced"], real["kept_referenced_at_recheck"]) == (2, 0, 1, 0)
    assert keys_of(store) == before - {"banners/old.png", "products/orphan.jpg"}


def test_cap_abort_still_purges_expired_quarantine(defs_for, tmp_path, sqlite_url, instance):
    """The cap guards against a broken reference query; quarantine past its retention goes anyway."""
    store = media_with_refs(tmp_path, sqlite_url)
    expired = "quarantine/20250101T000000Z/banners/ancient.png"
    fresh = f"quarantine/{NOW:%Y%m%dT%H%M%SZ}/banners/recent.png"
    put_file(tmp_path / "media", expired)
    put_file(tmp_path / "media", fresh)
    before = keys_of(store)

    failed = run(defs_for(sqlite_url), instance, "cleanup_orphaned_media_job", "cleanup_orphaned_media_op", raise_on_error=False)
    assert not failed.success
    info = metadata(failed, "cleanup_orphaned_media_op")
    assert "no orphan was removed (expired quarantine purged: 1)" in info["failure"]
    assert (info["cap_exceeded"], info["purged"], info["errors"]) == (True, 1, 0)
    assert keys_of(store) == before - {expired}  # the orphans themselves stay


def test_a_failing_batch_is_counted_and_the_run_is_red(defs_for, db_url, instance):
    """A DELETE refused by the database (here a trigger; in life a lock timeout or a deadlock) is a real error
    in the metadata, not a literal 0: the other batches go on and the run fails saying so."""
    engine = build_engine(db_url)
    with engine.begin() as conn:
        sessions = [
            conn.execute(insert(scraping_session).values(scraper="s", started_at=NOW - timedelta(days=40), status="finished")).inserted_primary_key[0]
            for _ in range(3)
        ]
    refuse_deletes(engine, "scraping_session", sessions[1])
    defs = defs_for(db_url, MAINTENANCE_DELETE_BATCH="1")

    result = run(defs, instance, "cleanup_scraper_sessions_job", "cleanup_scraper_sessions_op", raise_on_error=False)
    assert not result.success
    info = metadata(result, "cleanup_scraper_sessions_op")
    assert (info["deleted"], info["errors"]) == (2, 1)
    assert info["failure"].startswith(f"1 DELETE batch(es) failed: scraping_session ids {sessions[1]}..{sessions[1]}: ")
    assert "refused by test" in info["error_examples"]
    with engine.connect() as conn:
        assert conn.execute(select(scraping_session.c.id)).scalars().all() == [sessions[1]]
    engine.dispose()


def test_orphaned_media_job_on_s3_with_quarantine_then_restore(defs_for, sqlite_url, instance, s3_bucket, moto_endpoint):
    store = S3MediaStore(s3_bucket, moto_endpoint)
    put_many(store, ["products/ref.jpg", "products/orphan.jpg", "ai/a.png"])
    engine = build_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(insert(product).values(title="p", image_key="products/ref.jpg", updated_at=NOW))
    engine.dispose()
    defs = defs_for(sqlite_url, MEDIA_S3_BUCKET=s3_bucket, MEDIA_S3_ENDPOINT_URL=moto_endpoint)

    config = {"grace_hours": 0, "max_delete_fraction": 1.0, "quarantine": True}
    meta = metadata(run(defs, instance, "cleanup_orphaned_media_job", "cleanup_orphaned_media_op", config), "cleanup_orphaned_media_op")
    assert (meta["mode"], meta["quarantined"], meta["store"]) == ("quarantine", 1, f"s3://{s3_bucket}/ at {moto_endpoint}")
    assert "products/orphan.jpg" not in keys_of(store)

    restored = metadata(run(defs, instance, "restore_quarantined_media_job", "restore_quarantined_media_op", {"keys": ["products/orphan.jpg"]}), "restore_quarantined_media_op")
    assert (restored["restored"], restored["kept_conflict"], restored["errors"]) == (1, 0, 0)
    assert keys_of(store) == {"products/ref.jpg", "products/orphan.jpg", "ai/a.png"}


def test_find_merge_duplicates_job(defs_for, db_url, instance):
    engine = build_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            insert(product),
            [
                {"title": "Kettle", "source": "api", "updated_at": NOW},
                {"title": " kettle ", "source": "scraped", "updated_at": NOW},
                {"title": "Lamp", "source": "scraped", "updated_at": NOW},
            ],
        )
    defs = defs_for(db_url)
    job, op = "find_merge_duplicates_job", "find_merge_duplicates_op"
    dry = metadata(run(defs, instance, job, op, {"dry_run": True}), op)
    assert (dry["would_merge"], dry["groups_merged"]) == (1, 1)
    assert "| kettle | 1 | 2 | 2 |" in dry["groups"]
    real = metadata(run(defs, instance, job, op), op)
    again = metadata(run(defs, instance, job, op), op)
    assert (real["merged"], again["merged"], again["kept_already_merged"]) == (1, 0, 1)
    with engine.connect() as conn:
        assert dict(conn.execute(select(product.c.id, product.c.merged_into_id)).tuples().all()) == {1: None, 2: 1, 3: None}
    engine.dispose()


def test_find_merge_duplicates_job_counts_a_refused_batch(defs_for, db_url, instance):
    engine = build_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(product), [
            {"title": "Kettle", "source": "api", "updated_at": NOW},
            {"title": "kettle", "source": "scraped", "updated_at": NOW},
            {"title": "Lamp", "source": "api", "updated_at": NOW},
            {"title": "LAMP", "source": "scraped", "updated_at": NOW},
        ])
    refuse_deletes(engine, "product", 2, operation="UPDATE")
    result = run(defs_for(db_url), instance, "find_merge_duplicates_job", "find_merge_duplicates_op", raise_on_error=False)
    assert not result.success
    info = metadata(result, "find_merge_duplicates_op")
    assert (info["errors"], info["merged"]) == (1, 0)  # one batch of both products: refused whole
    assert info["failure"].startswith("1 UPDATE batch(es) failed: products 2..4: ")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(product.c.merged_into_id.is_not(None))).scalar_one() == 0
    engine.dispose()


def test_schedules():
    defs = build_definitions(Settings({"DATA_DIR": "/nonexistent", "SCHEDULE_TIMEZONE": "Europe/Moscow"}))
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}
    expected = {
        "cleanup_scraper_sessions_schedule": ("cleanup_scraper_sessions_job", "0 3 * * 0"),
        "cleanup_ai_logs_schedule": ("cleanup_ai_logs_job", "30 3 * * 0"),
        "cleanup_orphaned_media_schedule": ("cleanup_orphaned_media_job", "0 4 * * *"),
    }
    for name, (job, cron) in expected.items():
        assert (schedules[name].job_name, schedules[name].cron_schedule, schedules[name].execution_timezone) == (job, cron, "Europe/Moscow")
        assert schedules[name].default_status == dg.DefaultScheduleStatus.RUNNING
    assert not [s for s in schedules.values() if s.job_name in ("find_merge_duplicates_job", "restore_quarantined_media_job")]


@pytest.mark.slow
def test_dagster_job_execute_from_the_cli(tmp_path, sqlite_url):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"ops": {"cleanup_ai_logs_op": {"config": {"dry_run": True, "retention_days": 3}}}}))
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": sqlite_url, "DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "execute", "-m", "orchestration.definitions", "-j", "cleanup_ai_logs_job", "-c", str(config)],
        capture_output=True, text=True, env=env, timeout=180,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RUN_SUCCESS" in out.stderr + out.stdout
