"""Steps on real Celery worker processes (local Redis broker and backend, PostgreSQL instance and app
database), the bounded failure when no worker listens, and the compose worker command."""

import os
import signal
import socket
import subprocess
import time
import uuid

import dagster as dg
import psutil
import pytest
from sqlalchemy import create_engine, select

from appdb.engine import build_engine
from appdb.platform_tables import step_output
from appdb.schema import init_schema
from orchestration.celery_workers import NoCeleryWorkerError, require_workers
from orchestration.probe import LEVELS, WIDTH
from tests.deploy.conftest import BIN, DOCKER, ROOT, start, stop, tool_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Redis DB indexes of these tests only (the benchmark uses others).
BROKER = "redis://127.0.0.1:6379/11"
BACKEND = "redis://127.0.0.1:6379/12"
IDLE_BROKER = "redis://127.0.0.1:6379/13"  # no worker ever listens here
PROBE = ["dagster", "job", "execute", "-m", "orchestration.definitions", "-j", "deploy_probe_job"]


@pytest.fixture(scope="module")
def celery_env(production_home, pg_server_url, redis_server, tmp_path_factory):
    _, env = production_home
    init_schema(build_engine(pg_server_url))
    return tool_env(
        **env,
        DATABASE_URL=pg_server_url,
        DATA_DIR=str(tmp_path_factory.mktemp("data")),
        DAGSTER_EXECUTOR="celery",
        CELERY_BROKER_URL=BROKER,
        CELERY_BACKEND_URL=BACKEND,
        CELERY_WORKER_WAIT_SECONDS="5",
    )


def _ping(node: str, broker: str = BROKER) -> bool:
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app

    app = make_app(CeleryExecutor.for_cli(broker=broker, backend=BACKEND).app_args())
    try:
        return bool(app.control.ping(destination=[node], timeout=1.0))
    finally:
        app.close()


def _wait_for_worker(proc, node: str, log, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not _ping(node):
        if proc.poll() is not None:
            pytest.fail(f"worker exited with {proc.returncode}: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"worker {node} did not answer within {seconds} s: {log.read_text()[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def celery_worker(celery_env, tmp_path_factory):
    """`dagster-celery worker start` as an operator runs it, stopped (whole process group) at the end."""
    name = f"deploytest-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    command = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(DOCKER / "celery.yaml"), "-n", name]
    proc = start(command, celery_env, log)
    try:
        node = f"{name}@{socket.gethostname()}"
        _wait_for_worker(proc, node, log)
        yield node, proc
    finally:
        stop(proc)


def _run_probe(env: dict, log, timeout: float) -> tuple[int, str, float]:
    """`dagster job execute` of the probe, bounded: killed (process group) if it outlives `timeout`."""
    started = time.monotonic()
    proc = start([str(BIN / PROBE[0]), *PROBE[1:]], env, log)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop(proc, grace=2)
    output = log.read_text(errors="replace")
    if code is None:
        pytest.fail(f"probe run still running after {timeout} s (it must never hang): {output[-3000:]}")
    return code, output, time.monotonic() - started


def _latest_probe_run(instance):
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="deploy_probe_job"), limit=1)
    assert runs, "no deploy_probe_job run in the instance"
    return runs[0]


@pytest.fixture
def instance(production_home, monkeypatch):
    home, env = production_home
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def test_probe_steps_run_in_the_celery_worker_and_pass_outputs_through_the_database(
    celery_worker, celery_env, instance, pg_server_url, tmp_path
):
    node, worker = celery_worker
    code, output, seconds = _run_probe(celery_env, tmp_path / "run.log", timeout=180)
    assert code == 0, output[-3000:]
    run = _latest_probe_run(instance)
    assert run.status == dg.DagsterRunStatus.SUCCESS

    # Every step ran in a process of that worker: not this test, not the run's own process.
    worker_pids = {p.pid for p in psutil.Process(worker.pid).children(recursive=True)}
    outputs = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
    assert len(outputs) == LEVELS * WIDTH
    for record in outputs:
        metadata = {k: v.value for k, v in record.dagster_event.event_specific_data.metadata.items()}
        assert metadata["celery_worker"] == node, record.step_key
        assert metadata["pid"] != os.getpid()
        assert metadata["pid"] in worker_pids, (record.step_key, metadata["pid"], worker_pids)
    messages = [r.message for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
    assert any(f"Celery workers for ['dagster']: ['{node}']" in m for m in messages)

    # Each level read the outputs of the one before from the database: the last level counted every hop.
    engine = create_engine(pg_server_url)
    with engine.connect() as conn:
        rows = conn.execute(select(step_output.c.output_path, step_output.c.value).where(step_output.c.run_id == run.run_id)).all()
    engine.dispose()
    assert len(rows) == LEVELS * WIDTH
    last = [value for path, value in rows if path.startswith(f"probe_level{LEVELS - 1}_")]
    assert all(f'"hops": {LEVELS}' in value for value in last) and len(last) == WIDTH


def test_the_compose_worker_command_joins_the_broker_and_stops_warm_on_sigterm(celery_env, tmp_path):
    """docker-compose.yml runs `celery -A dagster_celery.app worker` itself (PID 1, so SIGTERM reaches it),
    configured by docker/celery/dagster_celery_config.py from CELERY_BROKER_URL / CELERY_BACKEND_URL."""
    name = f"composetest-{uuid.uuid4().hex[:8]}"
    env = {**celery_env, "PYTHONPATH": str(DOCKER / "celery")}
    command = [str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "-Q", "dagster", "-n", f"{name}@%h",
               "--prefetch-multiplier=1", "--concurrency=1", "--loglevel=INFO"]  # fmt: skip
    log = tmp_path / "compose-worker.log"
    proc = start(command, env, log)
    try:
        node = f"{name}@{socket.gethostname()}"
        _wait_for_worker(proc, node, log)
        listed = subprocess.run([str(BIN / "platformctl"), "workers", "--wait", "3"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert f"{node}  queues: dagster" in listed.stdout
        proc.send_signal(signal.SIGTERM)  # what `docker compose stop` sends to PID 1
        assert proc.wait(timeout=30) == 0
        assert "worker: Warm shutdown" in log.read_text()
    finally:
        stop(proc)


def test_a_celery_run_without_workers_fails_fast_with_a_clear_error(celery_env, instance, redis_server, tmp_path):
    import redis

    env = {**celery_env, "CELERY_BROKER_URL": IDLE_BROKER, "CELERY_WORKER_WAIT_SECONDS": "2"}
    code, output, seconds = _run_probe(env, tmp_path / "run.log", timeout=120)
    assert code != 0
    assert "Run stopped before submitting any step: No Celery worker consumes queue(s) ['dagster'] on broker redis://127.0.0.1:6379/13" in output
    assert "platformctl workers" in output
    assert seconds < 60
    run = _latest_probe_run(instance)
    assert run.status == dg.DagsterRunStatus.FAILURE
    failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    assert "No Celery worker consumes queue(s) ['dagster']" in str(failure.dagster_event.event_specific_data.error)
    # Nothing was queued for a worker that will never come.
    assert redis.Redis.from_url(IDLE_BROKER).llen("dagster") == 0


def test_platformctl_workers_exits_1_with_the_reason_when_no_worker_listens(celery_env):
    env = {**celery_env, "CELERY_BROKER_URL": IDLE_BROKER}
    result = subprocess.run([str(BIN / "platformctl"), "workers", "--wait", "1"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert "No Celery worker consumes queue(s) ['dagster'] on broker redis://127.0.0.1:6379/13" in result.stderr


def test_an_unreachable_broker_is_a_clear_error_within_bounds():
    started = time.monotonic()
    with pytest.raises(NoCeleryWorkerError, match=r"Celery broker redis://127.0.0.1:1/0 did not answer .*Connection refused"):
        require_workers("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/1", ["dagster"], wait_seconds=2)
    assert time.monotonic() - started < 20
