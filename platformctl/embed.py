"""`platformctl embed serve`: keep TEXT_MODEL loaded for every run (see platformctl/embed_server.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import click

from orchestration.settings import Settings

DEFAULT_PORT = 8700


@click.group(help="The text-embeddings server that runs use when TEXT_EMBED_URL is set.")
def embed() -> None:
    pass


@embed.command("serve", help=(
    "Load TEXT_MODEL (on EMBED_DEVICE) and serve it over the OpenAI embeddings API until stopped. "
    "Listens where TEXT_EMBED_URL points (default 127.0.0.1:8700) unless --host/--port say otherwise."
))
@click.option("--host", default=None, help="Address to listen on (default: TEXT_EMBED_URL's host, else 127.0.0.1).")
@click.option("--port", type=int, default=None, help=f"Port (default: TEXT_EMBED_URL's port, else {DEFAULT_PORT}).")
def serve(host: str | None, port: int | None) -> None:
    import uvicorn

    from platformctl.embed_server import build_app
    from resources.embedders import ModelLoadError, TextEmbedderResource

    settings = Settings()
    where = urlsplit(settings.get("TEXT_EMBED_URL"))
    host = host or where.hostname or "127.0.0.1"
    port = port or where.port or DEFAULT_PORT
    embedder = TextEmbedderResource(model=settings.get("TEXT_MODEL"), device=settings.get("EMBED_DEVICE"))
    click.echo(f"loading {embedder.model_name} on {settings.get('EMBED_DEVICE')} ...")
    try:
        app = build_app(embedder, api_key=settings.get("TEXT_EMBED_API_KEY"))
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"serving {embedder.model_name} ({embedder.resolved_device}, {embedder.dimension} dims) "
               f"on http://{host}:{port}/v1/embeddings")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10)
