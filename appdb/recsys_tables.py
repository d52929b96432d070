"""The recommendation domain's bookkeeping: what each product's vectors were built from.

`product_vector_state` is written only after the Qdrant write it describes succeeded, so a crash
leaves at worst a vector newer than its row (re-verified and re-recorded by the next run), never a
row claiming a vector that was not written. `product_vector_shard` remembers, per shard, the local
Qdrant storage as it was when the shard was last verified, so unchanged storage is not re-scanned.
"""

from sqlalchemy import Column, Index, Integer, String, Table

from appdb.base import Id, Timestamp, metadata

product_vector_state = Table(
    "product_vector_state",
    metadata,
    # No foreign key: the row outlives a deleted product until the run removes its point.
    Column("product_id", Id, primary_key=True, autoincrement=False),
    Column("shard", Integer, nullable=False),
    Column("text_hash", String(64)),  # sha256 of the product text the `text` vector was built from
    Column("image_hash", String(64)),  # sha256 of the image bytes the `image` vector was built from; NULL = none
    Column("image_fingerprint", String(255)),  # media key, size and mtime when the image was last looked at
    Column("image_error", String(64)),  # why the current image gave no vector (missing, corrupt, ...), else NULL
    Column("payload_hash", String(64)),  # sha256 of the point payload (price, availability, ...)
    Column("text_model", String(255)),
    Column("image_model", String(255)),
    Column("updated_at", Timestamp, nullable=False),
    Index(None, "shard"),
)

product_vector_shard = Table(
    "product_vector_shard",
    metadata,
    Column("collection", String(255), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    # Local Qdrant storage (size, mtime) right after this shard was last verified and written;
    # NULL for a server (always verified: a filtered scroll there is cheap).
    Column("store_fingerprint", String(255)),
    Column("verified_at", Timestamp, nullable=False),
)

product_vector_cache = Table(
    "product_vector_cache",
    metadata,
    Column("collection", String(255), primary_key=True),
    # Set before the first Qdrant write of a run, cleared once the similar-products cache was
    # invalidated: a run that crashed in between leaves it set, and the next run invalidates.
    Column("dirty_since", Timestamp),
)

product_vector_pin = Table(
    "product_vector_pin",
    metadata,
    # Products indexed on request although unavailable (run config `product_ids`, the seed's --product-id,
    # which "bypasses is_available"): every later run keeps and updates their points, and the coverage
    # check expects them, while they stay unavailable. Written before the point; dropped once the
    # product is available again (normal rules), merged, without text or deleted.
    Column("product_id", Id, primary_key=True, autoincrement=False),
    Column("pinned_at", Timestamp, nullable=False),
)

product_vector_cache_owed = Table(
    "product_vector_cache_owed",
    metadata,
    # Products whose similar-products cache keys must still be deleted: written before the Qdrant write
    # that changes their point, deleted once their keys (and their cached neighbours' keys) are gone.
    Column("collection", String(255), primary_key=True),
    Column("product_id", Id, primary_key=True, autoincrement=False),
)
