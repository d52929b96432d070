"""Where the steps of a run execute: chosen once, by DAGSTER_EXECUTOR, for every job of the location.

`multiprocess` (default) is Dagster's multi_or_in_process executor: one process per step for launched
runs (forked from a preloaded forkserver), in-process for `execute_in_process`. `celery` sends every
step to dagster-celery workers through the broker in CELERY_BROKER_URL; outputs that cross processes
then need a persistent IO manager (`step_io_manager`); assets that return MaterializeResult need none.
"""

from __future__ import annotations

from typing import Callable

import dagster as dg

from orchestration.settings import Settings


def _source(settings: Settings, name: str) -> str | dict:
    """Config that names the variable when it is set, so the URL (and its password) never enters a snapshot."""
    return {"env": name} if settings.is_set(name) else settings.get(name)


def _multiprocess(settings: Settings) -> dg.ExecutorDefinition:
    # Forkserver with the code location preloaded: each step process is forked from an interpreter that
    # already imported Dagster and the definitions, instead of spawning a fresh one (bench_07: 2-3x less
    # overhead per dependency level). Heavy libraries are imported inside steps, after the fork.
    preload = {"forkserver": {"preload_modules": ["orchestration.definitions"]}}
    return dg.multi_or_in_process_executor.configured(
        {"multiprocess": {"start_method": preload}}, name="multi_or_in_process_executor"
    )


def _celery(settings: Settings) -> dg.ExecutorDefinition:
    from orchestration.celery_workers import checked_celery_executor  # celery is imported only when chosen

    return checked_celery_executor.configured(
        {
            "broker": _source(settings, "CELERY_BROKER_URL"),
            "backend": _source(settings, "CELERY_BACKEND_URL"),
            "worker_wait_seconds": settings.get_float("CELERY_WORKER_WAIT_SECONDS"),
        },
        name="celery",
    )


EXECUTORS: dict[str, Callable[[Settings], dg.ExecutorDefinition]] = {
    "multiprocess": _multiprocess,
    "in_process": lambda settings: dg.in_process_executor,
    "celery": _celery,
}


def build_executor(settings: Settings) -> dg.ExecutorDefinition:
    name = settings.get("DAGSTER_EXECUTOR").strip().lower()
    if name not in EXECUTORS:
        raise ValueError(f"DAGSTER_EXECUTOR={name!r} is not one of {sorted(EXECUTORS)}")
    return EXECUTORS[name](settings)
