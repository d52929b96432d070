"""`assistant_changes_sensor`: saves and deletes of the five catalog tables reach the index.

The capture triggers (tables.py, sql/) log each changed entity in `assistant_change`; the shared
`ChangeLogSource` reads the log (late-commit-safe on PostgreSQL) and the shared debounce waits for a
quiet period (the seed's 30 s), at most the max wait, with one run in flight, then requests one
assistant_changes_job run with the changed entities. Replaces seed 002's signals, countdown and
cache flag.
"""

from __future__ import annotations

import time
from typing import Callable

import dagster as dg

from assets.assistant.jobs import CHANGES_JOB
from assets.assistant.tables import assistant_change
from sensors.debounce import DebouncePolicy
from sensors.debounced_sensor import build_debounced_sensor
from sensors.change_log import ChangeLogSource

SENSOR_NAME = "assistant_changes_sensor"
GROUP = "catalog"  # one group: a change may touch documents of every entity type


def changes_run_config(entities: list | None) -> dict:
    """Changed entities, or None (too many): every document is re-rendered."""
    documents = {} if entities is None else {"config": {"entities": sorted(set(entities))}}
    return {"ops": {"assistant_documents": documents, "assistant_knowledge_index": {"config": {"mode": "incremental"}}}}


def change_source(engine, retention_s: float) -> ChangeLogSource:
    return ChangeLogSource(engine, assistant_change, lambda row: (GROUP, f"{row.entity_type}:{row.entity_id}"), retention_s)


def build_assistant_changes_sensor(settings, clock: Callable[[], float] = time.time) -> dg.SensorDefinition:
    retention_s = settings.get_float("ASSISTANT_CHANGES_RETENTION_HOURS") * 3600
    policy = DebouncePolicy(
        quiet_s=settings.get_float("ASSISTANT_CHANGES_QUIET_SECONDS"),
        max_wait_s=settings.get_float("ASSISTANT_CHANGES_MAX_WAIT_SECONDS"),
        leading_edge=settings.get_bool("ASSISTANT_CHANGES_LEADING_EDGE"),
        max_items=settings.get_int("ASSISTANT_CHANGES_MAX_ENTITIES_PER_RUN"),
    )
    return build_debounced_sensor(
        name=SENSOR_NAME,
        job_name=CHANGES_JOB,
        source=lambda resources: change_source(resources.assistant_database.engine, retention_s),
        run_config=changes_run_config,
        policy=policy,
        required_resource_keys={"assistant_database"},
        partitioned=False,
        clock=clock,
        description=(
            "Saves and deletes of categories, part options, presets, incompatibility and price rules "
            f"(assistant_change, fed by triggers) → one {CHANGES_JOB} run: "
            + ("an isolated change at once (leading edge), " if policy.leading_edge else "")
            + f"a burst after {policy.quiet_s:g} s without changes, at the latest {policy.max_wait_s:g} s after the first; changes arriving while it is queued "
            "or running go into the next run. Replaces seed 002's signals with their 30-second countdown."
        ),
    )
