"""`platformctl`: operator commands around the Dagster code location (schema, demo, lookups)."""

from __future__ import annotations

import click

from platformctl.config import config
from platformctl.db import db
from platformctl.demo import demo
from platformctl.embed import embed
from platformctl.similar import similar
from platformctl.tags import tags
from platformctl.workers import workers


@click.group(help="Operator commands for the asset platform. Configuration comes from the environment (see README).")
def cli() -> None:
    pass


cli.add_command(config)
cli.add_command(db)
cli.add_command(demo)
cli.add_command(embed)
cli.add_command(similar)
cli.add_command(tags)
cli.add_command(workers)

if __name__ == "__main__":
    cli()
