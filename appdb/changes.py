"""Change capture: every insert, update and delete of a product leaves a row in `product_change`.

Database triggers write the rows (appdb/sql/product_change.<dialect>.sql), so every writer is seen:
the applications, the platform's own runs, a DBA's manual UPDATE, a cascade from a deleted category.
`product_changes_sensor` reads the rows in `seq` order and prunes those it has consumed.
"""

from pathlib import Path

from sqlalchemy import Column, Engine

from appdb.base import Id, change_log_table
from appdb.engine import run_script

SQL_DIR = Path(__file__).resolve().parent / "sql"
TRIGGER_SCRIPTS = {
    "postgresql": SQL_DIR / "product_change.postgresql.sql",
    "sqlite": SQL_DIR / "product_change.sqlite.sql",
}

product_change = change_log_table(
    "product_change",
    Column("product_id", Id, nullable=False),
)


def install_triggers(engine: Engine) -> None:
    """(Re)create the capture triggers; idempotent. The table must exist (init_schema creates it first)."""
    run_script(engine, TRIGGER_SCRIPTS[engine.dialect.name].read_text())
