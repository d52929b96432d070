"""The API in docker/: its compose service and secret (Compose itself reads the file), the proxy's
routes, and Prometheus' scrape config and alert rules against the metrics the API exports."""

import json
import os
import re
import subprocess
import time

import pytest
import yaml

from opsapi.metrics import MetricsCollector
from tests.deploy.conftest import BIN, DOCKER

SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret", "QDRANT_API_KEY": "qdrant-secret"}
PROMQL_WORDS = {"sum", "max", "min", "by", "and", "or", "increase", "rate", "up", "job", "status", "asset", "check", "state", "severity", "daemon"}


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    lines = [f"{name}={SECRETS[name]}" if (name := line.split("=", 1)[0]) in SECRETS else line
             for line in (DOCKER / ".env.example").read_text().splitlines()]  # fmt: skip
    env_file.write_text("\n".join(lines) + "\n")
    command = [str(BIN / "docker-compose"), "-f", str(DOCKER / "docker-compose.yml"), "--env-file", str(env_file),
               "--profile", "monitoring", "config", "--format", "json"]  # fmt: skip
    result = subprocess.run(command, env={"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_api_service_reads_its_keys_from_a_secret_and_reaches_dagster_by_graphql(compose):
    api = compose["services"]["api"]
    assert api["command"] == ["platformctl", "api", "serve", "--host", "0.0.0.0", "--port", "8701"]
    assert api["environment"]["DAGSTER_GRAPHQL_URL"] == "http://webserver:3000/graphql"
    assert api["environment"]["OPS_API_KEYS_FILE"] == "/run/secrets/ops_api_keys"
    assert api["environment"]["OPS_METRICS_PUBLIC"] == "false"
    assert [s["source"] for s in api["secrets"]] == ["ops_api_keys"]
    assert compose["secrets"]["ops_api_keys"]["file"].endswith("docker/secrets/ops_api_keys.json")
    assert "ports" not in api and "/health" in " ".join(api["healthcheck"]["test"])
    assert (DOCKER / "secrets" / ".gitignore").read_text().splitlines()[1] == "*"  # the key files are never committed


def test_the_proxy_routes_the_seeds_paths_to_the_api_without_basic_auth():
    conf = (DOCKER / "nginx" / "webserver.conf").read_text()
    block = conf[conf.index("location ~ ^/(api/v1/|task/|metrics$)"):conf.index("location / {")]
    assert "set $ops_api http://api:8701;" in block and "auth_basic" not in block
    pattern = re.compile(r"^/(api/v1/|task/|metrics$)")
    for path in ("/api/v1/tasks/status/x", "/api/v1/sync/trigger-full-sync", "/task/x/status", "/metrics"):
        assert pattern.match(path), path
    for path in ("/graphql", "/runs/x", "/assets/post_tags", "/metricsx"):
        assert not pattern.match(path), path


def test_prometheus_scrapes_the_api_with_a_key_from_a_secret(compose):
    service = compose["services"]["prometheus"]
    assert [p["host_ip"] for p in service["ports"]] == ["127.0.0.1"]
    assert [s["source"] for s in service["secrets"]] == ["ops_metrics_key"]
    config = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["api:8701"] and job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/ops_metrics_key"}
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert any(v["target"] == "/etc/prometheus" and v["source"].endswith("docker/prometheus") for v in service["volumes"])


def exported_names() -> set[str]:
    """Every sample name /metrics can carry, from a collector fed one synthetic snapshot."""
    collector = MetricsCollector(api=None, cache_s=10)
    snapshot = {f"c_{s}": {"count": 1} for s in ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED")}
    snapshot |= {
        "inProgress": {"results": [{"jobName": "posts_job"}]},
        "instance": {"daemonHealth": {"allDaemonStatuses": [{"daemonType": "SENSOR", "healthy": True, "lastHeartbeatTime": time.time()}]}},
        "assetNodes": [{"assetKey": {"path": ["post_tags"]}, "freshnessStatusInfo": {"freshnessStatus": "DEGRADED"},
                        "assetChecksOrError": {"checks": [{"name": "tags_persisted", "executionForLatestMaterialization": {"evaluation": {"severity": "ERROR", "success": False}}}]}}],
    }  # fmt: skip
    families = collector._families(snapshot, time.time(), 0.1)
    values = {(f.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}
    assert values[("dagster_asset_freshness_state", (("asset", "post_tags"), ("state", "FAIL")))] == 1
    assert values[("dagster_asset_check_passed", (("asset", "post_tags"), ("check", "tags_persisted"), ("severity", "ERROR")))] == 0
    names = {s.name for f in families for s in f.samples}
    for family in collector.registry.collect():
        names |= {family.name, family.name + "_total", family.name + "_count", family.name + "_sum", family.name + "_bucket"}
    return names


def test_every_alert_rule_uses_metrics_the_api_exports():
    rules = [rule for group in yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())["groups"] for rule in group["rules"]]
    assert {"TaggingPipelineBroken", "TagsNotPersisted", "DagsterDaemonDown", "AssetStale", "AssetCheckFailing"} <= {r["alert"] for r in rules}
    names = exported_names()
    for rule in rules:
        expr = re.sub(r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"', " ", rule["expr"])  # drop label matchers, ranges, strings
        used = set(re.findall(r"[a-z_][a-z0-9_]*", expr)) - PROMQL_WORDS
        assert used, rule["alert"]
        assert used <= names, f"{rule['alert']} uses {sorted(used - names)}, which /metrics does not export"
        assert rule["annotations"]["summary"] and rule["labels"]["severity"] in {"warning", "critical"}
