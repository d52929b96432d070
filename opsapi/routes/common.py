"""What several seeds' endpoints share: the Dagster client of the app, triggering an allow-listed job."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from opsapi import runs
from opsapi.dagster import DagsterApi
from opsapi.errors import ApiError
from opsapi.keys import ApiKey


class TriggerBody(BaseModel):
    run_config: dict = Field(default_factory=dict, description="Dagster run config of the job (optional).")


def dagster(request: Request) -> DagsterApi:
    return request.app.state.dagster


def trigger(request: Request, name: str, key: ApiKey, idempotency_key: str | None, run_config: dict, **extra) -> JSONResponse:
    """Launch the allow-listed job `name`: 202 with the new task id, 200 with the earlier one (and its
    status now) when the Idempotency-Key was used before."""
    job = request.app.state.triggers.get(name)
    if job is None:
        raise ApiError(404, "unknown_trigger", f"no trigger named {name!r}; known: {', '.join(sorted(request.app.state.triggers))}")
    run_id, earlier_status = runs.launch(dagster(request), job, run_config, key.name, idempotency_key)
    created = earlier_status is None
    status = "PENDING" if created else runs.CELERY_STATE.get(earlier_status, earlier_status)
    body = {"task_id": run_id, "status": status, "job": job, "trigger": name, "created": created, **extra}
    return JSONResponse(body, status_code=202 if created else 200)
