"""A small catalog with images (good, identical, corrupt, not an image, missing) and a harness that runs
the vector sync against a real database, local media folder and Qdrant local mode."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, delete, insert, select, update

from appdb.recsys_tables import product_vector_state
from appdb.tables import category, product
from assets.recsys.coverage import shard_coverage
from assets.recsys.images import MediaIndex
from assets.recsys.points import IMAGE, TEXT, product_point_id
from assets.recsys.vector_sync import SyncOptions, VectorSync
from resources.media import LocalMediaStore
from resources.vectors import VectorStoreResource, ensure_collection

TINY_CLIP = Path(__file__).resolve().parent / "tiny-clip-test.json"
SHARDS = 2
COLLECTION = "products_test"
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)

CATEGORIES = [
    {"id": 1, "name": "Clothing", "parent_id": None},
    {"id": 2, "name": "T-shirts", "parent_id": 1},
    {"id": 3, "name": "Tools", "parent_id": None},
    {"id": 4, "name": "Kitchen", "parent_id": None},
]


def jpeg(color: tuple[int, int, int], size: int = 48, shape: int = 0) -> bytes:
    image = Image.new("RGB", (size, size), color)
    if shape:
        image.paste((255 - color[0], 255 - color[1], 255 - color[2]), (shape, shape, size - shape, size - shape))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


PLACEHOLDER = jpeg((200, 200, 200), shape=10)

# id: (title, description, brand, category, image bytes or a special, extra columns)
PRODUCTS: dict[int, tuple] = {
    1: ("Red cotton t-shirt", "Soft cotton crew-neck tee, short sleeves", "Acme", 2, jpeg((200, 20, 20)), {}),
    2: ("Blue cotton t-shirt", "Classic short-sleeve cotton tee", "Acme", 2, jpeg((20, 20, 200)), {}),
    3: ("Cordless power drill 18V", "Drill driver with two batteries and charger", "Bosch", 3, jpeg((30, 120, 30), shape=5), {}),
    4: ("Claw hammer", "Steel hammer with fibreglass handle", "Stanley", 3, jpeg((90, 60, 30), shape=12), {}),
    5: ("Non-stick frying pan 28 cm", "Aluminium pan for all hobs", "Tefal", 4, PLACEHOLDER, {}),
    6: ("Stainless steel saucepan", "Saucepan with glass lid", "Tefal", 4, PLACEHOLDER, {}),  # identical bytes
    7: ("White cotton t-shirt", "Plain white tee", "Basic", 2, b"\xff\xd8\xff\xe0 truncated jpeg", {}),  # corrupt
    8: ("Green t-shirt", "Organic cotton tee", "Basic", 2, b"<html>not an image</html>", {}),  # not an image
    9: ("Black t-shirt", "Cotton tee", "Basic", 2, "missing", {}),  # image key without a file
    10: ("Wooden spoon", "Beech cooking spoon", None, 4, None, {}),  # no image at all
    11: ("", "", "NoName", 3, None, {}),  # no text: skipped
    12: ("Old drill", "Discontinued", "Bosch", 3, jpeg((10, 10, 10)), {"is_available": False}),
    13: ("Duplicate red t-shirt", "Same as 1", "Acme", 2, jpeg((201, 20, 20)), {"merged_into_id": 1}),
    14: ("Yellow cotton t-shirt", "Bright cotton tee", "Acme", 2, jpeg((220, 220, 30)), {}),
}
ELIGIBLE = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14}
WITH_IMAGE_VECTOR = {1, 2, 3, 4, 5, 6, 14}


def image_key(pid: int) -> str:
    return f"products/{pid}.jpg"


def seed_catalog(engine: Engine, store: LocalMediaStore, products: dict[int, tuple] = PRODUCTS) -> None:
    with engine.begin() as conn:
        conn.execute(insert(category), [{**c, "updated_at": NOW} for c in CATEGORIES])
        rows = []
        for pid, (title, description, brand, category_id, image, extra) in products.items():
            rows.append({
                "id": pid, "title": title, "description": description, "brand": brand, "category_id": category_id,
                "source": "api", "price": 100 + pid, "price_currency": "RUB", "is_available": True,
                "merged_into_id": None, "updated_at": NOW,
                "image_key": image_key(pid) if image is not None else None,
            })
            rows[-1].update({k: v for k, v in extra.items() if k != "merged_into_id"})
        conn.execute(insert(product), rows)
        for pid, (*_, extra) in products.items():
            if "merged_into_id" in extra:
                conn.execute(update(product).where(product.c.id == pid).values(merged_into_id=extra["merged_into_id"]))
    for pid, (*_, image, _extra) in products.items():
        if isinstance(image, bytes):
            store.write_bytes(image_key(pid), image)


class Harness:
    """One catalog, one media folder, one local Qdrant; runs the sync and looks at the results."""

    def __init__(self, engine: Engine, tmp_path: Path, text_embedder: Any, image_embedder: Any):
        self.engine = engine
        self.store = LocalMediaStore(tmp_path / "media")
        self.vectors = VectorStoreResource(path=str(tmp_path / "qdrant"), lock_wait_s=5)
        self.text_embedder = text_embedder
        self.image_embedder = image_embedder

    def sync(self, shards=range(SHARDS), text_embedder=None, vectors=None, **options):
        text_embedder = text_embedder or self.text_embedder

        def before_first_write(client) -> None:
            ensure_collection(client, COLLECTION, {TEXT: self.text_embedder.dimension, IMAGE: self.image_embedder.dimension})

        sync = VectorSync(
            self.engine, self.store, text_embedder, self.image_embedder, vectors or self.vectors, COLLECTION, SHARDS,
            SyncOptions(**options), before_first_write=before_first_write,
        )
        return sync.run(shards)

    def points(self, with_vectors: bool = True) -> dict[int, Any]:
        with self.vectors.client() as client:
            if not client.collection_exists(COLLECTION):
                return {}
            records, _ = client.scroll(COLLECTION, limit=10_000, with_payload=True, with_vectors=with_vectors)
        return {record.payload["product_id"]: record for record in records}

    def state(self) -> dict[int, dict]:
        with self.engine.connect() as conn:
            return {row.product_id: dict(row._mapping) for row in conn.execute(select(product_vector_state))}

    def coverage(self, shard: int):
        with self.vectors.client() as client:
            return shard_coverage(
                self.engine, client, COLLECTION, MediaIndex(self.store), SHARDS, shard,
                self.text_embedder.model_name, self.image_embedder.model_name,
            )

    def delete_point_behind_the_back(self, pid: int) -> None:
        from qdrant_client import models

        with self.vectors.client() as client:
            client.delete(COLLECTION, points_selector=models.PointIdsList(points=[product_point_id(pid)]))

    def set_product(self, pid: int, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(product).where(product.c.id == pid).values(**values))

    def delete_product(self, pid: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(product).where(product.c.id == pid))
