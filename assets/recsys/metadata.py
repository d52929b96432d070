"""The operator's view of a `product_vectors` run: counts, reasons with example ids, timings, models."""

from __future__ import annotations

import dagster as dg

from assets.recsys.vector_sync import SyncReport, Tally
from resources.cache import Invalidation
from resources.embedders import loaded_devices


def _reasons_md(tally: Tally) -> dg.MetadataValue:
    if not tally.total():
        return dg.MetadataValue.md("none")
    lines = [f"- **{reason}**: {entry['count']} (e.g. {', '.join(map(str, entry['examples']))})"
             for reason, entry in tally.as_dict().items()]
    return dg.MetadataValue.md("\n".join(lines))


def sync_metadata(report: SyncReport, image_embedder, vectors, collection: str, invalidation: Invalidation) -> dict:
    timings = "| phase | seconds |\n|---|---:|\n" + "\n".join(
        f"| {phase} | {seconds:.3f} |" for phase, seconds in sorted(report.timings.items())
    )
    devices = loaded_devices()
    return {
        "shards": ", ".join(map(str, report.shards)),
        "products_seen": report.products_seen,
        "text_embedded": report.text_embedded,
        "image_embedded": report.image_embedded,
        "image_encoded": report.image_encoded,
        "image_identical_reused": report.image_reused,
        "points_created": report.points_created,
        "points_updated": report.points_updated,
        "payload_only_updates": report.payload_only_updates,
        "image_vectors_removed": report.image_vectors_removed,
        "points_deleted": report.deleted.total(),
        "deleted_by_reason": _reasons_md(report.deleted),
        "unchanged": report.unchanged,
        "bookkeeping_only": report.bookkeeping_only,
        "skipped": report.excluded.total(),
        "skipped_by_reason": _reasons_md(report.excluded),
        "images_skipped": report.image_skipped.total(),
        "images_skipped_by_reason": _reasons_md(report.image_skipped),
        "images_retry_next_run": report.image_retry,  # storage errors: read again by the next run
        "ids_outside_run_shards": _reasons_md(report.skipped),
        "verified_shards": ", ".join(map(str, report.verified_shards)) or "none",
        "trusted_shards": ", ".join(map(str, report.trusted_shards)) or "none",
        "qdrant_requests": report.qdrant_requests,
        "media_objects_listed": report.media_objects_listed,
        "timings": dg.MetadataValue.md(timings),
        "duration_seconds": round(report.timings["total"], 3),
        "text_model": report.text_model,
        "image_model": report.image_model,
        "image_vectors_untrained": image_embedder.is_untrained,
        "device": ", ".join(f"{kind}: {device}" for kind, device in sorted(devices.items())) or "no model loaded",
        "vector_store": vectors.location,
        "collection": collection,
        "cache_invalidation": invalidation.summary,
        "cache_keys_deleted": invalidation.deleted if invalidation.deleted is not None else 0,
    }
