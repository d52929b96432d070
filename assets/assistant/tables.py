"""Seed 002's configurator catalog (the shop's tables, DESIGN.md "Seed 002") and the assistant's own
bookkeeping: the rendered documents with their content hashes, and the change log its sensor reads.

All live in the database of ASSISTANT_DATABASE_URL (appdb/schema.py lists this module). The rule
tables have no foreign keys to `part_option` on purpose: the shop's data may hold a rule whose option
is gone, and the documents then state what they can and list the problem (README "Bad input").
"""

from pathlib import Path

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Engine, ForeignKey, Index, String, Table, Text, func,
)

from appdb.base import Id, Money, Timestamp, change_log_table, metadata
from appdb.engine import run_script

SQL_DIR = Path(__file__).resolve().parent / "sql"

configurator_category = Table(
    "configurator_category",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(255), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("updated_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
)

part_option = Table(
    "part_option",
    metadata,
    Column("id", Id, primary_key=True),
    Column("category_id", Id, index=True),
    Column("name", String(255), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("price", Money, nullable=False, server_default="0"),
    Column("in_stock", Boolean, nullable=False, server_default="1"),
    Column("updated_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
)

preconfigured_product = Table(
    "preconfigured_product",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(255), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("base_price", Money, nullable=False, server_default="0"),
    Column("is_active", Boolean, nullable=False, server_default="1"),
    Column("updated_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
)

preconfigured_product_option = Table(
    "preconfigured_product_option",
    metadata,
    Column("product_id", Id, ForeignKey("preconfigured_product.id", ondelete="CASCADE"), primary_key=True),
    Column("option_id", Id, primary_key=True),
    Index(None, "option_id"),
)

incompatibility_rule = Table(
    "incompatibility_rule",
    metadata,
    Column("id", Id, primary_key=True),
    Column("option_id", Id, nullable=False, index=True),
    Column("incompatible_option_id", Id, nullable=False, index=True),
    Column("reason", Text, nullable=False, server_default=""),
    Column("updated_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
)

price_adjustment_rule = Table(
    "price_adjustment_rule",
    metadata,
    Column("id", Id, primary_key=True),
    Column("option_id", Id, nullable=False, index=True),
    Column("depends_on_option_id", Id, nullable=False, index=True),
    Column("price_delta", Money, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("updated_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
)

# The `assistant_documents` asset: one rendered document per entity ("option:12"), the hash of its
# normalized text, the problems found while rendering it, and `indexed_hash`, the hash the live Qdrant
# collection holds (NULL: not indexed yet). A deleted or deactivated entity's row stays with
# active = false until the index has removed its points (a tombstone).
assistant_document = Table(
    "assistant_document",
    metadata,
    Column("doc_key", String(64), primary_key=True),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", BigInteger, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("content_hash", String(64)),
    Column("problems", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("indexed_hash", String(64)),
    Column("rendered_at", Timestamp, nullable=False),
    Index(None, "active", "indexed_hash"),
)

# Change capture for assistant_changes_sensor, like product_change (sensors/README.md): triggers
# (sql/assistant_change.<dialect>.sql) log each changed entity and the entities its old row pointed
# at (an option's old category, a rule's old options), whose documents stated it.
assistant_change = change_log_table(
    "assistant_change",
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", BigInteger, nullable=False),
)

CHANGE_SCRIPTS = {
    "postgresql": SQL_DIR / "assistant_change.postgresql.sql",
    "sqlite": SQL_DIR / "assistant_change.sqlite.sql",
}


def install_triggers(engine: Engine) -> None:
    """(Re)create the catalog's capture triggers; idempotent. The tables must exist."""
    run_script(engine, CHANGE_SCRIPTS[engine.dialect.name].read_text())
