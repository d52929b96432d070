"""The one code location: every domain's definitions merged, policies applied once."""

from __future__ import annotations

import dagster as dg

import assets.commerce
import assets.maintenance
import assets.recsys
from orchestration.policies import apply_policies
from orchestration.resources import build_resources
from orchestration.settings import Settings

DOMAINS = (assets.commerce, assets.maintenance, assets.recsys)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings()
    merged = dg.Definitions.merge(
        *(domain.build_defs(settings) for domain in DOMAINS),
        dg.Definitions(resources=build_resources(settings)),
    )
    return apply_policies(merged)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
