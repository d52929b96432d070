"""Shared fixtures: databases on SQLite and PostgreSQL, a local HTTP server, a Dagster test instance.

PostgreSQL tests run against TEST_POSTGRES_URL (default: the local server, user postgres). When it is
unreachable they are skipped with the reason, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import uuid

import dagster as dg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from appdb.engine import build_engine
from appdb.schema import init_schema
from tests.support.http import LocalHTTPServer

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_server_url():
    """A database of its own for this test session on the PostgreSQL server; dropped at the end."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server decides skip or fail
        message = f"PostgreSQL unreachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc.__class__.__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message + " (PostgreSQL tests are required in CI)")
        pytest.skip(message)
    name = f"platform_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_server_url):
    """The session's PostgreSQL database, emptied and given a fresh schema for this test."""
    engine = create_engine(pg_server_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    init_schema(build_engine(pg_server_url))
    return pg_server_url


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    init_schema(build_engine(url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """The same test on SQLite and on PostgreSQL, each with a fresh schema."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def engine(db_url):
    engine = build_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def http_server():
    with LocalHTTPServer() as server:
        yield server


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance
