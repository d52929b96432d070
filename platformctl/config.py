"""`platformctl config`: every environment variable the platform reads, its default and current value."""

from __future__ import annotations

import click

from orchestration.settings import VARIABLES, Settings


@click.command("config", help="Show every environment variable, its default and its effective value (secrets masked).")
@click.option("--markdown", is_flag=True, help="Print the README's configuration table instead.")
def config(markdown: bool) -> None:
    settings = Settings()
    if markdown:
        click.echo("| variable | default | meaning |\n|---|---|---|")
        for var in VARIABLES:
            default = f"`{var.default}`" if var.default else "(unset)"
            click.echo(f"| `{var.name}` | {default} | {var.help}{' Secret: set it in the environment only.' if var.secret else ''} |")
        return
    for var in VARIABLES:
        value = settings.get(var.name)
        shown = "***" if var.secret and settings.is_set(var.name) else (value or "(unset)")
        origin = "env" if settings.is_set(var.name) else "default"
        click.echo(f"{var.name:28} {shown}  [{origin}]")
