"""`run_alerts_sensor`: every failed run, of any job, posted to a Slack-compatible webhook.

The message carries the run id, job, assets, partition, an error summary and a link to the run in
the UI (when DAGSTER_WEBSERVER_URL is set), as `text` (Mattermost, Rocket.Chat, plain Slack) and as
Slack `blocks`. Without ALERT_WEBHOOK_URL the sensor does nothing (its ticks say so).
"""

import dagster as dg

from resources.alerts import AlertWebhookResource

SENSOR_NAME = "run_alerts_sensor"
ERROR_CHARS = 600
LISTED_ASSETS = 10


def _partition(tags: dict) -> str | None:
    if tags.get("dagster/partition"):
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}...{end}" if start and end else None


def _assets(context: dg.RunFailureSensorContext) -> list[str]:
    run = context.dagster_run
    if run.asset_selection:
        return sorted(key.to_user_string() for key in run.asset_selection)
    planned = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return sorted({record.event_log_entry.dagster_event.asset_key.to_user_string() for record in planned})


def _error_summary(context: dg.RunFailureSensorContext) -> str:
    """The failed steps' errors (step: message), else the run's own failure message."""
    lines = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:  # Dagster wraps the user's exception
            error = error.cause
        message = (error.message if error else event.message or "").strip().splitlines()
        lines.append(f"{event.step_key}: {message[0] if message else 'failed'}")
    if not lines:
        lines.append((context.failure_event.message or "run failed").strip())
    summary = "\n".join(lines)
    return summary if len(summary) <= ERROR_CHARS else summary[: ERROR_CHARS - 1] + "…"


def failure_message(
    run_id: str, job: str, assets: list[str], partition: str | None, error: str, run_url: str | None
) -> dict:
    """The webhook payload: `text` for every Slack-compatible receiver, `blocks` for Slack."""
    more = len(assets) - LISTED_ASSETS
    shown = (", ".join(assets[:LISTED_ASSETS]) + (f" (+{more} more)" if more > 0 else "")) or "-"
    link = f"\n<{run_url}|Open the run in Dagster>" if run_url else ""
    text = (
        f"Run failed: {job} (run {run_id})\nAssets: {shown}\nPartition: {partition or '-'}\nError: {error}"
        + (f"\n{run_url}" if run_url else "")
    )
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Run failed: {job}"[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Run*\n`{run_id}`"},
                    {"type": "mrkdwn", "text": f"*Job*\n{job}"},
                    {"type": "mrkdwn", "text": f"*Assets*\n{shown}"},
                    {"type": "mrkdwn", "text": f"*Partition*\n{partition or '-'}"},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Error*\n```{error}```{link}"}},
        ],
    }


def build_run_alerts_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=SENSOR_NAME,
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Posts every failed run (run id, job, assets, partition, error, link to the UI) to ALERT_WEBHOOK_URL "
            "(Slack-compatible), with retries; does nothing when the variable is unset."
        ),
    )
    def run_alerts_sensor(context: dg.RunFailureSensorContext, alerts: AlertWebhookResource):
        if not alerts.enabled:
            return dg.SkipReason("ALERT_WEBHOOK_URL is not set: run failure alerts are off")
        run = context.dagster_run
        message = failure_message(
            run.run_id, run.job_name, _assets(context), _partition(run.tags), _error_summary(context),
            alerts.run_url(run.run_id),
        )
        alerts.post(message)
        context.log.info(f"alert posted for run {run.run_id} ({run.job_name})")
        return None  # posted: go on with the next failed run of this tick

    return run_alerts_sensor
