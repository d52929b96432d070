"""`/metrics` (Prometheus text format); public only when OPS_METRICS_PUBLIC=true, else scope read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from opsapi.auth import authenticate, presented_key
from opsapi.errors import ApiError

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics of the instance", response_class=Response)
def metrics(request: Request, presented: str | None = Depends(presented_key)) -> Response:
    if not request.app.state.config.metrics_public:
        key = authenticate(request, presented)
        if "read" not in key.scopes:
            raise ApiError(403, "forbidden", f"key {key.name!r} lacks scope 'read'")
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
