"""Fixtures for the deployment tests: a fresh Dagster instance database on the PostgreSQL server, the
production instance config (docker/dagster.yaml) pointed at it, and process helpers that always stop
what they started."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
BIN = Path(sys.executable).parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_server():
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(64).startswith(b"+PONG"):
                raise ConnectionError("no PONG")
    except OSError as exc:
        _unavailable(f"Redis unreachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}"


@pytest.fixture(scope="module")
def dagster_pg():
    """A fresh database for a Dagster instance on the local PostgreSQL server: the DAGSTER_PG_* variables."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server decides skip or fail
        _unavailable(f"PostgreSQL unreachable: {exc.__class__.__name__}: {exc}")
    name = f"dagster_deploy_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL)
    yield {
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": name,
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
    }
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def production_home(tmp_path_factory, dagster_pg):
    """A DAGSTER_HOME holding docker/dagster.yaml (unchanged) and the environment it reads."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(DOCKER / "dagster.yaml", home / "dagster.yaml")
    env = {**dagster_pg, "DAGSTER_HOME": str(home)}
    return home, env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A process in its own session (process group), so `stop` ends it and every child it forks."""
    handle = open(log, "wb")  # noqa: SIM115 - closed with the process by `stop`
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_handle = handle  # type: ignore[attr-defined]
    return proc


def _group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process left in the group? Orphaned zombies are not ours to reap."""
    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM to the whole process group (the leader and every child), SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        proc.poll()
        if not _group_alive(proc.pid):
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader, our child
            if not _group_alive(proc.pid):
                break
            time.sleep(0.2)
    proc.poll()
    proc.log_handle.close()  # type: ignore[attr-defined]


def tool_env(**extra: str) -> dict:
    """os.environ with the venv's scripts first on PATH (dagster-celery starts `celery` by name)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
