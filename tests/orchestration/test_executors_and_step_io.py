"""The executor is chosen in one place (DAGSTER_EXECUTOR) for every job; step_io_manager hands values
between steps through the application database, on SQLite and PostgreSQL."""

import json

import dagster as dg
import pytest
from sqlalchemy import select

from appdb.platform_tables import step_output
from orchestration.definitions import build_definitions
from orchestration.executors import build_executor
from orchestration.probe import LEVELS, WIDTH, deploy_probe_job
from orchestration.settings import Settings
from resources.database import DatabaseResource
from resources.step_io import DatabaseStepIOManager


@pytest.mark.parametrize(
    ("value", "name"),
    [("", "multi_or_in_process_executor"), ("in_process", "in_process"), ("CELERY", "celery")],
)
def test_executor_comes_from_dagster_executor(value, name):
    assert build_executor(Settings({"DAGSTER_EXECUTOR": value})).name == name


def test_unknown_executor_is_a_clear_error():
    with pytest.raises(ValueError, match=r"DAGSTER_EXECUTOR='k8s' is not one of \['celery', 'in_process', 'multiprocess'\]"):
        build_executor(Settings({"DAGSTER_EXECUTOR": "k8s"}))


def test_every_job_gets_the_configured_executor_and_loading_needs_no_broker():
    # The broker below does not exist: choosing celery must not connect at load time.
    settings = Settings({"DATA_DIR": "/nonexistent/never", "DAGSTER_EXECUTOR": "celery", "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"})
    repo = build_definitions(settings).get_repository_def()
    jobs = [job for job in repo.get_all_jobs() if not job.name.startswith("__")]
    assert "deploy_probe_job" in {job.name for job in jobs}
    assert {job.name: job.executor_def.name for job in jobs} == {job.name: "celery" for job in jobs}


def _probe(url: str, instance) -> dg.ExecuteInProcessResult:
    io = DatabaseStepIOManager(database=DatabaseResource(url=url))
    return deploy_probe_job.execute_in_process(instance=instance, resources={"step_io_manager": io})


def test_step_outputs_travel_through_the_database_per_run(db_url, engine, instance):
    first, result = _probe(db_url, instance), _probe(db_url, instance)
    assert first.success and result.success
    with engine.connect() as conn:
        rows = conn.execute(select(step_output.c.run_id, step_output.c.output_path, step_output.c.value)).all()
    assert sorted({r.run_id for r in rows}) == sorted({first.run_id, result.run_id})  # each run keeps its own
    mine = {r.output_path: r.value for r in rows if r.run_id == result.run_id}
    assert len(mine) == LEVELS * WIDTH
    last = json.loads(mine[f"probe_level{LEVELS - 1}_0/result"])
    assert last["hops"] == LEVELS and last["level"] == LEVELS - 1
    # The same value the downstream steps received.
    assert result.output_for_node(f"probe_level{LEVELS - 1}_0") == last
    assert len([e for e in result.all_events if e.event_type_value == "HANDLED_OUTPUT"]) == LEVELS * WIDTH


def test_an_output_json_cannot_hold_is_a_clear_failure(sqlite_url, instance):
    @dg.op(out=dg.Out(io_manager_key="step_io_manager"))
    def makes_a_set():
        return {1, 2}

    @dg.job(resource_defs={"step_io_manager": DatabaseStepIOManager(database=DatabaseResource(url=sqlite_url))})
    def set_job():
        makes_a_set()

    result = set_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("makes_a_set")
    assert "step_io_manager stores JSON; output 'result' of step 'makes_a_set' is a set that JSON cannot hold" in str(failure.error)


def test_a_missing_upstream_output_is_a_clear_failure(sqlite_url):
    io = DatabaseStepIOManager(database=DatabaseResource(url=sqlite_url))
    upstream = dg.build_output_context(run_id="r-123", step_key="probe_level0_0", name="result")
    with pytest.raises(dg.Failure, match=r"No stored output 'result' of step 'probe_level0_0' in run r-123"):
        io.load_input(dg.build_input_context(upstream_output=upstream))
