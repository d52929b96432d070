"""`platformctl db ...`: schema management for the application database."""

from __future__ import annotations

import click

from appdb.engine import build_engine
from appdb.schema import init_schema
from orchestration.settings import Settings


@click.group(help="Application database.")
def db() -> None:
    pass


@db.command("init", help="Create missing tables (idempotent: safe to run twice, and on an existing database).")
def init() -> None:
    settings = Settings()
    engine = build_engine(settings.get("DATABASE_URL"))
    created = init_schema(engine)
    where = engine.url.render_as_string(hide_password=True)
    click.echo(f"schema ready on {where}: {len(created)} table(s) created" + (f" ({', '.join(created)})" if created else ""))
