"""The platform's own plumbing tables (not application data).

`step_output` holds the values that steps hand to each other through `step_io_manager`, so a step on
one machine (a Celery worker, a run container) can read what a step on another one produced.
"""

from sqlalchemy import Column, Index, String, Table, Text

from appdb.base import Timestamp, metadata

step_output = Table(
    "step_output",
    metadata,
    Column("run_id", String(64), primary_key=True),
    # step key / output name [/ mapping key]: Dagster's run-scoped output identifier without the run id.
    Column("output_path", String(512), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("created_at", Timestamp, nullable=False),
    Index(None, "created_at"),  # retention deletes by age
)
