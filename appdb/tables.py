"""The applications' tables (the data-model contract in DESIGN.md) and the platform's own bookkeeping.

SQLAlchemy Core on purpose: the platform does set-based work in SQL, never row-by-row through an ORM.
Every table works on SQLite (embedded default) and PostgreSQL (production).
"""

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from appdb.base import Id, Money, Rate, Timestamp, metadata

currency_rate = Table(
    "currency_rate",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("currency", String(3), nullable=False),
    Column("base_currency", String(3), nullable=False),
    # How many units of base_currency one unit of currency is worth.
    Column("rate", Rate, nullable=False),
    Column("rate_date", Date, nullable=False),
    Column("partition_key", String(32), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("fetched_at", Timestamp, nullable=False),
    UniqueConstraint("partition_key", "currency"),
    CheckConstraint("rate > 0", name="rate_positive"),
)

category = Table(
    "category",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("parent_id", Id, ForeignKey("category.id", ondelete="SET NULL")),
    Column("updated_at", Timestamp, nullable=False),
)

product = Table(
    "product",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("title", String(500), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("brand", String(255)),
    Column("category_id", Id, ForeignKey("category.id", ondelete="SET NULL")),
    Column("source", String(16), nullable=False, server_default="api"),
    Column("source_price", Money),
    Column("source_currency", String(3)),
    Column("price", Money),
    Column("price_currency", String(3)),
    Column("image_key", String(1024)),
    Column("is_available", Boolean, nullable=False, server_default="1"),
    Column("merged_into_id", Id, ForeignKey("product.id", ondelete="SET NULL")),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("source IN ('api', 'scraped')", name="source_known"),
    Index(None, "source_currency"),
    Index(None, "merged_into_id"),
)

scraping_session = Table(
    "scraping_session",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scraper", String(100), nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    Column("status", String(16), nullable=False),
    Index(None, "started_at"),
)

scraped_product_log = Table(
    "scraped_product_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("scraping_session.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", Id, ForeignKey("product.id", ondelete="SET NULL")),
    Column("created_at", Timestamp, nullable=False),
    Column("message", Text),
    Index(None, "session_id"),
)

ai_processing_log = Table(
    "ai_processing_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("product_id", Id, ForeignKey("product.id", ondelete="SET NULL")),
    Column("task", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    CheckConstraint(
        "status IN ('pending', 'running', 'completed', 'approved', 'failed')", name="status_known"
    ),
    Index(None, "status", "created_at"),
)

post = Table(
    "post",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(255), nullable=False),
    Column("text", Text, nullable=False),
    Column("posted_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp),
    Index(None, "posted_at"),
)

post_enrichment = Table(
    "post_enrichment",
    metadata,
    Column("post_id", Id, ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    CheckConstraint("kind IN ('tags', 'crawl', 'vision', 'ocr')", name="kind_known"),
)
