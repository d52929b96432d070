"""Seed 004's sync endpoints: the full re-sync and a document's deletion, each answering a task id."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request

from opsapi.auth import require
from opsapi.jobs import delete_document_config
from opsapi.keys import ApiKey
from opsapi.routes.common import trigger

router = APIRouter(prefix="/api/v1/sync", tags=["seed 004: sync"])


@router.post("/trigger-full-sync", status_code=202, summary="Re-read every chunk from the ingest system")
def trigger_full_sync(request: Request, idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
                      key: ApiKey = Depends(require("trigger"))):  # fmt: skip
    return trigger(request, "full-sync", key, idempotency_key, {})


@router.delete("/document/{document_id}", status_code=202, summary="Delete a document's embeddings")
def delete_document(document_id: str, request: Request, idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
                    key: ApiKey = Depends(require("trigger"))):  # fmt: skip
    return trigger(request, "delete-document", key, idempotency_key, delete_document_config(document_id), document_id=document_id)
