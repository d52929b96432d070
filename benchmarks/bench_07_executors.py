"""Executors compared on the same job: deploy_probe_job (LEVELS dependency levels x WIDTH trivial steps,
outputs through step_io_manager) in-process, multiprocess and on a Celery worker started here.

Needs the local PostgreSQL (instance and app database: a fresh database, dropped at the end) and Redis
(DB 14 broker, 15 backend). Prints wall time per run and the overhead per dependency level over
in-process execution; the first run of each mode is reported apart (cold imports in new processes).
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BROKER = "redis://127.0.0.1:6379/14"
BACKEND = "redis://127.0.0.1:6379/15"
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
WARM_RUNS = 3
TARGET_CELERY_OVERHEAD_PER_LEVEL = 2.0  # seconds; DAGSTER_NOTES §13 measured about 1 s


def probe_job():
    """The job as the code location defines it, with the executor DAGSTER_EXECUTOR names (reconstructable)."""
    from orchestration.definitions import build_definitions

    return build_definitions().resolve_job_def("deploy_probe_job")


def _worker_up(node: str) -> bool:
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app

    app = make_app(CeleryExecutor.for_cli(broker=BROKER, backend=BACKEND).app_args())
    try:
        return bool(app.control.ping(destination=[node], timeout=1.0))
    finally:
        app.close()


def _start_worker(log: Path) -> tuple[subprocess.Popen, str]:
    name = f"bench07-{uuid.uuid4().hex[:6]}"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(bin_dir / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
               "-y", str(ROOT / "docker" / "celery.yaml"), "-n", name]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    node = f"{name}@{socket.gethostname()}"
    deadline = time.monotonic() + 120
    while not _worker_up(node):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"Celery worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)
    return proc, node


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _where_steps_ran(instance, run_id: str) -> str:
    """From the probe's own step metadata: how many processes ran the steps, and in which Celery workers."""
    import dagster as dg

    metadata = [
        {k: v.value for k, v in r.dagster_event.event_specific_data.metadata.items()}
        for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
    ]
    pids = {m["pid"] for m in metadata}
    workers = {m["celery_worker"] for m in metadata if "celery_worker" in m}
    where = "this process" if pids == {os.getpid()} else f"{len(pids)} other processes"
    return where + (f" of {', '.join(sorted(workers))}" if workers else "")


def time_mode(mode: str) -> None:
    """Child process: one cold and WARM_RUNS warm runs with DAGSTER_EXECUTOR=mode (its own definitions
    cache: a process that loaded the job once keeps that executor); prints a JSON line."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        seconds, where = _time_runs(instance)
    print("RESULT " + json.dumps({"seconds": seconds, "where": where, "mode": os.environ["DAGSTER_EXECUTOR"], "asked": mode}))


def _time_runs(instance) -> tuple[list[float], str]:
    import dagster as dg

    job = dg.reconstructable(probe_job)
    seconds = []
    for _ in range(1 + WARM_RUNS):
        started = time.perf_counter()
        with dg.execute_job(job, instance=instance) as result:
            if not result.success:
                raise RuntimeError(f"{mode} run {result.run_id} failed")
            run_id = result.run_id
        seconds.append(time.perf_counter() - started)
    return seconds, _where_steps_ran(instance, run_id)


def _measure(mode: str) -> tuple[list[float], str]:
    proc = subprocess.run(
        [sys.executable, __file__, "--mode", mode], cwd=ROOT, env={**os.environ, "DAGSTER_EXECUTOR": mode},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} runs failed: {(proc.stdout + proc.stderr)[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    return result["seconds"], result["where"]


def main() -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
        socket.create_connection(("127.0.0.1", 6379), timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - no server, no benchmark
        print(f"bench_07_executors: skipped, needs PostgreSQL and Redis ({exc.__class__.__name__}: {exc})")
        return

    from appdb.engine import build_engine
    from appdb.schema import init_schema
    from orchestration.probe import LEVELS, WIDTH

    db = f"bench07_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = make_url(PG_ADMIN).set(database=db)
    home = Path(tempfile.mkdtemp(prefix="bench07_"))
    shutil.copy(ROOT / "docker" / "dagster.yaml", home / "dagster.yaml")
    os.environ.update(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_HOST=url.host or "127.0.0.1",
        DAGSTER_PG_PORT=str(url.port or 5432),
        DAGSTER_PG_DB=db,
        DAGSTER_PG_USERNAME=url.username or "postgres",
        DAGSTER_PG_PASSWORD=url.password or "",
        DATABASE_URL=url.render_as_string(hide_password=False),
        DATA_DIR=str(home / "data"),
        CELERY_BROKER_URL=BROKER,
        CELERY_BACKEND_URL=BACKEND,
    )
    init_schema(build_engine(os.environ["DATABASE_URL"]))
    worker = None
    try:
        results = {mode: _measure(mode) for mode in ("in_process", "multiprocess")}
        worker, node = _start_worker(home / "worker.log")
        results["celery"] = _measure("celery")
    finally:
        if worker is not None:
            _stop(worker)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(home, ignore_errors=True)

    baseline = statistics.median(results["in_process"][0][1:])
    print(f"deploy_probe_job: {LEVELS} dependency levels x {WIDTH} steps, PostgreSQL instance, outputs via step_io_manager")
    print(f"{'executor':<13}{'first run s':>12}{'warm median s':>15}{'per level s':>13}{'overhead/level vs in-process s':>32}  steps ran in")
    for mode, (seconds, where) in results.items():
        warm = statistics.median(seconds[1:])
        print(f"{mode:<13}{seconds[0]:>12.2f}{warm:>15.2f}{warm / LEVELS:>13.2f}{(warm - baseline) / LEVELS:>32.2f}  {where}")
    celery_overhead = (statistics.median(results["celery"][0][1:]) - baseline) / LEVELS
    verdict = "OK" if celery_overhead <= TARGET_CELERY_OVERHEAD_PER_LEVEL else "ABOVE TARGET"
    print(
        f"celery overhead per level: {celery_overhead:.2f} s (target <= {TARGET_CELERY_OVERHEAD_PER_LEVEL} s, "
        f"ratio {celery_overhead / TARGET_CELERY_OVERHEAD_PER_LEVEL:.2f}) {verdict}; worker {node}, {os.cpu_count()} prefork processes (Celery default)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--mode"]:
        time_mode(sys.argv[2])
    else:
        main()
