"""Cross-cutting policies applied once, at the root: owners per group, code references, retries."""

from __future__ import annotations

import warnings

import dagster as dg

# Who answers for each domain's data; applied to every asset of the group at the root.
GROUP_OWNERS: dict[str, list[str]] = {
    "commerce": ["team:commerce", "platform@example.com"],
    "recsys": ["team:recsys", "platform@example.com"],
    "posts": ["team:posts", "platform@example.com"],
    "maintenance": ["team:platform", "platform@example.com"],
    "assistant": ["team:assistant", "platform@example.com"],
    "content": ["team:content", "platform@example.com"],
    "rag": ["team:rag", "platform@example.com"],
}

# Default for network-facing steps: transient trouble deserves another try, a bug does not loop forever.
STEP_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

# Runs that touch embedded (local-mode) Qdrant hold this pool, limited to 1 in dagster.yaml:
# local mode allows one process at a time.
EMBEDDED_QDRANT_POOL = "qdrant_local"
# Runs that load embedding models hold this pool (limited to 1): two model-loading runs would double RAM.
EMBEDDING_POOL = "embedding"


def vector_pool(qdrant_is_embedded: bool, *, embeds: bool) -> str | None:
    """The pool for a step that touches Qdrant. Embedded Qdrant serializes every such run (embedding
    included); against a server, only model-loading runs are limited."""
    if qdrant_is_embedded:
        return EMBEDDED_QDRANT_POOL
    return EMBEDDING_POOL if embeds else None


def _with_owners(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.owners or spec.group_name not in GROUP_OWNERS:
        return spec
    return spec.replace_attributes(owners=GROUP_OWNERS[spec.group_name])


def apply_policies(defs: dg.Definitions) -> dg.Definitions:
    """Owners from the group; a link from every asset to the source file that defines it."""
    with warnings.catch_warnings():
        # map_asset_specs and code references are preview/beta APIs; their notices would drown real warnings.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        defs = defs.map_asset_specs(func=_with_owners)
        assets = dg.with_source_code_references(list(defs.assets or []))
    return dg.Definitions(
        assets=assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
    )
