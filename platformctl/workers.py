"""`platformctl workers`: are Celery step workers listening on the broker the runs use?

Run it before launching runs with DAGSTER_EXECUTOR=celery and after scaling workers: a run whose
queue has no worker would otherwise wait forever. Celery runs make the same check when they start.
"""

from __future__ import annotations

import click

from orchestration.settings import Settings


@click.command("workers", help="List the Celery step workers on CELERY_BROKER_URL; exit 1 when a queue has none.")
@click.option("--queue", "queues", multiple=True, default=("dagster",), show_default=True, help="Queue that needs a worker (repeatable).")
@click.option("--wait", type=float, default=None, help="Seconds to wait for replies (default: CELERY_WORKER_WAIT_SECONDS).")
def workers(queues: tuple[str, ...], wait: float | None) -> None:
    from orchestration.celery_workers import NoCeleryWorkerError, redact, require_workers

    settings = Settings()
    broker = settings.get("CELERY_BROKER_URL")
    wait = settings.get_float("CELERY_WORKER_WAIT_SECONDS") if wait is None else wait
    try:
        check = require_workers(broker, settings.get("CELERY_BACKEND_URL"), list(queues), wait, all_workers=True)
    except NoCeleryWorkerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"broker {redact(broker)}: {len(check.workers)} worker(s) answered in {check.seconds} s")
    for name, worker_queues in sorted(check.workers.items()):
        click.echo(f"  {name}  queues: {', '.join(worker_queues)}")
