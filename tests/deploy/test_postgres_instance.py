"""The production instance config (docker/dagster.yaml) on a real PostgreSQL database: a run and its
materializations are written there and read back; `dagster instance migrate` (the upgrade step) works."""

import subprocess

import dagster as dg
import pytest
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_docker import DockerRunLauncher
from sqlalchemy import create_engine, text

from orchestration.definitions import build_definitions
from orchestration.partitions import RATES_PARTITIONS
from resources.rates import BUNDLED_SNAPSHOT
from orchestration.settings import Settings
from tests.deploy.conftest import BIN, ROOT, tool_env

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_instance(production_home, monkeypatch):
    home, env = production_home
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def _instance_db(env) -> str:
    return (
        f"postgresql+psycopg2://{env['DAGSTER_PG_USERNAME']}:{env['DAGSTER_PG_PASSWORD']}"
        f"@{env['DAGSTER_PG_HOST']}:{env['DAGSTER_PG_PORT']}/{env['DAGSTER_PG_DB']}"
    )


def test_production_instance_has_postgres_docker_launcher_resume_retries_and_pools(pg_instance):
    assert type(pg_instance.run_storage).__module__.startswith("dagster_postgres")
    assert type(pg_instance.event_log_storage).__module__.startswith("dagster_postgres")
    assert isinstance(pg_instance.run_coordinator, QueuedRunCoordinator)
    assert isinstance(pg_instance.run_launcher, DockerRunLauncher)
    assert pg_instance.run_launcher.networks == ["asset_platform"]
    assert pg_instance.run_monitoring_enabled
    assert pg_instance.run_monitoring_max_resume_run_attempts == 2
    assert pg_instance.run_retries_enabled and pg_instance.run_retries_max_retries == 2
    concurrency = pg_instance.get_concurrency_config()
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.run_queue_config.max_concurrent_runs == 4


def test_a_run_and_its_materializations_are_stored_in_postgres(pg_instance, production_home, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    # The demo's rates settings: offline (unset = the provider's public URL), and the snapshot's fixed date accepted.
    monkeypatch.setenv("RATES_URL", BUNDLED_SNAPSHOT.as_uri())
    monkeypatch.setenv("RATES_MAX_AGE_DAYS", "-1")
    defs = build_definitions(Settings())
    key = RATES_PARTITIONS.get_last_partition_key()

    result = defs.resolve_job_def("currency_rates_job").execute_in_process(instance=pg_instance, partition_key=key)
    assert result.success

    # Read back through the instance...
    run = pg_instance.get_run_by_id(result.run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "currency_rates_job"
    assert run.tags["dagster/partition"] == key
    records = pg_instance.fetch_materializations(dg.AssetKey("currency_rates"), limit=10).records
    assert [r.run_id for r in records] == [result.run_id]
    materialization = records[0].asset_materialization
    assert materialization.partition == key
    assert materialization.metadata["dagster/row_count"].value >= 5
    # ...and straight from the PostgreSQL tables, so it did not land in some SQLite file.
    _, env = production_home
    engine = create_engine(_instance_db(env))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM runs WHERE run_id = :r"), {"r": result.run_id}).scalar_one() == "SUCCESS"
        stored = conn.execute(
            text("SELECT count(*) FROM event_logs WHERE run_id = :r AND dagster_event_type = 'ASSET_MATERIALIZATION'"),
            {"r": result.run_id},
        ).scalar_one()
    engine.dispose()
    assert stored == 1


def test_instance_migrate_succeeds_on_the_production_instance(production_home):
    _, env = production_home
    result = subprocess.run(
        [str(BIN / "dagster"), "instance", "migrate"], cwd=ROOT, env=tool_env(**env), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "run_storage: PostgresRunStorage" in output
    assert "Updating run storage..." in output and "Updating event storage..." in output
