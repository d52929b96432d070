"""The API's settings, from the platform's one registry (orchestration.settings.VARIABLES)."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.settings import Settings


@dataclass(frozen=True)
class ApiConfig:
    graphql_url: str
    keys_file: str
    metrics_public: bool
    metrics_cache_s: float
    webserver_url: str
    executor: str
    celery_broker: str
    celery_backend: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "ApiConfig":
        s = settings or Settings()
        return cls(
            graphql_url=s.get("DAGSTER_GRAPHQL_URL"),
            keys_file=s.get("OPS_API_KEYS_FILE"),
            metrics_public=s.get_bool("OPS_METRICS_PUBLIC"),
            metrics_cache_s=s.get_float("OPS_METRICS_CACHE_SECONDS"),
            webserver_url=s.get("DAGSTER_WEBSERVER_URL"),
            executor=s.get("DAGSTER_EXECUTOR").strip().lower(),
            celery_broker=s.get("CELERY_BROKER_URL"),
            celery_backend=s.get("CELERY_BACKEND_URL"),
        )
