"""Run metadata of the maintenance jobs: the same count names everywhere (lists and tables: assets.metadata)."""

from __future__ import annotations

import dagster as dg

from assets.maintenance.retention import BatchErrors
from assets.metadata import md_list


_WOULD = {
    "deleted": "would_delete",
    "merged": "would_merge",
    "quarantined": "would_quarantine",
    "restored": "would_restore",
    "purged": "would_purge",
}


def removed_key(dry_run: bool, verb: str = "deleted") -> str:
    """The count's name: `deleted` on a real run, `would_delete` on a dry run (merged/would_merge, ...)."""
    return _WOULD[verb] if dry_run else verb


def report_or_fail(context: dg.OpExecutionContext, metadata: dict, errors: BatchErrors, what: str) -> None:
    """The op's metadata with its real error count; red when a batch failed (the others went on, a re-run
    takes up what is left), with the same metadata on the failure."""
    metadata = {**metadata, "errors": errors.count, "error_examples": md_list(errors.examples, errors.count)}
    if errors.count:
        raise dg.Failure(description=f"{errors.count} {what} batch(es) failed: {errors.examples[0]}", metadata=metadata)
    context.add_output_metadata(metadata)
