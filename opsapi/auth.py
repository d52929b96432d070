"""`X-API-Key` (or `Authorization: Bearer`) and scopes: 401 without a key or with an unknown one, 403 outside the key's scopes."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from opsapi.errors import ApiError
from opsapi.keys import ApiKey, find_key

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="An operations API key (platformctl api keygen).")
# The same key as a bearer token: what Prometheus' `authorization` scrape setting sends.
BEARER = HTTPBearer(auto_error=False, description="The same API key as `Authorization: Bearer <key>`.")


def presented_key(header: str | None = Depends(API_KEY_HEADER), bearer: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> str | None:
    return header or (bearer.credentials if bearer else None)


def authenticate(request: Request, presented: str | None) -> ApiKey:
    if not presented:
        raise ApiError(401, "unauthorized", "missing X-API-Key header", headers={"WWW-Authenticate": "APIKey"})
    key = find_key(request.app.state.keys, presented)
    if key is None:
        raise ApiError(401, "unauthorized", "unknown API key", headers={"WWW-Authenticate": "APIKey"})
    return key


def require(scope: str):
    """A dependency that returns the request's key when it carries `scope`."""

    def dependency(request: Request, presented: str | None = Depends(presented_key)) -> ApiKey:
        key = authenticate(request, presented)
        if scope not in key.scopes:
            raise ApiError(403, "forbidden", f"key {key.name!r} lacks scope {scope!r} (has: {', '.join(sorted(key.scopes))})")
        return key

    return dependency
