"""Helpers of the maintenance tests: fill a media store with raw keys, list what is left."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from resources.media_s3 import S3MediaStore


def put_many(store, keys, body: bytes = b"x", threads: int = 16) -> None:
    """Upload raw keys (hostile ones included) straight through the client or the file system."""
    if isinstance(store, S3MediaStore):
        client = store.client

        def put(key):
            client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=body)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, keys))
    else:
        for key in keys:
            put_file(Path(store.root), key, body=body)


def put_file(root: Path, key: str, age: timedelta = timedelta(days=10), body: bytes = b"x") -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    when = (datetime.now(timezone.utc) - age).timestamp()
    os.utime(path, (when, when))
    return path


def keys_of(store) -> set[str]:
    return {obj.key for obj in store.iter_objects()}


def refuse_deletes(engine, table: str, row_id: int, operation: str = "DELETE") -> None:
    """A trigger that makes the database refuse to delete (or update) one row: stands in for a lock
    timeout or a deadlock, a real error of the batch's statement."""
    name = f"refuse_{operation.lower()}_{table}"
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} WHEN old.id = {row_id} "
                "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            )
        else:
            keep = "old" if operation == "DELETE" else "new"
            conn.exec_driver_sql(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF old.id = {row_id} THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN {keep}; END $$"
            )
            conn.exec_driver_sql(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
