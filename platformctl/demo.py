"""`platformctl demo ...`: the offline demo on the embedded default.

`demo run` materializes everything the platform has, in the order of DEMO_STEPS, on the instance in
$DAGSTER_HOME (so `make dev` shows the history) and prints what each step did. A domain adds its
step here: a function (instance, defs) -> list of summary lines.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable

import click
import dagster as dg

from orchestration.settings import Settings

DemoStep = Callable[[dg.DagsterInstance, dg.Definitions], list[str]]


def _steps() -> list[tuple[str, DemoStep]]:
    from assets.assistant.demo import demo_assistant  # seed 002 (issue 13)
    from assets.commerce.demo import demo_commerce
    from assets.content.demo import demo_content  # seed 003 (issue 16)
    from assets.maintenance.demo import demo_maintenance
    from assets.posts.demo import demo_posts
    from assets.rag.users.demo import demo_rag_users  # issue 15
    from assets.rag.index.demo import demo_rag_index  # seed 004, issue 14
    from assets.recsys.demo import demo_recsys

    return [
        ("commerce: currency rates and repricing", demo_commerce),
        ("maintenance: every cleanup in dry-run", demo_maintenance),
        ("recsys: product vectors in every shard, coverage, similar products", demo_recsys),
        ("posts: tags, link enrichment (offline: the recorded reasons), vectors, graph", demo_posts),
        ("content: chat message topics, recommendations, popular topics, daily content", demo_content),  # seed 003
        ("rag users: query results to a local users server (faults on purpose), statistics, tiers", demo_rag_users),
        ("assistant: configurator catalog documents, knowledge index, two questions", demo_assistant),  # issue 13
        ("rag: Persian documents synced from the ingest system (file://), two questions", demo_rag_index),
    ]


@click.group(help="The offline demo on the embedded default.")
def demo() -> None:
    pass


@demo.command("seed", help="Fill the database and media storage with the deterministic demo data.")
@click.option("--products", default=400, show_default=True, help="Number of products.")
@click.option("--seed", "random_seed", default=7, show_default=True, help="Random seed.")
def seed(products: int, random_seed: int) -> None:
    from appdb.demo_seed import seed_demo

    settings = Settings()
    counts = seed_demo(settings, products=products, random_seed=random_seed)
    click.echo("demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


@demo.command("run", help="Materialize everything on the embedded default and print a summary.")
@click.option("--verbose", is_flag=True, help="Show Dagster's event log on the terminal too.")
def run(verbose: bool) -> None:
    from orchestration.definitions import build_definitions

    settings = Settings()
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    log_path = settings.data_dir / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"Dagster's event log of every run goes to {log_path} (and to the UI: `make dev`).")
    failures = 0
    with open(log_path, "w") as log_file:
        for title, step in _steps():
            started = time.perf_counter()
            click.echo(f"\n== {title}")
            # Dagster's console logger writes each event to stderr; the summary is what the terminal shows.
            quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stderr(log_file)
            try:
                with quiet:
                    lines = step(instance, defs)
            except Exception as exc:  # the demo reports every step, then fails at the end
                failures += 1
                lines = [f"FAILED: {exc.__class__.__name__}: {exc} (details in {log_path})"]
            for line in lines:
                click.echo(f"   {line}")
            click.echo(f"   ({time.perf_counter() - started:.1f} s)")
    if failures:
        raise click.ClickException(f"{failures} demo step(s) failed")
    click.echo("\nDone. `make dev` opens the UI on this instance with the run history above.")
