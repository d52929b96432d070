"""The local instance configuration and the code-location loaders the operators use."""

import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import yaml

from orchestration.settings import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.sys.executable).parent


def test_local_instance_has_pools_retries_monitoring_and_no_telemetry(tmp_path):
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides=config, temp_dir=str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled  # enforces dagster/max_runtime
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.default_pool_limit == 1  # embedding and qdrant_local are exclusive
        assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert config["telemetry"]["enabled"] is False


def test_workspace_validates_with_dagster_and_dg(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DATA_DIR": str(tmp_path / "data")}
    for command in (
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        [str(BIN / "dg"), "check", "defs"],
    ):
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
    assert not (tmp_path / "data").exists(), "loading definitions must not create the data folder"


def test_readme_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    missing = [v.name for v in VARIABLES if f"`{v.name}`" not in readme]
    assert not missing, f"README configuration table lacks: {missing}"
