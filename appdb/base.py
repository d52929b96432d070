"""The shared SQLAlchemy `metadata` and column types every table module builds on.

Table modules (appdb's and each domain's `assets/<domain>/tables.py`) import from here and never from
each other's modules for these names, so no table module imports another to register itself;
`appdb/schema.py` lists them all.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Integer, MetaData, Numeric, String, Table, func

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(18, 4, asdecimal=True)
Rate = Numeric(24, 10, asdecimal=True)
Timestamp = DateTime(timezone=True)

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
