"""Run configuration of `product_vectors` (launchpad, CLI `-c`, sensors' run_config).

Shape used by sensors: {"ops": {"product_vectors": {"config": {"product_ids": [1, 2]}}}}.
"""

import dagster as dg
from pydantic import Field


class ProductVectorsConfig(dg.Config):
    force: bool = Field(
        default=False, description="Ignore the recorded content hashes: re-embed every product of the shard(s)."
    )
    product_ids: list[int] = Field(
        default=[],
        description=(
            "Only these products (those in the run's shards), even when unavailable; ids of deleted, "
            "merged or unavailable products have their points removed. Empty = the whole shard."
        ),
    )
    text_batch_size: int = Field(default=256, description="Products read, texted and embedded per text batch.")
    image_batch_size: int = Field(default=32, description="Images read, decoded and embedded per image batch (two batches are in memory at a time).")
    upsert_batch_size: int = Field(default=256, description="Points written to Qdrant per request.")
