"""`platformctl assistant search "<question>"`: what the configurator shop's assistant would answer from."""

from __future__ import annotations

import json

import click


@click.group(help="The configurator shop's AI-assistant knowledge index (seed 002).")
def assistant() -> None:
    pass


@assistant.command("search", help="Print the knowledge documents that best answer QUESTION, with their scores.")
@click.argument("question")
@click.option("--limit", type=click.IntRange(1, 100), default=5, show_default=True, help="How many documents.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {entity_type, entity_id, title, score}.")
def search(question: str, limit: int, as_json: bool) -> None:
    from assets.assistant.index import live_collection
    from assets.assistant.search import search as run_search
    from orchestration.settings import Settings
    from platformctl.resources import platform_resources

    alias = Settings().get("ASSISTANT_COLLECTION")
    vectors, embedder = platform_resources("vectors", "text_embedder")
    with vectors.client() as client:
        if live_collection(client, alias) is None:
            raise click.ClickException(
                f"the knowledge index {alias!r} is not built yet in {vectors.location}: "
                "run assistant_rebuild_job (or `platformctl demo run`)"
            )
        hits = run_search(client, alias, embedder, question, limit)
    if as_json:
        click.echo(json.dumps(
            [{"entity_type": h.entity_type, "entity_id": h.entity_id, "title": h.title, "score": round(h.score, 4)} for h in hits],
            ensure_ascii=False,
        ))
        return
    click.echo(f"{question!r}: {len(hits)} documents from {alias!r}")
    for rank, hit in enumerate(hits, 1):
        click.echo(f"  {rank:2d}. {hit.score:.4f}  {hit.entity_type}:{hit.entity_id}  {hit.title}")
