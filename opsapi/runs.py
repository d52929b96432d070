"""Runs in the seeds' words: status mapping, the task-status shape, idempotent launches."""

from __future__ import annotations

import logging
import re
import threading

from opsapi.dagster import DagsterApi
from opsapi.errors import ApiError

audit = logging.getLogger("opsapi.audit")

IDEMPOTENCY_TAG = "opsapi/idempotency_key"
KEY_NAME_TAG = "opsapi/key_name"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Dagster run status -> Celery state (the word the seeds' clients check).
CELERY_STATE = {
    "QUEUED": "PENDING",
    "NOT_STARTED": "PENDING",
    "MANAGED": "PENDING",
    "STARTING": "STARTED",
    "STARTED": "STARTED",
    "SUCCESS": "SUCCESS",
    "FAILURE": "FAILURE",
    "CANCELING": "REVOKED",
    "CANCELED": "REVOKED",
}
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
NOT_STARTED = ("QUEUED", "NOT_STARTED", "MANAGED")

RUN_QUERY = """
query ($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { runId jobName status creationTime startTime endTime tags { key value } }
  ... on RunNotFoundError { message } ... on PythonError { message } } }
"""
FAILURE_QUERY = """
query ($runId: ID!) { logsForRun(runId: $runId) { __typename
  ... on EventConnection { events { __typename
    ... on ExecutionStepFailureEvent { stepKey error { message stack cause { message stack } } }
    ... on RunFailureEvent { message } } } } }
"""
TAGGED_RUNS_QUERY = """
query ($filter: RunsFilter) { runsOrError(filter: $filter, limit: 1) { __typename
  ... on Runs { results { runId jobName status } } ... on PythonError { message } } }
"""


def get_run(api: DagsterApi, run_id: str) -> dict:
    result = api.query(RUN_QUERY, {"runId": run_id})["runOrError"]
    if result["__typename"] == "RunNotFoundError":
        raise ApiError(404, "run_not_found", f"no run (task) {run_id}")
    if result["__typename"] != "Run":
        raise ApiError(502, "dagster_error", f"dagster-webserver: {result.get('message', '')[:300]}")
    return result


def failure(api: DagsterApi, run_id: str) -> tuple[str | None, str | None]:
    """(error, traceback) of a failed run: the first failed step's innermost error, else the run's message."""
    events = api.query(FAILURE_QUERY, {"runId": run_id})["logsForRun"].get("events") or []
    for event in events:
        if event["__typename"] == "ExecutionStepFailureEvent" and event.get("error"):
            error = event["error"]
            while error.get("cause"):
                error = error["cause"]
            return f"{event['stepKey']}: {error['message'].strip()}", "".join(error.get("stack") or []) or None
    for event in events:
        if event["__typename"] == "RunFailureEvent":
            return event["message"], None
    return "run failed", None


def task_status(api: DagsterApi, run_id: str, webserver_url: str = "") -> dict:
    """Seed 004's `{"task_id", "status", "result", "error", "traceback"}` (+ what Dagster adds)."""
    run = get_run(api, run_id)
    status = run["status"]
    error = traceback = None
    if status == "FAILURE":
        error, traceback = failure(api, run_id)
    result = None
    if status == "SUCCESS":
        result = {"job": run["jobName"], "duration_seconds": round(run["endTime"] - run["startTime"], 3)}
    base = webserver_url.strip().rstrip("/")
    return {
        "task_id": run["runId"],
        "status": CELERY_STATE.get(status, status),
        "result": result,
        "error": error,
        "traceback": traceback,
        "dagster_status": status,
        "job": run["jobName"],
        "created_at": run["creationTime"],
        "started_at": run["startTime"],
        "finished_at": run["endTime"],
        "run_url": f"{base}/runs/{run_id}" if base else None,
    }


_launch_locks: dict[str, threading.Lock] = {}
_launch_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _launch_locks_guard:
        if len(_launch_locks) > 10_000:  # bounded: drop idle locks
            for name in [n for n, lock in _launch_locks.items() if not lock.locked()]:
                del _launch_locks[name]
        return _launch_locks.setdefault(key, threading.Lock())


def launch(api: DagsterApi, job: str, run_config: dict, key_name: str, idempotency_key: str | None) -> tuple[str, str | None]:
    """(run id, None) for a new run; with an Idempotency-Key used before, (that run's id, its status now).

    The key lives on the run as a tag and is looked up through GraphQL, so it holds across API
    restarts and replicas; a process-wide lock per key closes the race between two identical requests
    to one API process."""
    tags = {KEY_NAME_TAG: key_name}
    if idempotency_key is None:
        run_id = api.launch(job, run_config, tags)
        audit.info("trigger job=%s run=%s key=%s", job, run_id, key_name)
        return run_id, None
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise ApiError(400, "bad_idempotency_key", "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    with _lock_for(idempotency_key):
        found = api.query(TAGGED_RUNS_QUERY, {"filter": {"tags": [{"key": IDEMPOTENCY_TAG, "value": idempotency_key}]}})
        runs = found["runsOrError"].get("results") or []
        if runs:
            if runs[0]["jobName"] != job:
                raise ApiError(409, "idempotency_key_reused", f"Idempotency-Key {idempotency_key} was used for job {runs[0]['jobName']}, not {job}")
            audit.info("trigger job=%s run=%s key=%s idempotency_key=%s (replayed)", job, runs[0]["runId"], key_name, idempotency_key)
            return runs[0]["runId"], runs[0]["status"]
        run_id = api.launch(job, run_config, {**tags, IDEMPOTENCY_TAG: idempotency_key})
    audit.info("trigger job=%s run=%s key=%s idempotency_key=%s", job, run_id, key_name, idempotency_key)
    return run_id, None


def revoke(api: DagsterApi, run_id: str, terminate: bool, key_name: str) -> dict:
    """Celery's revoke: a run not started yet is canceled; a running one only with terminate=true."""
    run = get_run(api, run_id)
    status = run["status"]
    if status in FINISHED:
        raise ApiError(409, "run_finished", f"run {run_id} has finished ({status}); nothing to revoke")
    if status == "CANCELING":
        raise ApiError(409, "run_canceling", f"run {run_id} is being canceled already")
    if status not in NOT_STARTED and not terminate:
        raise ApiError(409, "run_started", f"run {run_id} is {status}: pass terminate=true to stop it")
    api.terminate(run_id)
    audit.info("revoke run=%s job=%s was=%s terminate=%s key=%s", run_id, run["jobName"], status, terminate, key_name)
    return {"status": "success", "message": f"Task {run_id} revoked", "task_id": run_id, "terminate": terminate, "was": CELERY_STATE.get(status, status)}
