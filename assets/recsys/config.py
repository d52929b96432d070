"""Run configuration of `product_vectors` (launchpad, CLI `-c`, sensors' run_config).

Shape used by sensors: {"ops": {"product_vectors": {"config": {"changed_ids": [1, 2]}}}}; an operator's
re-index of some products (even unavailable ones): {"config": {"product_ids": [946, 947]}}.
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
            "Only these products (those in the run's shards), indexed even when unavailable (the seed's "
            "--product-id): such a product stays indexed, and expected by the coverage check, while it stays "
            "unavailable. Ids of deleted, merged or text-less products have their points removed. "
            "Empty (and no changed_ids) = the whole shard."
        ),
    )
    changed_ids: list[int] = Field(
        default=[],
        description=(
            "Only these products (those in the run's shards), by the usual rules: unavailable, merged, "
            "deleted ones lose their points. What product_changes_sensor sends."
        ),
    )
    text_batch_size: int = Field(default=256, description="Products read, texted and embedded per text batch.")
    image_batch_size: int = Field(default=32, description="Images read, decoded and embedded per image batch (two batches are in memory at a time).")
    upsert_batch_size: int = Field(default=256, description="Points written to Qdrant per request.")
