"""The one code location: every domain's definitions merged, policies applied once."""

from __future__ import annotations

import dagster as dg

import assets.assistant
import assets.commerce
import assets.content
import assets.maintenance
import assets.posts
import assets.rag
import assets.recsys
import sensors
from orchestration.executors import build_executor
from orchestration.policies import apply_policies
from orchestration.probe import deploy_probe_job
from orchestration.resources import build_resources
from orchestration.settings import Settings

DOMAINS = (
    assets.commerce,
    assets.maintenance,
    assets.recsys,
    assets.posts,
    assets.assistant,  # seed 002
    assets.content,  # seed 003
    assets.rag,  # seed 004
    sensors,
)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings()
    merged = dg.Definitions.merge(
        *(domain.build_defs(settings) for domain in DOMAINS),
        dg.Definitions(resources=build_resources(settings), executor=build_executor(settings), jobs=[deploy_probe_job]),
    )
    return apply_policies(merged)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
