"""A real `dagster-daemon` on a temporary instance and application database, and the embeddings server
beside it, for end-to-end tests and benchmarks: sensors tick, runs are queued, dequeued and launched,
and ask the server for text vectors, exactly as under `make dev`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
TINY_CLIP = ROOT / "tests" / "recsys" / "tiny-clip-test.json"


def embedded_env(base: Path, **overrides: str) -> dict[str, str]:
    """The embedded default under `base`, offline, with the tiny untrained CLIP (fast model loads)."""
    env = {
        "DAGSTER_HOME": str(base / "dagster_home"),
        "DATA_DIR": str(base / "data"),
        "DATABASE_URL": f"sqlite:///{base / 'data' / 'app.db'}",
        "QDRANT_PATH": str(base / "data" / "qdrant"),
        "MEDIA_ROOT": str(base / "data" / "media"),
        "IMAGE_MODEL": str(TINY_CLIP),
        "IMAGE_PRETRAINED": "none",
        "EMBED_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "REDIS_URL": "",
        "ALERT_WEBHOOK_URL": "",
        # Issue 11: an unset RATES_URL is the provider's public URL; offline, a schedule tick reads the snapshot.
        "RATES_URL": (ROOT / "resources" / "rates" / "snapshots" / "cbr_daily.xml").as_uri(),
        "RATES_MAX_AGE_DAYS": "-1",
    }
    env.update(overrides)
    return env


def prepare_home(env: dict[str, str]) -> Path:
    """DAGSTER_HOME with the project's dagster.yaml, as `make instance` does."""
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


class BackgroundProcess:
    """A command in its own process group, output to `log_path`; stopped (group and all) on exit."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path):
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            # A backgrounded process may inherit ignored SIGINT/SIGTERM: restore them (DAGSTER_NOTES §13).
            ["env", "--default-signal=INT,TERM", *self.argv],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            time.sleep(0.5)
            os.killpg(self.process.pid, signal.SIGKILL)  # children left in the group, if any
        except ProcessLookupError:
            pass
        finally:
            self.process = None
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class DagsterDaemon(BackgroundProcess):
    """`dagster-daemon run -w workspace.yaml` on the instance in env["DAGSTER_HOME"]."""

    def __init__(self, env: dict[str, str], log_path: Path):
        daemon = Path(sys.executable).parent / "dagster-daemon"
        super().__init__([str(daemon), "run", "-w", str(ROOT / "workspace.yaml")], env, log_path)

    def __enter__(self) -> "DagsterDaemon":
        prepare_home(self.env)
        return super().__enter__()


class EmbeddingServer(BackgroundProcess):
    """`platformctl embed serve` on a free local port, as `make dev` runs it; `url` is its TEXT_EMBED_URL.
    Entering waits until the model is loaded and the server answers."""

    def __init__(self, env: dict[str, str], log_path: Path, start_timeout_s: float = 180):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.start_timeout_s = start_timeout_s
        platformctl = Path(sys.executable).parent / "platformctl"
        super().__init__([str(platformctl), "embed", "serve", "--host", "127.0.0.1", "--port", str(port)], env, log_path)

    def __enter__(self) -> "EmbeddingServer":
        super().__enter__()
        try:
            wait_for(self._healthy, self.start_timeout_s, 0.2, f"the embeddings server on {self.url}")
        except Exception:
            self.stop()
            raise
        return self

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"platformctl embed serve exited with {self.process.returncode}: {self.log()[-2000:]}")
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


def wait_for(condition: Callable[[], object], timeout: float, interval: float = 0.25, what: str = "condition"):
    """Poll until `condition()` is truthy; return its value, or raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)
