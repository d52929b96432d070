"""`platformctl`: operator commands around the Dagster code location (schema, demo, lookups)."""

from __future__ import annotations

import click

from platformctl.api import api  # issue 17: the operations API
from platformctl.assistant import assistant  # seed 002 (issue 13)
from platformctl.config import config
from platformctl.db import db
from platformctl.demo import demo
from platformctl.deploy_env import deploy_env  # issue 11: compose/run-launcher env from the registry
from platformctl.embed import embed
from platformctl.rag_users import rag_users  # issue 15
from platformctl.rag import rag  # seed 004 RAG core (issue 14: search, status; issue 15 adds its commands)
from platformctl.similar import similar
from platformctl.tags import tags
from platformctl.workers import workers


@click.group(help="Operator commands for the asset platform. Configuration comes from the environment (see README).")
def cli() -> None:
    pass


cli.add_command(api)  # issue 17
cli.add_command(assistant)  # seed 002 (issue 13)
cli.add_command(config)
cli.add_command(db)
cli.add_command(demo)
cli.add_command(deploy_env)
cli.add_command(embed)
cli.add_command(rag_users)  # issue 15
cli.add_command(rag)
cli.add_command(similar)
cli.add_command(tags)
cli.add_command(workers)

if __name__ == "__main__":
    cli()
