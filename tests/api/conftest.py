"""One real dagster-webserver and dagster-daemon per module, on a temporary instance, loading the tiny
test code location (tests/api/code_location.py); a local webhook receives the alerts; the API runs
in-process (FastAPI's TestClient) against the webserver's GraphQL endpoint."""

from __future__ import annotations

import dataclasses
import json
import socket
import sys

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from opsapi.app import create_app
from opsapi.config import ApiConfig
from opsapi.jobs import TRIGGERS
from opsapi.keys import new_key
from tests.support.daemon import ROOT, BackgroundProcess, embedded_env, prepare_home, wait_for
from tests.support.http import LocalHTTPServer, Reply

LOCATION = "ops_api_test"
# The platform's allow-list (the test location has only rag_delete_document_job of it) plus test jobs.
TEST_TRIGGERS = {
    **TRIGGERS,
    "sleep": "ops_api_sleep_job",
    "fail": "ops_api_failing_job",
    "checked": "ops_api_checked_job",
    "stale": "ops_api_stale_job",
    "posts": "ops_api_posts_job",
    "not-loaded": "rag_full_sync_job",  # allow-listed but absent from this code location
}
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Platform:
    graphql_url: str
    webhook: LocalHTTPServer
    keys_file: Path
    keys: dict[str, str]  # name -> key

    def config(self, **changes) -> ApiConfig:
        base = ApiConfig(
            graphql_url=self.graphql_url, keys_file=str(self.keys_file), metrics_public=False, metrics_cache_s=0.0,
            webserver_url="http://ui.example", executor="multiprocess", celery_broker="", celery_backend="",
        )
        return dataclasses.replace(base, **changes)

    def client(self, **changes) -> TestClient:
        return TestClient(create_app(self.config(**changes), triggers=TEST_TRIGGERS))

    def headers(self, name: str = "admin", **extra) -> dict[str, str]:
        return {"X-API-Key": self.keys[name], **extra}

    def alerts(self, kind: str) -> list[dict]:
        bodies = [json.loads(body) for method, path, body, _ in self.webhook.requests if path == "/hook"]
        return [b for b in bodies if b.get("kind") == kind]


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    return httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=30).json()["data"]


SENSOR_TICKS = """
{ sensorOrError(sensorSelector: {repositoryLocationName: "ops_api_test", repositoryName: "__repository__", sensorName: "health_alerts_sensor"}) {
  ... on Sensor { sensorState { ticks(limit: 1) { status } } } } }
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    base = tmp_path_factory.mktemp("opsapi")
    webhook = LocalHTTPServer()
    webhook.route("/hook", Reply(200, b"ok"))
    env = embedded_env(base, ALERT_WEBHOOK_URL=webhook.url("/hook"), FRESHNESS_DAEMON_INTERVAL_SECONDS="5")
    prepare_home(env)
    workspace = base / "workspace.yaml"
    workspace.write_text(
        f"load_from:\n  - python_module:\n      module_name: tests.api.code_location\n"
        f"      location_name: {LOCATION}\n      working_directory: {ROOT}\n"
    )
    keys, entries = {}, []
    for name, scopes in (("admin", ["read", "trigger", "revoke"]), ("reader", ["read"]), ("launcher", ["read", "trigger"])):
        keys[name], entry = new_key(name, scopes)
        entries.append(entry)
    keys_file = base / "keys.json"
    keys_file.write_text(json.dumps({"keys": entries}))
    port = free_port()
    webserver = BackgroundProcess(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)], env, base / "webserver.log"
    )
    daemon = BackgroundProcess([str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env, base / "daemon.log")
    with webhook, webserver:
        url = f"http://127.0.0.1:{port}/graphql"

        def webserver_up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        def sensor_ticked() -> bool:
            state = graphql(url, SENSOR_TICKS)["sensorOrError"].get("sensorState") or {}
            return bool(state.get("ticks"))

        try:
            # The webserver first: it creates the instance's SQLite storage the daemon then opens.
            wait_for(webserver_up, 180, 1.0, "dagster-webserver up")
            daemon.__enter__()
            # The health sensor's first tick sets its cursor: alerts are about what happens after it.
            wait_for(sensor_ticked, 180, 1.0, "health_alerts_sensor's first tick")
        except TimeoutError:
            daemon.stop()
            raise AssertionError(webserver.log()[-3000:] + (daemon.log()[-3000:] if daemon.log_path.exists() else "")) from None
        try:
            yield Platform(url, webhook, keys_file, keys)
        finally:
            daemon.stop()


def wait_status(client: TestClient, headers: dict, run_id: str, statuses: set[str], timeout: float = 120) -> dict:
    def reached():
        body = client.get(f"/api/v1/tasks/status/{run_id}", headers=headers).json()
        return body if body["dagster_status"] in statuses else None

    return wait_for(reached, timeout, 0.5, f"run {run_id} in {statuses}")


