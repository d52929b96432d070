"""Seed 003's `GET /task/{task_id}/status` (the wellbeing chat's Celery task status)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from opsapi import runs
from opsapi.auth import require
from opsapi.keys import ApiKey
from opsapi.routes.common import dagster

router = APIRouter(tags=["seed 003: chat"])


@router.get("/task/{task_id}/status", summary="Status of a task (a Dagster run)")
def task_status(task_id: str, request: Request, _: ApiKey = Depends(require("read"))) -> dict:
    return runs.task_status(dagster(request), task_id, request.app.state.config.webserver_url)
