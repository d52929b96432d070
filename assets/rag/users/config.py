"""Deployment defaults of the users side (delivery, tiers, limits, cleanups), visible in the UI as the
`rag_users` resource's config; a run can override some of them in its own config."""

from __future__ import annotations

import dagster as dg

from assets.rag.users.delivery import DeliveryPolicy
from assets.rag.users.stats import parse_tiers
from orchestration.settings import setting_field

NAMES = {
    "max_attempts": ("NOTIFY_MAX_ATTEMPTS", int),
    "retention_days": ("NOTIFY_RETENTION_DAYS", int),
    "concurrency": ("NOTIFY_CONCURRENCY", int),
    "batch_rows": ("NOTIFY_BATCH_ROWS", int),
    "backoff_s": ("NOTIFY_BACKOFF_SECONDS", float),
    "backoff_max_s": ("NOTIFY_BACKOFF_MAX_SECONDS", float),
    "lease_s": ("NOTIFY_LEASE_SECONDS", float),
    "tiers": ("RAG_TIERS", str),
    "timezone": ("RAG_TIMEZONE", str),
    "cache_prefix": ("RAG_CACHE_PREFIX", str),
    "cache_max_idle_hours": ("RAG_CACHE_MAX_IDLE_HOURS", float),
    "failed_runs_retention_days": ("FAILED_RUNS_RETENTION_DAYS", int),
    "delete_batch_rows": ("MAINTENANCE_DELETE_BATCH", int),
}


class RagUsersSettings(dg.ConfigurableResource):
    max_attempts: int = setting_field("NOTIFY_MAX_ATTEMPTS", int)
    retention_days: int = setting_field("NOTIFY_RETENTION_DAYS", int)
    concurrency: int = setting_field("NOTIFY_CONCURRENCY", int)
    batch_rows: int = setting_field("NOTIFY_BATCH_ROWS", int)
    backoff_s: float = setting_field("NOTIFY_BACKOFF_SECONDS", float)
    backoff_max_s: float = setting_field("NOTIFY_BACKOFF_MAX_SECONDS", float)
    lease_s: float = setting_field("NOTIFY_LEASE_SECONDS", float)
    tiers: str = setting_field("RAG_TIERS")
    timezone: str = setting_field("RAG_TIMEZONE")
    cache_prefix: str = setting_field("RAG_CACHE_PREFIX")
    cache_max_idle_hours: float = setting_field("RAG_CACHE_MAX_IDLE_HOURS", float)
    failed_runs_retention_days: int = setting_field("FAILED_RUNS_RETENTION_DAYS", int)
    delete_batch_rows: int = setting_field("MAINTENANCE_DELETE_BATCH", int)

    @classmethod
    def from_settings(cls, settings) -> "RagUsersSettings":
        getters = {int: settings.get_int, float: settings.get_float, str: settings.get}
        values = {field: getters[cast](name) for field, (name, cast) in NAMES.items()}
        parse_tiers(values["tiers"])  # a bad RAG_TIERS fails at load, naming the variable
        return cls(**values)

    @property
    def policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            max_attempts=self.max_attempts, batch_rows=self.batch_rows, concurrency=self.concurrency,
            backoff_s=self.backoff_s, backoff_max_s=self.backoff_max_s, lease_s=self.lease_s,
        )

    @property
    def tier_list(self) -> list[tuple[str, int]]:
        return parse_tiers(self.tiers)
