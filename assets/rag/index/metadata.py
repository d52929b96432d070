"""Materialization metadata of a sync, as an operator reads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assets.metadata import md_counts, md_list, timings_md

if TYPE_CHECKING:  # the sync (numpy, qdrant models) is imported by the steps, not when definitions load
    from assets.rag.index.sync import SyncReport


def sync_metadata(report: "SyncReport", duration_s: float) -> dict:
    return {
        "cursor_before": report.cursor_before or "(beginning)",
        "cursor_after": report.cursor_after or "(beginning)",
        "pages": report.pages,
        "items": report.items,
        "points_written": report.points_written,
        "points_created": report.points_created,
        "unchanged": report.unchanged,
        "stale_skipped": report.stale_skipped,
        "deleted_later_skipped": report.deleted_later,
        "superseded_in_page": report.superseded,
        "document_deletes": report.document_deletes,
        "chunk_deletes": report.chunk_deletes,
        "vectors_from_item": report.from_item,
        "vectors_embedded": report.embedded,
        "item_embedding_unused": md_counts(report.item_embedding_unused),
        "rejected": sum(report.rejected.values()),
        "rejected_by_reason": md_counts(report.rejected),
        "rejected_examples": md_list(report.rejected_examples),
        "timings": timings_md(report.timings, duration_s),
    }
