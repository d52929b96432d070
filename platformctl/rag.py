"""`platformctl rag ...`: seed 004's RAG core from the command line. Document index (issue 14):
`search` (the chunks a question retrieves) and `status` (cursor, lag, counts)."""

from __future__ import annotations

import json

import click

from platformctl.resources import platform_resources

LAG_PAGES = 20  # `status` counts unsynced items up to this many pages, then says "at least"


@click.group(help="Seed 004's RAG core: the document index synced from the ingest system.")
def rag() -> None:
    pass


@rag.command("search", help="The chunks of rag_chunks nearest to QUERY (Persian or any language the text model reads).")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 100), default=5, show_default=True, help="How many chunks.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of {score, document_id, chunk_id, text, metadata}.")
def search_command(query: str, limit: int, as_json: bool) -> None:
    from assets.rag.index.search import NoIndexError, search

    vectors, embedder, rag_index = platform_resources("vectors", "text_embedder", "rag_index")
    try:
        with vectors.client() as client:
            hits = search(client, rag_index.collection, embedder, query, limit)
    except NoIndexError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps([hit.__dict__ for hit in hits], ensure_ascii=False, indent=1))
        return
    click.echo(f"{len(hits)} chunks of {rag_index.collection!r} for {query!r} (model {embedder.model_name}):")
    for rank, hit in enumerate(hits, 1):
        title = hit.metadata.get("title") or ""
        click.echo(f"  {rank:2d}. {hit.score:.4f}  {hit.document_id} / {hit.chunk_id}  {title}")
        click.echo(f"      {hit.text[:160]}")


@rag.command("status", help="Where the sync stands: cursor, items not synced yet, points, rejections, deletes.")
def status_command() -> None:
    from sqlalchemy import func, select

    from assets.rag.index.collection import alias_target
    from assets.rag.index.store import cursor_row, rejected_counts
    from assets.rag.index.tables import rag_tombstone
    from resources.ingest import IngestError

    database, ingest, vectors, rag_index = platform_resources("rag_database", "ingest", "vectors", "rag_index")
    alias = rag_index.collection
    row = cursor_row(database.engine, alias)
    cursor = row.cursor if row else ""
    source = ingest.source()
    click.echo(f"ingest:     {source.location}")
    if row:
        click.echo(f"cursor:     {cursor or '(beginning)'!r}, moved {row.updated_at:%Y-%m-%d %H:%M:%S} by run "
                   f"{(row.last_run_id or '?')[:8]} ({row.pages_read} pages, {row.items_read} items read so far)")
    else:
        click.echo("cursor:     none yet (the first sync starts at the beginning of the feed)")
    try:
        pending, since, exact = 0, cursor, False
        for _ in range(LAG_PAGES):
            page = source.page(since, ingest.batch)
            pending += len(page.items)
            if not page.has_more or page.next_cursor == since:
                exact = True
                break
            since = page.next_cursor
        click.echo(f"lag:        {'' if exact else 'at least '}{pending} items not synced yet")
    except IngestError as exc:
        click.echo(f"lag:        unknown ({exc})")
    with vectors.client() as client:
        target = alias_target(client, alias)
        points = client.count(alias, exact=True).count if target else 0
    click.echo(f"collection: {alias!r} -> {target or 'not created yet'}, {points} points")
    rejected = rejected_counts(database.engine, alias)
    click.echo(f"rejected:   {sum(rejected.values())} items" + (": " + ", ".join(f"{r} {n}" for r, n in sorted(rejected.items())) if rejected else ""))
    with database.connect() as conn:
        stones = dict(conn.execute(select(rag_tombstone.c.chunk_id == "", func.count()).group_by(rag_tombstone.c.chunk_id == "")).all())
    click.echo(f"deletes:    {stones.get(True, 0)} documents, {stones.get(False, 0)} chunks recorded")
