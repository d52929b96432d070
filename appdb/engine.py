"""One way to build an engine for the application database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Name the PostgreSQL driver explicitly: SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the UI, sensors and runs read while one writer writes; the timeout waits out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def build_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5, echo: bool = False) -> Engine:
    """A new engine. SQLite files get their folder created; PostgreSQL gets a bounded, pre-pinged pool."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": 10, "application_name": "asset-platform"},
    )


def shared_engine(url: str, **kwargs) -> Engine:
    """The process-wide engine for a URL, created on first use (never at import)."""
    key = (normalize_url(url), tuple(sorted(kwargs.items())))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = build_engine(url, **kwargs)
        return engine


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
