"""docker/workspace.yaml (grpc_server) loads the code location from a running code server, started with
the compose service's own command and checked with its own health check."""

import shutil
import subprocess
import time

import pytest
import yaml

from tests.deploy.conftest import BIN, DOCKER, ROOT, free_port, start, stop, tool_env

pytestmark = pytest.mark.slow


def test_deployment_workspace_loads_from_the_code_server(tmp_path):
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    command = compose["services"]["code"]["command"]
    assert command[:3] == ["dagster", "code-server", "start"]
    port = free_port()
    command = [str(BIN / "dagster"), *command[1:]]
    command[command.index("-h") + 1] = "127.0.0.1"
    command[command.index("-p") + 1] = str(port)

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # validation needs an instance; the local one will do
    env = tool_env(
        DAGSTER_HOME=str(home),
        DATA_DIR=str(tmp_path / "data"),
        DAGSTER_CODE_SERVER_HOST="127.0.0.1",
        DAGSTER_CODE_SERVER_PORT=str(port),
    )
    server = start(command, env, tmp_path / "code-server.log")
    try:
        health = [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port)]  # the compose health check
        deadline = time.monotonic() + 90
        while subprocess.run(health, env=env, capture_output=True, timeout=30).returncode != 0:
            assert server.poll() is None, (tmp_path / "code-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "code server not healthy within 90 s"
            time.sleep(1)
        result = subprocess.run(
            [str(BIN / "dagster"), "definitions", "validate", "-w", str(DOCKER / "workspace.yaml")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert "Validation successful for code location asset_platform" in output
    finally:
        stop(server)
    assert not (tmp_path / "data").exists(), "loading definitions must not create the data folder"
