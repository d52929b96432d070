"""`platformctl similar <product_id>`: the nearest available products, as the shop's recommender sees them."""

from __future__ import annotations

import click


@click.command(help="Print the nearest available products to PRODUCT_ID (from the product_vectors collection).")
@click.argument("product_id", type=int)
@click.option("--by", type=click.Choice(["text", "image", "both"]), default="both", show_default=True,
              help="Which vector to compare; both = text and image fused by reciprocal rank.")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="How many products.")
def similar(product_id: int, by: str, limit: int) -> None:
    from sqlalchemy import select

    from appdb.tables import product
    from assets.recsys.similar import NoVectorError, find_similar
    from platformctl.resources import platform_resources

    vectors, database, recsys = platform_resources("vectors", "database", "recsys")
    try:
        with vectors.client() as client:
            result = find_similar(client, recsys.collection, product_id, by=by, limit=limit)
    except NoVectorError as exc:
        raise click.ClickException(str(exc)) from None
    ids = [n.product_id for n in result.neighbors] + [product_id]
    with database.connect() as conn:
        titles = dict(conn.execute(select(product.c.id, product.c.title).where(product.c.id.in_(ids))).all())
    click.echo(f"nearest to product {product_id} ({titles.get(product_id, '?')!r}) by {result.by}:")
    for note in result.notes:
        click.echo(f"  note: {note}")
    for rank, n in enumerate(result.neighbors, 1):
        price = n.payload.get("price")
        price_text = f"{price:.2f} {n.payload.get('currency') or ''}".strip() if price is not None else "no price"
        click.echo(f"  {rank:2d}. {n.product_id:>6}  {n.score:.4f}  {titles.get(n.product_id, '?')}  [{price_text}]")
    if not result.neighbors:
        click.echo("  (no other available product has a vector)")
