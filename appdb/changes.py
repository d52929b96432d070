"""Change capture: every insert, update and delete of a product leaves a row in `product_change`.

Database triggers write the rows (appdb/sql/product_change.<dialect>.sql), so every writer is seen:
the applications, the platform's own runs, a DBA's manual UPDATE, a cascade from a deleted category.
`product_changes_sensor` reads the rows in `seq` order and prunes those it has consumed.
"""

from pathlib import Path

from sqlalchemy import BigInteger, CheckConstraint, Column, Engine, Index, String, Table, func

from appdb.tables import Id, Timestamp, metadata

SQL_DIR = Path(__file__).resolve().parent / "sql"
TRIGGER_SCRIPTS = {
    "postgresql": SQL_DIR / "product_change.postgresql.sql",
    "sqlite": SQL_DIR / "product_change.sqlite.sql",
}

product_change = Table(
    "product_change",
    metadata,
    # Monotonic (AUTOINCREMENT on SQLite: a pruned table never hands out a used seq again).
    Column("seq", Id, primary_key=True, autoincrement=True),
    # No foreign key: the row of a deleted product outlives it.
    Column("product_id", Id, nullable=False),
    Column("op", String(1), nullable=False),  # I, U or D
    Column("changed_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
    # The writing transaction (PostgreSQL's pg_current_xact_id); NULL on SQLite (one writer at a time).
    Column("txid", BigInteger),
    CheckConstraint("op IN ('I', 'U', 'D')", name="op_known"),
    Index(None, "txid", "seq").ddl_if(dialect="postgresql"),
    sqlite_autoincrement=True,
)


def install_triggers(engine: Engine) -> None:
    """(Re)create the capture triggers; idempotent. The table must exist (init_schema creates it first)."""
    run_script(engine, TRIGGER_SCRIPTS[engine.dialect.name].read_text())


def run_script(engine: Engine, script: str) -> None:
    """Run a multi-statement SQL script in one transaction (trigger definitions)."""
    if engine.dialect.name == "sqlite":
        # sqlite3 runs one statement per execute(); executescript runs the file, in one transaction.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.executescript(f"BEGIN;\n{script}\nCOMMIT;")
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        conn.exec_driver_sql(script)
