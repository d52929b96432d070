"""`health_alerts_sensor`: failed ERROR-severity asset checks and assets whose freshness turns FAIL,
posted to ALERT_WEBHOOK_URL once per transition (issue 17; failed runs are `run_alerts_sensor`'s).

Each tick reads the latest evaluation of every asset check of the code location and the freshness
state the daemon's freshness evaluation recorded for every asset with a policy, and compares them
with the cursor (the checks failing with ERROR severity and each asset's freshness state at the last
tick). A check that starts failing posts once and again only after it passed (or only warned) in
between; an asset posts when its state becomes FAIL. State reads work on every event-log storage
(the SQLite default is sharded per run, so a run-less event cursor cannot be used). The first tick
records the states without posting: history is not replayed when the sensor is first turned on.
A flip and back within one interval (30 s) is not seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import dagster as dg

from resources.alerts import AlertDeliveryError, AlertWebhookResource

SENSOR_NAME = "health_alerts_sensor"
FAIL = "FAIL"


@dataclass
class HealthCursor:
    failing_checks: set[str] = field(default_factory=set)  # "asset:check" failing with ERROR severity
    freshness: dict[str, str] = field(default_factory=dict)  # asset -> PASS/WARN/FAIL/UNKNOWN

    @classmethod
    def parse(cls, raw: str | None) -> "HealthCursor | None":
        if not raw:
            return None
        data = json.loads(raw)
        return cls(set(data["failing_checks"]), dict(data["freshness"]))

    def dump(self) -> str:
        return json.dumps({"failing_checks": sorted(self.failing_checks), "freshness": self.freshness}, sort_keys=True)


@dataclass(frozen=True)
class CheckFailure:
    key: str
    asset_key: dg.AssetKey
    check: str
    partition: str | None
    description: str | None
    run_id: str


def failing_checks(instance: dg.DagsterInstance, check_keys) -> tuple[dict[str, CheckFailure], set[str]]:
    """(ERROR failures by key, keys whose latest evaluation says otherwise); checks in progress or never
    evaluated are in neither (their state is kept)."""
    failures, settled = {}, set()
    for check_key in check_keys:
        record = instance.get_latest_asset_check_evaluation_record(check_key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None:
            continue
        key = f"{check_key.asset_key.to_user_string()}:{check_key.name}"
        settled.add(key)
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failures[key] = CheckFailure(key, check_key.asset_key, check_key.name, evaluation.partition, evaluation.description, record.run_id)
    return failures, settled


def freshness_states(instance: dg.DagsterInstance, asset_keys) -> dict[str, str]:
    records = instance.get_freshness_state_records(list(asset_keys))
    return {key.to_user_string(): record.freshness_state.value for key, record in records.items()}


def check_message(failure: CheckFailure, asset_url: str | None) -> dict:
    asset = failure.asset_key.to_user_string()
    where = f" (partition {failure.partition})" if failure.partition else ""
    lines = [f"Asset check failed: {asset} / {failure.check}{where}", "Severity: ERROR", f"Run: {failure.run_id or '-'}"]
    if failure.description:
        lines.append(f"Check: {failure.description}")
    if asset_url:
        lines.append(asset_url)
    return {"text": "\n".join(lines), "kind": "asset_check_failed", "asset": asset, "check": failure.check,
            "partition": failure.partition, "run_id": failure.run_id}  # fmt: skip


def freshness_message(asset: str, previous: str, asset_url: str | None) -> dict:
    lines = [f"Asset is stale: {asset} (freshness {previous} -> FAIL)"] + ([asset_url] if asset_url else [])
    return {"text": "\n".join(lines), "kind": "freshness_failed", "asset": asset, "previous_state": previous}


def _asset_url(alerts: AlertWebhookResource, asset: str) -> str | None:
    base = alerts.webserver_url.strip().rstrip("/")
    return f"{base}/assets/{asset}" if base else None


def build_health_alerts_sensor(minimum_interval_seconds: int = 30) -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Posts failed ERROR-severity asset checks and assets whose freshness turns FAIL to ALERT_WEBHOOK_URL, "
            "once per transition (cursor: the checks failing and each asset's freshness state at the last tick); "
            "states are still tracked when the variable is unset."
        ),
    )
    def health_alerts_sensor(context: dg.SensorEvaluationContext, alerts: AlertWebhookResource):
        graph = context.repository_def.asset_graph
        failures, settled = failing_checks(context.instance, graph.asset_check_keys)
        freshness = freshness_states(context.instance, graph.get_all_asset_keys())
        cursor = HealthCursor.parse(context.cursor)
        if cursor is None:
            context.update_cursor(HealthCursor(set(failures), freshness).dump())
            return dg.SkipReason(f"first tick: {len(failures)} check(s) failing and {sum(s == FAIL for s in freshness.values())} stale asset(s) recorded, not posted")
        new_failures = [failures[key] for key in sorted(set(failures) - cursor.failing_checks)]
        turned_stale = [(asset, cursor.freshness.get(asset, "UNKNOWN")) for asset, state in sorted(freshness.items())
                        if state == FAIL and cursor.freshness.get(asset) != FAIL]  # fmt: skip
        posted = 0
        if alerts.enabled:
            try:
                for failure in new_failures:
                    alerts.post(check_message(failure, _asset_url(alerts, failure.asset_key.to_user_string())))
                    cursor.failing_checks.add(failure.key)
                    posted += 1
                for asset, previous in turned_stale:
                    alerts.post(freshness_message(asset, previous, _asset_url(alerts, asset)))
                    cursor.freshness[asset] = FAIL
                    posted += 1
            except AlertDeliveryError as exc:
                # What was posted is in the cursor; the rest is posted next tick.
                context.update_cursor(cursor.dump())
                return dg.SkipReason(f"{posted} alert(s) posted, then the webhook failed (the rest next tick): {exc}")
        # Checks that passed since (or were never re-evaluated as failing) leave the failing set.
        failing = (cursor.failing_checks - settled) | set(failures)
        context.update_cursor(HealthCursor(failing, {**cursor.freshness, **freshness}).dump())
        if not alerts.enabled:
            return dg.SkipReason("ALERT_WEBHOOK_URL is not set: check and freshness alerts are off (states still tracked)")
        return dg.SkipReason(f"{posted} alert(s) posted" if posted else "no check started failing, no asset turned stale")

    return health_alerts_sensor
