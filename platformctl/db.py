"""`platformctl db ...`: schema management for the applications' databases."""

from __future__ import annotations

import click

from appdb.engine import build_engine
from appdb.schema import DATABASE_VARIABLES, init_schema
from orchestration.settings import Settings


@click.group(help="Application databases.")
def db() -> None:
    pass


@db.command("init", help="Create missing tables in every application database (idempotent: safe to run twice, and on an existing database).")
def init() -> None:
    settings = Settings()
    by_url: dict[str, list[str]] = {}
    for variable in DATABASE_VARIABLES:
        by_url.setdefault(settings.database_url(variable), []).append(variable)
    for url, variables in by_url.items():
        engine = build_engine(url)
        created = init_schema(engine, variables)
        where = engine.url.render_as_string(hide_password=True)
        click.echo(
            f"schema ready on {where} ({', '.join(variables)}): {len(created)} table(s) created"
            + (f" ({', '.join(created)})" if created else "")
        )
        engine.dispose()
