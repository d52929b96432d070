"""What a product's vectors are built from: its text, its payload and their content hashes.

Everything here is deterministic: the same row always gives the same text, payload and hashes, so
an unchanged product is recognized by comparing hashes, without touching a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import aliased

from appdb.tables import category, product

# Why a product gets no point (the same words appear in metadata and in the coverage check).
UNAVAILABLE = "unavailable"
MERGED = "merged"
NO_TEXT = "no_text"
DELETED = "deleted"


@dataclass(frozen=True)
class CatalogProduct:
    id: int
    title: str
    description: str
    brand: str | None
    category: str | None  # "Parent / Child"
    category_id: int | None
    source: str
    price: Decimal | None
    price_currency: str | None
    image_key: str | None
    is_available: bool
    merged_into_id: int | None

    @property
    def text(self) -> str:
        return product_text(self)

    def exclusion_unless(self, pinned: "set[int] | frozenset[int]") -> str | None:
        """`exclusion`, except that a product indexed on request (`pinned`) keeps its point while unavailable."""
        return self._exclusion(ignore_availability=self.id in pinned)

    @property
    def exclusion(self) -> str | None:
        """Why this product must have no point (None: it must have one)."""
        return self._exclusion(ignore_availability=False)

    def _exclusion(self, ignore_availability: bool) -> str | None:
        if not self.is_available and not ignore_availability:
            return UNAVAILABLE
        if self.merged_into_id is not None:
            return MERGED
        if not self.text:
            return NO_TEXT
        return None


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def product_text(p: CatalogProduct) -> str:
    """Title, brand, category and description, whitespace-normalized, one per line; "" when all are empty.

    Brand and category alone do not describe a product: without a title or description there is no text.
    """
    title, description = _clean(p.title), _clean(p.description)
    if not title and not description:
        return ""
    parts = [title, _clean(p.brand), _clean(p.category), description]
    return "\n".join(part for part in parts if part)


def sha(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str) -> str:
    return sha(text)


def product_payload(p: CatalogProduct) -> dict:
    """The filterable facts stored with the point (hashes are added by the writer)."""
    return {
        "product_id": p.id,
        "category_id": p.category_id,
        "category": p.category,
        "brand": p.brand,
        "price": float(p.price) if p.price is not None else None,
        "currency": p.price_currency,
        "source": p.source,
        "is_available": bool(p.is_available),
    }


def payload_hash(payload: dict) -> str:
    return sha(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str))


def shard_products_query(shards: int, shard: int, product_ids: Iterable[int] | None = None) -> Select:
    """Every product of one shard (id % shards == shard), with its category path, in id order."""
    parent = aliased(category)
    category_path = category.c.name
    query = (
        select(
            product.c.id,
            product.c.title,
            product.c.description,
            product.c.brand,
            product.c.category_id,
            parent.c.name.label("parent_category"),
            category_path.label("category"),
            product.c.source,
            product.c.price,
            product.c.price_currency,
            product.c.image_key,
            product.c.is_available,
            product.c.merged_into_id,
        )
        .select_from(
            product.outerjoin(category, category.c.id == product.c.category_id).outerjoin(
                parent, parent.c.id == category.c.parent_id
            )
        )
        .where(product.c.id % shards == shard)
        .order_by(product.c.id)
    )
    if product_ids is not None:
        query = query.where(product.c.id.in_(list(product_ids)))
    return query


def _row_to_product(row) -> CatalogProduct:
    path = " / ".join(part for part in (row.parent_category, row.category) if part) or None
    return CatalogProduct(
        id=int(row.id),
        title=row.title or "",
        description=row.description or "",
        brand=row.brand,
        category=path,
        category_id=row.category_id,
        source=row.source,
        price=row.price,
        price_currency=row.price_currency,
        image_key=row.image_key or None,
        is_available=bool(row.is_available),
        merged_into_id=row.merged_into_id,
    )


def iter_shard_products(
    engine: Engine, shards: int, shard: int, product_ids: Iterable[int] | None = None, page: int = 1000
) -> Iterator[list[CatalogProduct]]:
    """The shard's products in pages of `page` rows (keyset pagination on id: short queries, no cursor
    held open while the caller writes, bounded memory)."""
    ids = sorted(set(product_ids)) if product_ids is not None else None
    after = None
    while True:
        query = shard_products_query(shards, shard, ids).limit(page)
        if after is not None:
            query = query.where(product.c.id > after)
        with engine.connect() as conn:
            rows = [_row_to_product(row) for row in conn.execute(query)]
        if not rows:
            return
        yield rows
        after = rows[-1].id
