"""Celery step workers: who is listening, and a Celery executor that refuses to wait for nobody.

A Celery run whose broker has no worker for its queue never ends: the tasks sit in the queue and the
run ignores SIGTERM. `CheckedCeleryExecutor` asks the broker which workers consume the run's queues
before it submits a step and fails the run with a clear error when none answers in time.
`platformctl workers` uses the same `find_workers` for operators.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG
from sqlalchemy.engine import make_url

DEFAULT_QUEUE = "dagster"  # dagster-celery routes every step here unless the step has a dagster-celery/queue tag
START_COMMAND = "dagster-celery worker start -A dagster_celery.app -y docker/celery.yaml"


class NoCeleryWorkerError(dg.DagsterError):
    """No worker consumes a queue the run needs: its steps would wait forever."""


@dataclass(frozen=True)
class WorkerCheck:
    workers: dict[str, list[str]]  # worker name -> queues it consumes
    missing: list[str]  # queues that no worker consumes
    seconds: float


def redact(url: str) -> str:
    """The broker URL without its password, fit for an error message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy can parse: say nothing of it
        return "<broker>"


def find_workers(broker: str, backend: str, queues: list[str], wait_seconds: float, *, all_workers: bool = False) -> WorkerCheck:
    """Ask the broker which workers consume which queues, until every queue has one or time is up.
    all_workers: collect every reply for a full second (a listing) instead of stopping at the first."""
    app = make_app(CeleryExecutor.for_cli(broker=broker, backend=backend).app_args())
    started = time.monotonic()
    deadline = started + wait_seconds
    workers: dict[str, list[str]] = {}
    try:
        # First the fast path: the first reply is enough when that worker consumes every queue.
        limit = None if all_workers else 1
        while True:
            timeout = max(0.2, min(1.0, deadline - time.monotonic()))
            replies = app.control.inspect(timeout=timeout, limit=limit).active_queues() or {}
            workers.update({name: sorted(q["name"] for q in qs) for name, qs in replies.items()})
            missing = sorted(set(queues) - {q for qs in workers.values() for q in qs})
            if not missing or time.monotonic() >= deadline:
                return WorkerCheck(workers, missing, round(time.monotonic() - started, 2))
            limit = None
    finally:
        app.close()


def require_workers(broker: str, backend: str, queues: list[str], wait_seconds: float, *, all_workers: bool = False) -> WorkerCheck:
    try:
        check = find_workers(broker, backend, queues, wait_seconds, all_workers=all_workers)
    except Exception as exc:  # noqa: BLE001 - the broker itself is unreachable or refuses us
        raise NoCeleryWorkerError(
            f"Celery broker {redact(broker)} did not answer ({exc.__class__.__name__}: {exc}). "
            "Check CELERY_BROKER_URL and that the broker is up."
        ) from exc
    if check.missing:
        seen = ", ".join(f"{name} {qs}" for name, qs in sorted(check.workers.items())) or "none"
        raise NoCeleryWorkerError(
            f"No Celery worker consumes queue(s) {check.missing} on broker {redact(broker)} "
            f"(waited {check.seconds} s; workers seen: {seen}). "
            f"Start workers with `{START_COMMAND}` (compose: `docker compose up -d --scale worker=N`) "
            "and check them with `platformctl workers`."
        )
    return check


class CheckedCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor, with a bounded check for workers before the first step is submitted."""

    def __init__(self, wait_seconds: float, **kwargs):
        super().__init__(**kwargs)
        self.wait_seconds = wait_seconds

    def execute(self, plan_context, execution_plan):
        steps = [execution_plan.get_step_by_key(key) for key in execution_plan.step_keys_to_execute]
        queues = sorted({step.tags.get(DAGSTER_CELERY_QUEUE_TAG, DEFAULT_QUEUE) for step in steps})
        try:
            check = require_workers(self.broker, self.backend, queues, self.wait_seconds)
        except NoCeleryWorkerError as exc:
            raise NoCeleryWorkerError(f"Run stopped before submitting any step: {exc}") from None
        yield DagsterEvent.engine_event(
            plan_context,
            f"Celery workers for {queues}: {sorted(check.workers)} (answered in {check.seconds} s)",
            EngineEventData({"workers": ", ".join(sorted(check.workers)), "answered_seconds": check.seconds}),
        )
        yield from super().execute(plan_context, execution_plan)


@dg.executor(
    name="celery",
    config_schema={**CELERY_CONFIG, "worker_wait_seconds": dg.Field(float, default_value=10.0)},
    requirements=dg.multiple_process_executor_requirements(),
)
def checked_celery_executor(init_context) -> CheckedCeleryExecutor:
    """Steps run on dagster-celery workers; a run with no worker for its queues fails instead of hanging."""
    config = init_context.executor_config
    return CheckedCeleryExecutor(
        wait_seconds=config["worker_wait_seconds"],
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),
    )
