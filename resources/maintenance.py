"""Deployment defaults of the maintenance jobs (retention, grace, caps), visible in the UI as resource config.

A run can override each of them in its own config (the launchpad); an empty override means "this default".
"""

import dagster as dg
from pydantic import Field


class MaintenanceSettings(dg.ConfigurableResource):
    scraper_sessions_retention_days: int = Field(
        default=30, description="Scraping sessions (and their logs) older than this are deleted (SCRAPER_SESSIONS_RETENTION_DAYS)."
    )
    ai_logs_retention_days: int = Field(
        default=30, description="Completed/approved AI logs older than this are deleted (AI_LOGS_RETENTION_DAYS)."
    )
    delete_batch_rows: int = Field(default=1000, description="Rows per DELETE statement (MAINTENANCE_DELETE_BATCH).")
    media_grace_hours: float = Field(
        default=48.0, description="Media objects younger than this are never orphans (MEDIA_ORPHAN_GRACE_HOURS)."
    )
    media_protected_prefixes: list[str] = Field(
        default=["ai/", "temp/"], description="Key prefixes the orphan cleanup never touches (MEDIA_PROTECTED_PREFIXES)."
    )
    media_max_delete_fraction: float = Field(
        default=0.1, description="Abort when orphans exceed this share of the objects (MEDIA_ORPHAN_MAX_FRACTION)."
    )
    media_max_delete_count: int = Field(
        default=1000, description="Abort when orphans exceed this many objects (MEDIA_ORPHAN_MAX_COUNT)."
    )
    media_quarantine: bool = Field(
        default=False, description="Move orphans under the quarantine prefix instead of deleting them (MEDIA_QUARANTINE)."
    )
    media_quarantine_prefix: str = Field(
        default="quarantine/", description="Where quarantined orphans go (MEDIA_QUARANTINE_PREFIX)."
    )
    media_quarantine_retention_days: int = Field(
        default=30, description="Quarantined objects older than this are purged (MEDIA_QUARANTINE_RETENTION_DAYS)."
    )

    @classmethod
    def from_settings(cls, settings) -> "MaintenanceSettings":
        """The defaults of this deployment, from orchestration.settings.Settings."""
        quarantine = settings.get("MEDIA_QUARANTINE").lower()
        if quarantine not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"MEDIA_QUARANTINE={quarantine!r} is not true/false")
        return cls(
            scraper_sessions_retention_days=settings.get_int("SCRAPER_SESSIONS_RETENTION_DAYS"),
            ai_logs_retention_days=settings.get_int("AI_LOGS_RETENTION_DAYS"),
            delete_batch_rows=settings.get_int("MAINTENANCE_DELETE_BATCH"),
            media_grace_hours=settings.get_float("MEDIA_ORPHAN_GRACE_HOURS"),
            media_protected_prefixes=[p.strip() for p in settings.get("MEDIA_PROTECTED_PREFIXES").split(",") if p.strip()],
            media_max_delete_fraction=settings.get_float("MEDIA_ORPHAN_MAX_FRACTION"),
            media_max_delete_count=settings.get_int("MEDIA_ORPHAN_MAX_COUNT"),
            media_quarantine=quarantine in ("true", "1", "yes"),
            media_quarantine_prefix=settings.get("MEDIA_QUARANTINE_PREFIX"),
            media_quarantine_retention_days=settings.get_int("MEDIA_QUARANTINE_RETENTION_DAYS"),
        )
