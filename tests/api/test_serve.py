"""`platformctl api serve` as an operator starts it: the seeds' paths in its OpenAPI document, /docs, and
the 401 of a protected endpoint, with no webserver behind it."""

import subprocess

import httpx

from tests.api.conftest import BIN, free_port
from tests.support.daemon import ROOT, BackgroundProcess, wait_for

SEED_PATHS = {
    ("get", "/api/v1/tasks/status/{task_id}"),
    ("get", "/api/v1/tasks/list"),
    ("post", "/api/v1/tasks/revoke/{task_id}"),
    ("get", "/api/v1/tasks/workers"),
    ("post", "/api/v1/tasks/trigger/{name}"),
    ("post", "/api/v1/sync/trigger-full-sync"),
    ("delete", "/api/v1/sync/document/{document_id}"),
    ("get", "/task/{task_id}/status"),
    ("post", "/api/v1/assistant/rebuild-index"),
    ("get", "/metrics"),
}


def test_serve_answers_the_seeds_paths(tmp_path):
    port = free_port()
    env = {"OPS_API_KEYS_FILE": "", "DAGSTER_GRAPHQL_URL": "http://127.0.0.1:9/graphql", "DATA_DIR": str(tmp_path)}
    server = BackgroundProcess([str(BIN / "platformctl"), "api", "serve", "--port", str(port)], env, tmp_path / "api.log")
    with server:
        base = f"http://127.0.0.1:{port}"

        def up():
            try:
                return httpx.get(base + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, 0.3, "platformctl api serve")
        spec = httpx.get(base + "/openapi.json").json()
        assert SEED_PATHS <= {(method, path) for path, item in spec["paths"].items() for method in item}
        assert httpx.get(base + "/docs").status_code == 200
        refused = httpx.get(base + "/api/v1/tasks/list", headers={"X-API-Key": "anything"})
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    assert "every protected endpoint answers 401" in server.log()


def test_serve_refuses_a_broken_key_file(tmp_path):
    (tmp_path / "keys.json").write_text('{"keys": [{"name": "a"}]}')
    done = subprocess.run([str(BIN / "platformctl"), "api", "serve"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "OPS_API_KEYS_FILE": str(tmp_path / "keys.json")})  # fmt: skip
    assert done.returncode != 0 and "keys[0] needs name, sha256 and scopes" in done.stderr
