"""The FastAPI application: `create_app(config)`; `platformctl api serve` runs it under uvicorn."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from opsapi.config import ApiConfig
from opsapi.dagster import DagsterApi
from opsapi.errors import install_handlers
from opsapi.jobs import TRIGGERS
from opsapi.keys import load_keys
from opsapi.metrics import MetricsCollector
from opsapi.routes import assistant, chat, metrics, sync, tasks

log = logging.getLogger("opsapi")


def create_app(config: ApiConfig, triggers: dict[str, str] | None = None) -> FastAPI:
    """The app; `triggers` replaces the allow-list (tests launch the jobs of a test code location)."""
    keys = load_keys(config.keys_file) if config.keys_file else []
    if not keys:
        log.warning(
            "no API keys in OPS_API_KEYS_FILE=%s (missing or empty): every protected endpoint answers 401; "
            "make one with `platformctl api keygen NAME --scopes read,trigger,revoke --add`", config.keys_file or "",
        )
    api = DagsterApi(config.graphql_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        api.close()

    app = FastAPI(
        title="asset-platform operations API",
        description="The seeds' task endpoints (Celery/Flower replaced by Dagster runs), API keys with scopes, Prometheus metrics.",
        version="1",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.keys = keys
    app.state.dagster = api
    app.state.triggers = dict(TRIGGERS if triggers is None else triggers)
    app.state.metrics = MetricsCollector(api, config.metrics_cache_s)
    install_handlers(app)
    for module in (tasks, sync, chat, assistant, metrics):
        app.include_router(module.router)

    @app.get("/health", tags=["health"], summary="The API itself is up (does not ask Dagster)")
    def health() -> dict:
        return {"status": "ok"}

    return app
