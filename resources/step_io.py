"""A persistent IO manager for values that cross processes: JSON rows in the application database.

With the Celery executor (or any per-step process on another machine) a step's output must be readable
by the next step wherever it runs. Every process that runs steps already reaches the application
database, so outputs live there (table `step_output`), not on a local disk. Values are JSON on
purpose: readable in SQL and never unpickled. Assets that return MaterializeResult write their own
tables and need no IO manager at all.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import dagster as dg
from sqlalchemy import and_, delete, insert, select

from appdb.platform_tables import step_output
from resources.database import DatabaseResource


def _where(identifier: list[str]):
    run_id, *path = identifier
    return and_(step_output.c.run_id == run_id, step_output.c.output_path == "/".join(path))


class DatabaseStepIOManager(dg.ConfigurableIOManager):
    """Step outputs as JSON in the application database (table step_output), keyed by run, step and output."""

    database: DatabaseResource

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        identifier = context.get_run_scoped_output_identifier()
        try:
            value = json.dumps(obj, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise dg.Failure(
                f"step_io_manager stores JSON; output '{context.name}' of step '{context.step_key}' is a "
                f"{type(obj).__name__} that JSON cannot hold ({exc}). Return plain data (dict, list, str, number)."
            ) from exc
        run_id, *path = identifier
        with self.database.begin() as conn:  # replace: a retried step writes its output again
            conn.execute(delete(step_output).where(_where(identifier)))
            conn.execute(
                insert(step_output).values(
                    run_id=run_id, output_path="/".join(path), value=value, created_at=datetime.now(timezone.utc)
                )
            )
        context.add_output_metadata({"stored_bytes": len(value)})

    def load_input(self, context: dg.InputContext):
        upstream = context.upstream_output
        identifier = upstream.get_run_scoped_output_identifier()
        with self.database.connect() as conn:
            value = conn.execute(select(step_output.c.value).where(_where(identifier))).scalar_one_or_none()
        if value is None:
            raise dg.Failure(
                f"No stored output '{upstream.name}' of step '{upstream.step_key}' in run {identifier[0]} "
                "(table step_output). Was the upstream step run with step_io_manager, and was `platformctl db init` run?"
            )
        return json.loads(value)
