"""run_alerts_sensor against a real local HTTP server: the message, retries, refusals, and silence
without ALERT_WEBHOOK_URL."""

import json

import dagster as dg
import pytest

from resources.alerts import AlertDeliveryError, AlertWebhookResource
from sensors.run_alerts import build_run_alerts_sensor, failure_message
from tests.support.http import Reply

PARTS = dg.StaticPartitionsDefinition(["shard-00", "shard-01"])


@dg.asset(partitions_def=PARTS)
def fragile_vectors(context: dg.AssetExecutionContext) -> None:
    raise ValueError(f"Qdrant refused the upsert for {context.partition_key}\nsecond line of detail")


fragile_job = dg.define_asset_job("fragile_job", selection=[fragile_vectors], partitions_def=PARTS)


@pytest.fixture
def failed_run(instance):
    """A real failed run of a partitioned asset job in the test instance, and its failure event."""
    defs = dg.Definitions(assets=[fragile_vectors], jobs=[fragile_job])
    result = defs.resolve_job_def("fragile_job").execute_in_process(
        instance=instance, partition_key="shard-01", raise_on_error=False
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return run, failure


def evaluate(instance, failed_run, alerts: AlertWebhookResource):
    run, failure = failed_run
    sensor = build_run_alerts_sensor()
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=failure, dagster_instance=instance, dagster_run=run,
        resources={"alerts": alerts},
    ).for_run_failure()
    return sensor(context)


def test_a_failed_run_is_posted_with_run_job_assets_partition_error_and_link(instance, failed_run, http_server):
    url = http_server.route("/hook", Reply(200, b"ok"))
    alerts = AlertWebhookResource(webhook_url=url, webserver_url="http://ui.example:3000/")
    assert evaluate(instance, failed_run, alerts) is None  # posted; the sensor goes on with the next run
    assert http_server.hits("/hook") == 1
    method, _, body, headers = http_server.requests[0]
    message = json.loads(body)
    run, _ = failed_run
    assert method == "POST" and headers["Content-Type"] == "application/json"
    assert message["text"].startswith(f"Run failed: fragile_job (run {run.run_id})")
    assert "Assets: fragile_vectors" in message["text"] and "Partition: shard-01" in message["text"]
    assert "fragile_vectors: ValueError: Qdrant refused the upsert for shard-01" in message["text"]
    assert "second line" not in message["text"]
    assert message["text"].endswith(f"http://ui.example:3000/runs/{run.run_id}")
    fields = [f["text"] for f in message["blocks"][1]["fields"]]
    assert fields == [f"*Run*\n`{run.run_id}`", "*Job*\nfragile_job", "*Assets*\nfragile_vectors", "*Partition*\nshard-01"]
    assert f"<http://ui.example:3000/runs/{run.run_id}|Open the run in Dagster>" in message["blocks"][2]["text"]["text"]


def test_transient_webhook_failures_are_retried(instance, failed_run, http_server):
    url = http_server.route("/hook", Reply(503, b"busy"), Reply(429, b"slow down"), Reply(200, b"ok"))
    alerts = AlertWebhookResource(webhook_url=url, max_wait_s=0.05)
    evaluate(instance, failed_run, alerts)
    assert http_server.hits("/hook") == 3


def test_a_refusing_webhook_fails_at_once_with_its_answer(instance, failed_run, http_server):
    url = http_server.route("/hook", Reply(400, b"invalid_blocks"))
    alerts = AlertWebhookResource(webhook_url=url, max_wait_s=0.05)
    with pytest.raises(Exception) as raised:
        evaluate(instance, failed_run, alerts)
    error = raised.value if isinstance(raised.value, AlertDeliveryError) else raised.value.__cause__
    assert str(error) == "alert webhook answered HTTP 400: 'invalid_blocks'"
    assert http_server.hits("/hook") == 1


def test_an_unreachable_webhook_gives_up_after_the_retries(instance, failed_run):
    alerts = AlertWebhookResource(webhook_url="http://127.0.0.1:9/hook", attempts=2, max_wait_s=0.05, timeout_s=1)
    with pytest.raises(Exception) as raised:
        evaluate(instance, failed_run, alerts)
    error = raised.value if isinstance(raised.value, AlertDeliveryError) else raised.value.__cause__
    assert str(error).startswith("alert webhook unreachable after 2 tries:")


def test_without_a_webhook_nothing_is_sent(instance, failed_run, http_server):
    result = evaluate(instance, failed_run, AlertWebhookResource(webhook_url=""))
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "ALERT_WEBHOOK_URL is not set: run failure alerts are off"
    assert http_server.requests == []


def test_the_sensor_posts_failed_runs_through_the_sensor_machinery(instance, http_server):
    """The first tick starts after existing runs; a run failing after it is posted once."""
    url = http_server.route("/hook", Reply(200, b"ok"))
    sensor = build_run_alerts_sensor()
    defs = dg.Definitions(
        assets=[fragile_vectors], jobs=[fragile_job], sensors=[sensor],
        resources={"alerts": AlertWebhookResource(webhook_url=url)},
    )
    resources = {"alerts": AlertWebhookResource(webhook_url=url)}
    first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs, resources=resources))
    defs.resolve_job_def("fragile_job").execute_in_process(instance=instance, partition_key="shard-00", raise_on_error=False)
    second = sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs, resources=resources)
    )
    assert http_server.hits("/hook") == 1
    assert "Partition: shard-00" in json.loads(http_server.requests[0][2])["text"]
    sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=second.cursor, definitions=defs, resources=resources))
    assert http_server.hits("/hook") == 1  # not twice


def test_long_errors_and_asset_lists_are_cut():
    message = failure_message("r1", "j", [f"a{i}" for i in range(12)], None, "x" * 10, None)
    assert "Assets: a0, a1, a10, a11, a2" not in message["text"]
    assert "(+2 more)" in message["text"] and "Partition: -" in message["text"]
    assert "Open the run" not in json.dumps(message)
