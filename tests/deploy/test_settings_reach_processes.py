"""Every variable of the settings registry reaches every process that reads it (issue 11): each platform
container of the compose file, as Compose itself resolves it, and every run container the Docker run
launcher starts. The lists are generated from the registry (`platformctl deploy-env`)."""

import json
import shutil

import yaml
from click.testing import CliRunner

from orchestration.settings import VARIABLES, Variable
from platformctl import deploy_env
from platformctl.main import cli
from tests.deploy.conftest import DOCKER
from tests.deploy.test_compose_and_image import _compose, config, env_file  # noqa: F401 - fixtures

NAMES = [v.name for v in VARIABLES]


def _platform_services(config: dict) -> dict[str, dict]:
    """The services started from the platform image: they load the code, the instance or run steps."""
    image = config["services"]["code"]["image"]
    return {name: s for name, s in config["services"].items() if s.get("image") == image}


def test_every_registry_variable_reaches_every_platform_container(config):  # noqa: F811
    services = _platform_services(config)
    assert {"init", "code", "webserver", "daemon", "worker", "embedder"} <= set(services)
    for name, service in services.items():
        missing = [v for v in NAMES if v not in service.get("environment", {})]
        assert missing == [], f"{name} lacks {missing}: run `platformctl deploy-env`"


def test_every_registry_variable_reaches_the_run_containers():
    passed = yaml.safe_load((DOCKER / "dagster.yaml").read_text())["run_launcher"]["config"]["env_vars"]
    assert [v for v in NAMES if v not in passed] == [], "run `platformctl deploy-env`"
    assert len(passed) == len(set(passed))


def test_an_unset_variable_is_passed_empty_so_the_registry_default_applies(config):  # noqa: F811
    env = config["services"]["worker"]["environment"]
    assert env["TAGGER"] == "" and env["VECTOR_SHARDS"] == "" and env["LLM_API_KEY"] == ""
    assert env["QDRANT_URL"] == "http://qdrant:6333"  # what compose sets itself wins over the generated entry


def test_the_generated_lists_are_up_to_date():
    assert deploy_env.outdated() == [], "run `platformctl deploy-env`"
    result = CliRunner().invoke(cli, ["deploy-env", "--check"])
    assert result.exit_code == 0, result.output


def test_a_new_variable_is_caught_and_regenerated(tmp_path, env_file):  # noqa: F811
    """What an engineer adding a variable sees: the check fails; the command fixes both files."""
    compose, instance = tmp_path / "docker-compose.yml", tmp_path / "dagster.yaml"
    shutil.copy(DOCKER / "docker-compose.yml", compose)
    shutil.copy(DOCKER / "dagster.yaml", instance)
    added = (*VARIABLES, Variable("BRAND_NEW_SETTING", "7", "test"))
    assert deploy_env.outdated(added, compose, instance) == [compose, instance]
    for path, text in deploy_env.rendered(added, compose, instance).items():
        path.write_text(text)
    assert deploy_env.outdated(added, compose, instance) == []
    assert "- BRAND_NEW_SETTING" in instance.read_text()
    # Compose itself reads the regenerated file: the variable reaches the containers.
    shutil.copytree(DOCKER, tmp_path / "docker", ignore=shutil.ignore_patterns("docker-compose.yml"))
    shutil.copy(compose, tmp_path / "docker" / "docker-compose.yml")
    result = _compose(env_file, "config", "--format", "json", compose=tmp_path / "docker" / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["services"]["daemon"]["environment"]["BRAND_NEW_SETTING"] == ""


def test_helm_passes_the_code_servers_whole_environment_to_run_pods():
    """Kubernetes lists no variables one by one: the code server's env and Secret (any registry
    variable) go to run pods as they are."""
    values = yaml.safe_load((DOCKER / "helm" / "values.yaml").read_text())
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert set(deployment["env"]) <= set(NAMES)  # nothing misspelt or unknown
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["envSecrets"] == deployment["envSecrets"]
