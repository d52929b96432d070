"""Seed 002's admin-only rebuild of the configurator assistant's knowledge index."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request

from opsapi.auth import require
from opsapi.keys import ApiKey
from opsapi.routes.common import trigger

router = APIRouter(prefix="/api/v1/assistant", tags=["seed 002: assistant"])


@router.post("/rebuild-index", status_code=202, summary="Rebuild the assistant's knowledge index (needs scope trigger)")
def rebuild_index(request: Request, idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
                  key: ApiKey = Depends(require("trigger"))):  # fmt: skip
    return trigger(request, "assistant-rebuild", key, idempotency_key, {}, message="Rebuild scheduled")
