"""The recsys part of `make demo`: build every vector shard in one run, check coverage, show neighbours."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import select

from appdb.tables import product
from assets.recsys.schedules import PRODUCT_VECTORS_JOB
from assets.recsys.similar import NoVectorError, find_similar


def demo_recsys(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    job = defs.resolve_job_def(PRODUCT_VECTORS_JOB)
    keys = job.partitions_def.get_partition_keys()
    result = job.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )
    events = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in events[0].materialization.metadata.items()} if events else {}
    checks = [
        e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    failed = [c.partition for c in checks if not c.passed]
    lines = [
        f"product_vectors[{keys[0]}...{keys[-1]}] in one run: {meta.get('text_embedded')} texts and "
        f"{meta.get('image_embedded')} images embedded ({meta.get('image_identical_reused')} identical images reused), "
        f"{meta.get('points_created')} points created, {meta.get('points_updated')} updated, "
        f"{meta.get('points_deleted')} deleted, {meta.get('unchanged')} unchanged, in {meta.get('duration_seconds')} s",
        f"  skipped products: {meta.get('skipped')}; images skipped: {meta.get('images_skipped')} "
        f"({_one_line(meta.get('images_skipped_by_reason'))})",
        f"  models: {meta.get('text_model')} + {meta.get('image_model')}"
        + (" (image vectors UNTRAINED: IMAGE_PRETRAINED=none)" if meta.get("image_vectors_untrained") else "")
        + f" on {meta.get('device')}; cache: {meta.get('cache_invalidation')}",
        f"  vector_coverage: {len(checks) - len(failed)}/{len(checks)} shards pass"
        + (f" (failing: {', '.join(failed)})" if failed else ""),
    ]
    lines += _similar_example(defs)
    return lines


def _one_line(value) -> str:
    text = getattr(value, "md_str", value) or "none"
    return "; ".join(part.strip("- ").replace("**", "") for part in str(text).splitlines())


def _similar_example(defs: dg.Definitions) -> list[str]:
    database, vectors, recsys = (
        defs.resources[key].process_config_and_initialize() for key in ("database", "vectors", "recsys")
    )
    with database.connect() as conn:
        candidates = conn.execute(
            select(product.c.id, product.c.title)
            .where(product.c.is_available.is_(True), product.c.merged_into_id.is_(None), product.c.title != "")
            .order_by(product.c.id)
            .limit(20)
        ).all()
        titles = dict(conn.execute(select(product.c.id, product.c.title)).all())
    with vectors.client() as client:
        for candidate in candidates:
            try:
                found = find_similar(client, recsys.collection, candidate.id, by="text", limit=3)
            except NoVectorError:
                continue
            lines = [f"similar to product {candidate.id} {candidate.title!r} (by text; `platformctl similar {candidate.id}`):"]
            lines += [f"  {n.product_id}: {titles.get(n.product_id)!r} ({n.score:.3f})" for n in found.neighbors]
            return lines
    return ["no product with a vector to show neighbours for"]
