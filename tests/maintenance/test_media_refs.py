"""The media-reference registry: streamed loading into one set, and the re-check before deletion."""

from datetime import datetime, timezone

from sqlalchemy import insert, select

from appdb.tables import category, product
from assets.maintenance.media_refs import MEDIA_REFERENCES, load_references, referenced_among

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def test_loads_every_reference_in_batches_and_rechecks(engine):
    with engine.begin() as conn:
        conn.execute(
            insert(product),
            [{"title": f"p{i}", "image_key": f"products/{i}.jpg", "updated_at": NOW} for i in range(2500)]
            + [{"title": "no image", "image_key": None, "updated_at": NOW}, {"title": "empty", "image_key": "", "updated_at": NOW}],
        )
        conn.execute(insert(category).values(name="banners/top.png", updated_at=NOW))
    # A second table joins the registry with one more SELECT.
    sources = MEDIA_REFERENCES + (select(category.c.name),)
    with engine.connect() as conn:
        keys = load_references(conn, sources, batch=700)
        again = referenced_among(conn, ["products/5.jpg", "banners/top.png", "gone.jpg", "products/2499.jpg"], sources)
    assert len(keys) == 2501
    assert "products/0.jpg" in keys and "banners/top.png" in keys and "" not in keys
    assert again == {"products/5.jpg", "banners/top.png", "products/2499.jpg"}
