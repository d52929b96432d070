"""Business settings of the recommendation domain, visible (and overridable) in the UI as resource config."""

import dagster as dg
from pydantic import Field


class RecsysSettings(dg.ConfigurableResource):
    collection: str = Field(default="products", description="Qdrant collection of the product vectors (QDRANT_COLLECTION).")
    similar_cache_pattern: str = Field(
        default="rec:similar:*", description="Redis keys of the similar-products cache (SIMILAR_CACHE_PATTERN)."
    )
