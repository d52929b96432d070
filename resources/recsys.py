"""Business settings of the recommendation domain, visible (and overridable) in the UI as resource config."""

import dagster as dg

from orchestration.settings import setting_field


class RecsysSettings(dg.ConfigurableResource):
    collection: str = setting_field("QDRANT_COLLECTION")
    similar_cache_pattern: str = setting_field("SIMILAR_CACHE_PATTERN")
