"""The maintenance part of `make demo`: every cleanup in dry-run, printing what it would remove."""

from __future__ import annotations

import dagster as dg

STEPS = (
    ("cleanup_scraper_sessions_job", "cleanup_scraper_sessions_op"),
    ("cleanup_ai_logs_job", "cleanup_ai_logs_op"),
    ("cleanup_orphaned_media_job", "cleanup_orphaned_media_op"),
    ("find_merge_duplicates_job", "find_merge_duplicates_op"),
)


def _dry_run(instance: dg.DagsterInstance, defs: dg.Definitions, job: str, op: str) -> dict:
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, run_config={"ops": {op: {"config": {"dry_run": True}}}}, tags={"demo": "dry-run"}
    )
    for event in result.all_node_events:
        if event.step_key == op and event.event_type_value == "STEP_OUTPUT":
            return {k: v.value for k, v in event.step_output_data.metadata.items()}
    raise RuntimeError(f"{job}: no metadata")


def _listed(markdown: str, limit: int = 8) -> list[str]:
    items = [line[2:].strip("`") for line in markdown.splitlines() if line.startswith("- ")]
    return items[:limit]


def demo_maintenance(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    meta = {job: _dry_run(instance, defs, job, op) for job, op in STEPS}
    sessions, ai, media, dupes = (meta[job] for job, _ in STEPS)
    lines = [
        f"cleanup_scraper_sessions_job (dry run, {sessions['retention_days']} days): would delete "
        f"{sessions['would_delete']} of {sessions['scanned']} sessions and {sessions['would_delete_logs']} logs; "
        f"keeps {sessions['kept_running']} old but running, {sessions['kept_within_retention']} recent; "
        f"{sessions['stale_running']} stale (running > {sessions['stale_hours']:g} h)",
        f"cleanup_ai_logs_job (dry run, {ai['retention_days']} days): would delete {ai['would_delete']} of "
        f"{ai['scanned']} logs (completed {ai.get('would_delete_completed', 0)}, approved "
        f"{ai.get('would_delete_approved', 0)}); keeps "
        + ", ".join(f"{k[5:]} {v}" for k, v in ai.items() if k.startswith("kept_")),
        f"cleanup_orphaned_media_job (dry run, {media['store']}): {media['orphans']} orphans of {media['scanned']} "
        f"objects (cap {media['cap']}{', a real run would ABORT' if media['cap_exceeded'] else ''}); keeps "
        f"{media['kept_referenced']} referenced, {media['kept_protected']} protected, {media['kept_young']} young, "
        f"{media['kept_hostile_key']} hostile keys",
    ]
    lines += [f"  would remove {key}" for key in _listed(media["orphan_keys"])]
    lines.append(
        f"find_merge_duplicates_job (dry run): {dupes['groups_merged']} title groups with api and scraped products, "
        f"would merge {dupes['would_merge']} scraped products ({dupes['kept_already_merged']} already merged, "
        f"{dupes['kept_single_source_groups']} single-source duplicate groups left alone)"
    )
    rows = [line for line in str(dupes["groups"]).splitlines() if line.startswith("| ") and "main (api) id" not in line]
    lines += [f"  {row}" for row in rows[:3]]
    return lines
