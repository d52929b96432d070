"""Jobs on media storage: remove orphaned objects (daily) and restore quarantined ones (manual)."""

from datetime import timedelta
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.maintenance.media_refs import load_references, referenced_among
from assets.maintenance.orphans import (
    OrphanOutcome,
    OrphanRules,
    OrphanScan,
    purge_expired_quarantine,
    remove_orphans,
    restore_quarantined,
    scan_orphans,
)
from assets.maintenance.reporting import removed_key
from assets.metadata import md_errors, md_list, md_table
from resources.database import DatabaseResource
from resources.maintenance import MaintenanceSettings
from resources.media import MediaResource

# The orphan cleanup and the restore never run at the same time (pools are exclusive in dagster.yaml).
MEDIA_POOL = "media_maintenance"


class OrphanedMediaCleanupConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Only list what would be removed.")
    grace_hours: Optional[float] = Field(
        default=None, description="Objects modified less than this many hours ago stay; empty = MEDIA_ORPHAN_GRACE_HOURS (48)."
    )
    protected_prefixes: Optional[list[str]] = Field(
        default=None, description="Key prefixes never touched; empty = MEDIA_PROTECTED_PREFIXES (ai/, temp/)."
    )
    max_delete_fraction: Optional[float] = Field(
        default=None, description="Abort when orphans exceed this share of the objects; empty = MEDIA_ORPHAN_MAX_FRACTION (0.1)."
    )
    max_delete_count: Optional[int] = Field(
        default=None, description="Abort when orphans exceed this many objects; empty = MEDIA_ORPHAN_MAX_COUNT (1000)."
    )
    quarantine: Optional[bool] = Field(
        default=None, description="Move orphans under the quarantine prefix instead of deleting; empty = MEDIA_QUARANTINE."
    )
    quarantine_retention_days: Optional[int] = Field(
        default=None, description="Purge quarantined objects older than this; empty = MEDIA_QUARANTINE_RETENTION_DAYS (30)."
    )


class RestoreQuarantinedMediaConfig(dg.Config):
    batches: list[str] = Field(
        default=[], description="Quarantine batches (folder names such as 20260101T040000Z) to restore; empty = all."
    )
    keys: list[str] = Field(default=[], description="Original keys to restore; empty = all in the chosen batches.")
    dry_run: bool = Field(default=False, description="Only list what would be restored.")


def orphan_rules(config: OrphanedMediaCleanupConfig, settings: MaintenanceSettings) -> OrphanRules:
    def pick(override, default):
        return default if override is None else override

    return OrphanRules(
        grace=timedelta(hours=pick(config.grace_hours, settings.media_grace_hours)),
        protected_prefixes=tuple(pick(config.protected_prefixes, settings.media_protected_prefixes)),
        max_fraction=pick(config.max_delete_fraction, settings.media_max_delete_fraction),
        max_count=pick(config.max_delete_count, settings.media_max_delete_count),
        quarantine=pick(config.quarantine, settings.media_quarantine),
        quarantine_prefix=settings.media_quarantine_prefix,
        quarantine_retention=timedelta(days=pick(config.quarantine_retention_days, settings.media_quarantine_retention_days)),
    )


def scan_metadata(scan: OrphanScan, location: str, dry_run: bool) -> dict:
    rules = scan.rules
    verb = "quarantined" if rules.quarantine else "deleted"
    kept = {f"kept_{reason}": scan.kept[reason] for reason in ("referenced", "protected", "young", "hostile_key", "quarantined")}
    return {
        "dry_run": dry_run,
        "store": location,
        "mode": "quarantine" if rules.quarantine else "delete",
        "scanned": scan.scanned,
        "references": scan.references,
        "orphans": scan.candidate_count,
        "orphan_bytes": scan.candidate_bytes,
        "cap": scan.cap,
        "cap_exceeded": scan.cap_exceeded,
        removed_key(dry_run, verb): 0 if scan.cap_exceeded else scan.candidate_count,
        removed_key(dry_run, "purged"): len(scan.quarantine_expired),
        **kept,
        "errors": 0,
        "grace_hours": rules.grace.total_seconds() / 3600,
        "protected_prefixes": ", ".join(rules.protected_prefixes) or "none",
        "orphan_keys": md_list(scan.candidates, scan.candidate_count),
        "hostile_keys": md_list(scan.examples.get("hostile_key", []), scan.kept["hostile_key"]),
        "listing_seconds": round(scan.listing_s, 3),
        "references_seconds": round(scan.references_s, 3),
        "diff_seconds": round(scan.diff_s, 3),
    }


@dg.op(
    description="Remove media objects nothing in the database references, except protected prefixes, young "
    "objects and hostile keys; aborts above the cap; dry-run and quarantine modes.",
    out=dg.Out(dg.Nothing),
    pool=MEDIA_POOL,
)
def cleanup_orphaned_media_op(
    context: dg.OpExecutionContext,
    config: OrphanedMediaCleanupConfig,
    database: DatabaseResource,
    media: MediaResource,
    maintenance: MaintenanceSettings,
) -> None:
    rules = orphan_rules(config, maintenance)
    store = media.store()

    def references() -> set[str]:
        with database.connect() as conn:
            return load_references(conn)

    def recheck(keys: list[str]) -> set[str]:
        with database.connect() as conn:
            return referenced_among(conn, keys)

    scan = scan_orphans(store, references, rules)
    metadata = scan_metadata(scan, store.location, config.dry_run)
    context.log.info(
        f"{store.location}: {scan.scanned} objects, {scan.references} references, {scan.candidate_count} orphans "
        f"(cap {scan.cap}), kept {dict(scan.kept)}"
    )
    if config.dry_run:
        if scan.cap_exceeded:
            context.log.warning(f"a real run would abort: {scan.candidate_count} orphans > cap {scan.cap}")
        context.add_output_metadata(metadata)
        return
    if scan.cap_exceeded:
        # The cap guards against a broken reference query; expired quarantine does not depend on it.
        purge = OrphanOutcome()
        purge_expired_quarantine(store, scan, purge, context.log.info)
        metadata.update(
            {
                "purged": len(purge.purged),
                "errors": len(purge.purge_errors),
                "error_keys": md_errors(purge.purge_errors),
            }
        )
        raise dg.Failure(
            description=f"{scan.candidate_count} orphans exceed the cap of {scan.cap} "
            f"(min({rules.max_fraction:g} x {scan.objects} objects, {rules.max_count})): no orphan was removed "
            f"(expired quarantine purged: {len(purge.purged)}). "
            "Check the database references; raise max_delete_fraction/max_delete_count for one run if expected.",
            metadata=metadata,
        )
    outcome = remove_orphans(store, scan, recheck, context.log.info)
    verb = "quarantined" if rules.quarantine else "deleted"
    metadata.update(
        {
            verb: len(outcome.removed),
            "purged": len(outcome.purged),
            "kept_referenced_at_recheck": len(outcome.referenced_at_recheck),
            "errors": len(outcome.errors) + len(outcome.purge_errors),
            "removed_keys": md_list(outcome.removed),
            "error_keys": md_errors({**outcome.errors, **outcome.purge_errors}),
        }
    )
    if outcome.errors or outcome.purge_errors:
        raise dg.Failure(
            description=f"{metadata['errors']} media objects could not be removed (the other {len(outcome.removed)} were)",
            metadata=metadata,
        )
    context.add_output_metadata(metadata)


@dg.op(
    description="Move quarantined media back to their original keys (never overwriting an existing object).",
    out=dg.Out(dg.Nothing),
    pool=MEDIA_POOL,
)
def restore_quarantined_media_op(
    context: dg.OpExecutionContext, config: RestoreQuarantinedMediaConfig, media: MediaResource, maintenance: MaintenanceSettings
) -> None:
    store = media.store()
    rules = OrphanRules(quarantine_prefix=maintenance.media_quarantine_prefix)
    report = restore_quarantined(
        store, rules, batches=config.batches, keys=config.keys, dry_run=config.dry_run, log=context.log.info
    )
    metadata = {
        "dry_run": config.dry_run,
        "store": store.location,
        "scanned": report.considered,
        removed_key(config.dry_run, "restored"): len(report.restored),
        "kept_conflict": len(report.conflicts),
        "errors": len(report.errors),
        "restored_keys": md_list(report.restored),
        "conflicts": md_table(["key", "why"], [[k, v] for k, v in report.conflicts.items()]),
        "error_keys": md_errors(report.errors),
    }
    if report.errors:
        raise dg.Failure(description=f"{len(report.errors)} quarantined objects could not be restored", metadata=metadata)
    context.add_output_metadata(metadata)


@dg.job(
    name="cleanup_orphaned_media_job",
    description="Daily: remove media objects no database row references (local folder or S3/R2); replaces seed "
    "000's cleanup-orphaned-media.",
    tags={"dagster/max_runtime": 3 * 60 * 60},
)
def cleanup_orphaned_media_job():
    cleanup_orphaned_media_op()


@dg.job(
    name="restore_quarantined_media_job",
    description="Manual: move media quarantined by cleanup_orphaned_media_job back where it was.",
    tags={"dagster/max_runtime": 60 * 60},
)
def restore_quarantined_media_job():
    restore_quarantined_media_op()
