"""The shared SQLAlchemy `metadata` and column types every table module builds on.

Table modules (appdb's and each domain's `assets/<domain>/tables.py`) import from here and never from
each other's modules for these names, so no table module imports another to register itself;
`appdb/schema.py` lists them all.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Integer, MetaData, Numeric, String, Table, func
from sqlalchemy.dialects import sqlite

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(18, 4, asdecimal=True)
Rate = Numeric(24, 10, asdecimal=True)


class _SqliteTimestamp(sqlite.DATETIME):
    """SQLite keeps timestamps as text and compares them as text. CURRENT_TIMESTAMP (every server default)
    writes "2026-12-04 10:00:00"; SQLAlchemy writes "2026-12-04 10:00:00.000000", which sorts after it, so
    a row stamped by the server exactly on the hour fell before a bound of that hour (into the previous
    hour's window). A whole second is written, and compared, without the fraction: text order is time
    order again."""

    def bind_processor(self, dialect):
        process = super().bind_processor(dialect)

        def bind(value):
            text = process(value)
            if isinstance(value, datetime) and value.microsecond == 0:
                return text[:19]  # "YYYY-MM-DD HH:MM:SS"
            return text

        return bind


Timestamp = DateTime(timezone=True).with_variant(_SqliteTimestamp(timezone=True), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def change_log_table(name: str, *key_columns: Column) -> Table:
    """A change-capture log read by `sensors.change_log.ChangeLogSource`: `seq` (monotonic;
    AUTOINCREMENT on SQLite, so a pruned table never hands out a used seq again), the changed entity's
    `key_columns` (no foreign keys: a deleted row's change outlives it), `op` I/U/D, `changed_at`, and
    `txid`, the writing transaction (PostgreSQL's pg_current_xact_id; NULL on SQLite, one writer at a time)."""
    return Table(
        name,
        metadata,
        Column("seq", Id, primary_key=True, autoincrement=True),
        *key_columns,
        Column("op", String(1), nullable=False),
        Column("changed_at", Timestamp, nullable=False, server_default=func.current_timestamp()),
        Column("txid", BigInteger),
        CheckConstraint("op IN ('I', 'U', 'D')", name="op_known"),
        Index(None, "txid", "seq").ddl_if(dialect="postgresql"),
        sqlite_autoincrement=True,
    )
