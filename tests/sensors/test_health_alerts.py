"""health_alerts_sensor over a real instance: one alert per transition of an ERROR check, nothing on the
first tick, nothing for WARN failures, and a webhook failure retried on the next tick."""

import json

import dagster as dg
import pytest

from resources.alerts import AlertWebhookResource
from sensors.health_alerts import build_health_alerts_sensor
from tests.support.http import LocalHTTPServer, Reply


class Outcome(dg.Config):
    passed: bool = False
    severity: str = "ERROR"


@dg.asset
def orders() -> None:
    return None


@dg.asset_check(asset=orders, name="orders_have_prices")
def orders_have_prices(config: Outcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=config.passed, severity=dg.AssetCheckSeverity[config.severity])


DEFS = dg.Definitions(assets=[orders], asset_checks=[orders_have_prices])
SENSOR = build_health_alerts_sensor()


def evaluate(instance, passed: bool, severity: str = "ERROR") -> None:
    config = {"ops": {"orders_orders_have_prices": {"config": {"passed": passed, "severity": severity}}}}
    assert dg.materialize([orders, orders_have_prices], instance=instance, run_config=config).success


@pytest.fixture
def hook():
    with LocalHTTPServer() as server:
        server.route("/hook", Reply(200, b"ok"))
        yield server


def tick(instance, hook, cursor):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=DEFS,
        resources={"alerts": AlertWebhookResource(webhook_url=hook.url("/hook"), webserver_url="http://ui", attempts=1)},
    )
    result = SENSOR(context)
    return context.cursor, result


def posted(hook) -> list[dict]:
    return [json.loads(body) for _, path, body, _ in hook.requests if path == "/hook"]


def test_one_alert_per_transition_of_an_error_check(hook):
    with dg.instance_for_test() as instance:
        evaluate(instance, passed=False)  # failing before the sensor's first tick: not replayed
        cursor, result = tick(instance, hook, None)
        assert "first tick" in result.skip_message and posted(hook) == []
        evaluate(instance, passed=True)
        cursor, _ = tick(instance, hook, cursor)
        evaluate(instance, passed=False)
        cursor, result = tick(instance, hook, cursor)
        [alert] = posted(hook)
        assert alert["kind"] == "asset_check_failed" and (alert["asset"], alert["check"]) == ("orders", "orders_have_prices")
        assert "http://ui/assets/orders" in alert["text"] and result.skip_message == "1 alert(s) posted"
        evaluate(instance, passed=False)  # still failing: no second alert
        cursor, _ = tick(instance, hook, cursor)
        assert len(posted(hook)) == 1
        evaluate(instance, passed=False, severity="WARN")  # a WARN failure ends the ERROR state, posts nothing
        cursor, _ = tick(instance, hook, cursor)
        assert len(posted(hook)) == 1
        evaluate(instance, passed=False)
        cursor, _ = tick(instance, hook, cursor)
        assert len(posted(hook)) == 2


def test_a_webhook_failure_is_posted_on_the_next_tick(hook):
    with dg.instance_for_test() as instance:
        cursor, _ = tick(instance, hook, None)
        hook.route("/hook", Reply(400, b"bad token"), Reply(200, b"ok"))
        evaluate(instance, passed=False)
        cursor, result = tick(instance, hook, cursor)
        assert "webhook failed" in result.skip_message and "HTTP 400" in result.skip_message
        cursor, result = tick(instance, hook, cursor)
        assert result.skip_message == "1 alert(s) posted" and len(posted(hook)) == 2  # the refused one, then the delivered one
        cursor, result = tick(instance, hook, cursor)
        assert len(posted(hook)) == 2
