"""Deployment defaults of the maintenance jobs (retention, grace, caps), visible in the UI as resource config.

A run can override each of them in its own config (the launchpad); an empty override means "this default".
Defaults and descriptions come from the settings registry (orchestration.settings.VARIABLES).
"""

import dagster as dg

from orchestration.settings import setting_field


class MaintenanceSettings(dg.ConfigurableResource):
    scraper_sessions_retention_days: int = setting_field("SCRAPER_SESSIONS_RETENTION_DAYS", int)
    scraper_session_stale_hours: float = setting_field("SCRAPER_SESSION_STALE_HOURS", float)
    ai_logs_retention_days: int = setting_field("AI_LOGS_RETENTION_DAYS", int)
    delete_batch_rows: int = setting_field("MAINTENANCE_DELETE_BATCH", int)
    media_grace_hours: float = setting_field("MEDIA_ORPHAN_GRACE_HOURS", float)
    media_protected_prefixes: list[str] = setting_field("MEDIA_PROTECTED_PREFIXES", list)
    media_max_delete_fraction: float = setting_field("MEDIA_ORPHAN_MAX_FRACTION", float)
    media_max_delete_count: int = setting_field("MEDIA_ORPHAN_MAX_COUNT", int)
    media_quarantine: bool = setting_field("MEDIA_QUARANTINE", bool)
    media_quarantine_prefix: str = setting_field("MEDIA_QUARANTINE_PREFIX")
    media_quarantine_retention_days: int = setting_field("MEDIA_QUARANTINE_RETENTION_DAYS", int)

    @classmethod
    def from_settings(cls, settings) -> "MaintenanceSettings":
        """The defaults of this deployment, from orchestration.settings.Settings."""
        return cls(
            scraper_sessions_retention_days=settings.get_int("SCRAPER_SESSIONS_RETENTION_DAYS"),
            scraper_session_stale_hours=settings.get_float("SCRAPER_SESSION_STALE_HOURS"),
            ai_logs_retention_days=settings.get_int("AI_LOGS_RETENTION_DAYS"),
            delete_batch_rows=settings.get_int("MAINTENANCE_DELETE_BATCH"),
            media_grace_hours=settings.get_float("MEDIA_ORPHAN_GRACE_HOURS"),
            # Not get_list: prefixes are keys, their case matters.
            media_protected_prefixes=[p.strip() for p in settings.get("MEDIA_PROTECTED_PREFIXES").split(",") if p.strip()],
            media_max_delete_fraction=settings.get_float("MEDIA_ORPHAN_MAX_FRACTION"),
            media_max_delete_count=settings.get_int("MEDIA_ORPHAN_MAX_COUNT"),
            media_quarantine=settings.get_bool("MEDIA_QUARANTINE"),
            media_quarantine_prefix=settings.get("MEDIA_QUARANTINE_PREFIX"),
            media_quarantine_retention_days=settings.get_int("MEDIA_QUARANTINE_RETENTION_DAYS"),
        )
