"""The manual duplicate merge: scraped products folded into the API product of the same title."""

import dagster as dg
from pydantic import Field

from assets.maintenance.duplicates import merge_duplicates
from assets.maintenance.reporting import removed_key, report_or_fail
from assets.metadata import md_table
from resources.database import DatabaseResource


class FindMergeDuplicatesConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Only list the groups that would merge.")
    groups_listed: int = Field(default=50, description="Groups shown in the run metadata (the counts cover all).")


@dg.op(
    description="Group the whole catalog by normalized title (empty titles never group); in groups with api and "
    "scraped products, point the scraped ones at the lowest-id api product (merged_into_id).",
    out=dg.Out(dg.Nothing),
)
def find_merge_duplicates_op(
    context: dg.OpExecutionContext, config: FindMergeDuplicatesConfig, database: DatabaseResource
) -> None:
    report = merge_duplicates(database.engine, dry_run=config.dry_run)
    context.log.info(
        f"{report.products_scanned} products, {report.duplicate_groups} duplicate titles, {report.groups_merged} "
        f"groups with api and scraped: {report.scraped_merged} scraped products "
        f"{'would be' if config.dry_run else ''} merged, {report.scraped_already_merged} already were"
    )
    rows = [
        [g.title, g.main_id, ", ".join(map(str, g.scraped_ids)), ", ".join(map(str, g.newly_merged)) or "-"]
        for g in report.groups
    ]
    report_or_fail(
        context,
        {
            "dry_run": config.dry_run,
            "scanned": report.products_scanned,
            "duplicate_groups": report.duplicate_groups,
            "groups_merged": report.groups_merged,
            removed_key(config.dry_run, "merged"): report.scraped_merged,
            "kept_already_merged": report.scraped_already_merged,
            "kept_single_source_groups": report.groups_single_source,
            "kept_untitled": report.untitled,
            "groups": md_table(
                ["normalized title", "main (api) id", "scraped ids", "newly merged"],
                rows,
                total=report.groups_merged,
                limit=config.groups_listed,
            ),
            "duration_seconds": round(report.duration_s, 3),
        },
        report.errors,
        "UPDATE",
    )


@dg.job(
    name="find_merge_duplicates_job",
    description="Manual only (as in seed 000): merge scraped duplicates into API products across the whole "
    "catalog. Merged products lose their vectors on the next vector run. Safe to re-run.",
    tags={"dagster/max_runtime": 60 * 60},
)
def find_merge_duplicates_job():
    find_merge_duplicates_op()
