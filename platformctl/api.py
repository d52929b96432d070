"""`platformctl api`: serve the operations API, make API keys."""

from __future__ import annotations

import json

import click

from orchestration.settings import Settings


@click.group("api", help="The operations API: the seeds' task endpoints, API keys, /metrics (README: Operations API).")
def api() -> None:
    pass


@api.command("serve", help="Serve the API (OpenAPI docs at /docs); Dagster is reached at DAGSTER_GRAPHQL_URL.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8701, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    import logging

    import uvicorn

    from opsapi.app import create_app
    from opsapi.config import ApiConfig
    from opsapi.keys import KeyFileError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        app = create_app(ApiConfig.from_settings(Settings()))
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level="info")


@api.command("keygen", help="Make a key: prints it once and its key-file entry (only the sha256 is stored).")
@click.argument("name")
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read, trigger, revoke.")
@click.option("--add", is_flag=True, help="Also append the entry to OPS_API_KEYS_FILE (created 0600 when missing).")
def keygen(name: str, scopes: str, add: bool) -> None:
    from opsapi.keys import KeyFileError, add_entry, new_key

    try:
        key, entry = new_key(name, [s.strip() for s in scopes.split(",") if s.strip()])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scopes") from None
    click.echo(f"key (shown once, keep it secret): {key}")
    click.echo(f"entry: {json.dumps(entry)}")
    if add:
        path = Settings().get("OPS_API_KEYS_FILE")
        try:
            add_entry(path, entry)
        except KeyFileError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"added to {path}")
