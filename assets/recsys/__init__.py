"""Recsys: product text and image vectors in Qdrant, their coverage check and similar products (seed 000)."""

from __future__ import annotations

import dagster as dg

from assets.recsys.product_vectors import build_product_vectors
from assets.recsys.schedules import build_product_vectors_job, build_schedules
from orchestration.partitions import vector_shard_keys
from orchestration.policies import vector_pool


def build_defs(settings) -> dg.Definitions:
    shards = settings.get_int("VECTOR_SHARDS")
    pool = vector_pool(qdrant_is_embedded=not settings.is_set("QDRANT_URL"), embeds=True)
    product_vectors, vector_coverage = build_product_vectors(shards, pool)
    job = build_product_vectors_job(product_vectors)
    return dg.Definitions(
        assets=[product_vectors],
        asset_checks=[vector_coverage],
        jobs=[job],
        schedules=build_schedules(job, vector_shard_keys(shards), settings.get("SCHEDULE_TIMEZONE")),
    )
