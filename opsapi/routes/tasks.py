"""Seed 004's task API (`/api/v1/tasks/...`, what the RAG core's admin endpoints and Flower gave)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Body, Depends, Header, Query, Request

from opsapi import runs
from opsapi.auth import require
from opsapi.errors import ApiError
from opsapi.keys import ApiKey
from opsapi.routes.common import TriggerBody, dagster, trigger

router = APIRouter(prefix="/api/v1/tasks", tags=["seed 004: tasks"])

LIST_LIMIT = 100
LIST_QUERY = """
query ($active: RunsFilter, $reserved: RunsFilter, $limit: Int) {
  active: runsOrError(filter: $active, limit: $limit) { ... on Runs { results { ...run } } }
  reserved: runsOrError(filter: $reserved, limit: $limit) { ... on Runs { results { ...run } } }
  repositoriesOrError { ... on RepositoryConnection { nodes { schedules {
    name pipelineName scheduleState { status } futureTicks(limit: 1) { results { timestamp } } } } } }
}
fragment run on Run { runId jobName status creationTime startTime tags { key value } }
"""
DAEMONS_QUERY = """
{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required lastHeartbeatTime lastHeartbeatErrors { message } } } } }
"""


def _task(run: dict) -> dict:
    tags = {t["key"]: t["value"] for t in run["tags"]}
    return {
        "task_id": run["runId"], "name": run["jobName"], "status": runs.CELERY_STATE.get(run["status"], run["status"]),
        "dagster_status": run["status"], "created_at": run["creationTime"], "time_start": run["startTime"],
        "triggered_by": tags.get(runs.KEY_NAME_TAG),
    }


@router.get("/status/{task_id}", summary="Status of a task (a Dagster run)")
def task_status(task_id: str, request: Request, _: ApiKey = Depends(require("read"))) -> dict:
    return runs.task_status(dagster(request), task_id, request.app.state.config.webserver_url)


@router.get("/list", summary="Active, scheduled and reserved tasks")
def task_list(request: Request, _: ApiKey = Depends(require("read"))) -> dict:
    """active = runs starting/running/canceling; reserved = queued runs (waiting for the daemon's run
    queue); scheduled = the next tick of every running schedule (Celery Beat's ETA tasks)."""
    data = dagster(request).query(LIST_QUERY, {
        "active": {"statuses": ["STARTING", "STARTED", "CANCELING"]},
        "reserved": {"statuses": ["QUEUED", "NOT_STARTED"]},
        "limit": LIST_LIMIT,
    })
    scheduled = []
    for node in (data["repositoriesOrError"] or {}).get("nodes", []):
        for schedule in node["schedules"]:
            ticks = schedule["futureTicks"]["results"]
            if schedule["scheduleState"]["status"] == "RUNNING" and ticks:
                scheduled.append({"name": schedule["pipelineName"], "schedule": schedule["name"], "eta": ticks[0]["timestamp"]})
    return {
        "active": [_task(r) for r in data["active"].get("results", [])],
        "scheduled": sorted(scheduled, key=lambda s: s["eta"]),
        "reserved": [_task(r) for r in data["reserved"].get("results", [])],
    }


@router.post("/revoke/{task_id}", summary="Cancel a queued task; stop a running one with terminate=true")
def revoke(task_id: str, request: Request, terminate: bool = Query(False, description="Stop the run if it has started."),
           key: ApiKey = Depends(require("revoke"))) -> dict:  # fmt: skip
    return runs.revoke(dagster(request), task_id, terminate, key.name)


@router.get("/workers", summary="The daemon's heartbeats and, with the Celery executor, the Celery workers")
def workers(request: Request, _: ApiKey = Depends(require("read"))) -> dict:
    now = time.time()
    statuses = dagster(request).query(DAEMONS_QUERY)["instance"]["daemonHealth"]["allDaemonStatuses"]
    found = [
        {
            "name": f"dagster-daemon/{d['daemonType']}",
            "stats": {
                "healthy": d["healthy"], "required": d["required"], "last_heartbeat": d["lastHeartbeatTime"],
                "heartbeat_age_seconds": round(now - d["lastHeartbeatTime"], 1) if d["lastHeartbeatTime"] else None,
                "errors": [e["message"] for e in d["lastHeartbeatErrors"]][:3],
            },
            "queues": [],
            "registered_tasks": [],
        }
        for d in statuses
    ]
    config = request.app.state.config
    if config.executor == "celery":
        from orchestration.celery_workers import find_workers, redact  # the project's own broker listing

        try:
            check = find_workers(config.celery_broker, config.celery_backend, ["dagster"], 1.0, all_workers=True)
        except Exception as exc:  # noqa: BLE001 - any broker/transport error: say which broker and why
            raise ApiError(503, "celery_unavailable", f"Celery broker {redact(config.celery_broker)}: {type(exc).__name__}: {exc}") from None
        found += [{"name": name, "stats": {}, "queues": queues, "registered_tasks": []} for name, queues in sorted(check.workers.items())]
    return {"status": "success", "workers": found, "total_workers": len(found)}


@router.post("/trigger/{name}", status_code=202, summary="Launch an allow-listed job (optional run config)")
def trigger_job(
    name: str,
    request: Request,
    body: TriggerBody | None = Body(None),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description="Same key, same run (no second launch)."),
    key: ApiKey = Depends(require("trigger")),
):
    return trigger(request, name, key, idempotency_key, body.run_config if body else {})
