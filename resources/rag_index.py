"""Deployment settings of seed 004's document index, visible in the UI as resource config."""

import dagster as dg

from orchestration.settings import setting_field


class RagIndexSettings(dg.ConfigurableResource):
    collection: str = setting_field("RAG_COLLECTION")
