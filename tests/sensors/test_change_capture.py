"""The capture triggers on SQLite and PostgreSQL: every insert, update and delete is logged, a no-op
update is not, category renames reach their products, and the schema init stays idempotent."""

import re
import time

from sqlalchemy import select, text

from appdb.changes import TRIGGER_SCRIPTS, product_change
from appdb.schema import init_schema
from appdb.tables import product
from sensors.product_changes import ProductChangeSource


def log(engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        c = product_change.c
        return [tuple(r) for r in conn.execute(select(c.product_id, c.op).order_by(c.seq))]


def run(engine, *statements) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_inserts_updates_and_deletes_are_logged_in_order(engine):
    run(
        engine,
        "INSERT INTO product (id, title, updated_at) VALUES (1, 'a', CURRENT_TIMESTAMP), (2, 'b', CURRENT_TIMESTAMP)",
        "UPDATE product SET title = 'a2' WHERE id = 1",
        "UPDATE product SET price = 10 WHERE id = 2",
        "DELETE FROM product WHERE id = 1",
    )
    assert log(engine) == [(1, "I"), (2, "I"), (1, "U"), (2, "U"), (1, "D")]


def test_an_update_that_changes_nothing_is_not_a_change(engine):
    run(engine, "INSERT INTO product (id, title, updated_at) VALUES (1, 'a', '2026-01-01 00:00:00')")
    run(engine, "UPDATE product SET title = 'a' WHERE id = 1", "UPDATE product SET title = title")
    assert log(engine) == [(1, "I")]


def test_a_moved_id_is_an_update_of_the_new_and_a_delete_of_the_old(engine):
    run(engine, "INSERT INTO product (id, title, updated_at) VALUES (1, 'a', CURRENT_TIMESTAMP)")
    run(engine, "UPDATE product SET id = 9 WHERE id = 1")
    assert sorted(log(engine)[1:]) == [(1, "D"), (9, "U")]


def test_a_category_rename_changes_its_products_and_its_childrens_products(engine):
    run(
        engine,
        "INSERT INTO category (id, name, parent_id, updated_at) VALUES (1, 'PC', NULL, CURRENT_TIMESTAMP)",
        "INSERT INTO category (id, name, parent_id, updated_at) VALUES (2, 'GPU', 1, CURRENT_TIMESTAMP)",
        "INSERT INTO category (id, name, parent_id, updated_at) VALUES (3, 'Other', NULL, CURRENT_TIMESTAMP)",
        "INSERT INTO product (id, title, category_id, updated_at) VALUES (10, 'x', 1, CURRENT_TIMESTAMP),"
        " (20, 'y', 2, CURRENT_TIMESTAMP), (30, 'z', 3, CURRENT_TIMESTAMP)",
    )
    start = len(log(engine))
    run(engine, "UPDATE category SET name = 'Computers' WHERE id = 1")
    assert sorted(log(engine)[start:]) == [(10, "U"), (20, "U")]  # "Computers / GPU" is product 20's path
    start = len(log(engine))
    run(engine, "UPDATE category SET updated_at = CURRENT_TIMESTAMP WHERE id = 1")  # not part of any text
    run(engine, "UPDATE category SET parent_id = 3 WHERE id = 2")  # product 20's path changes, not 10's
    assert log(engine)[start:] == [(20, "U")]
    start = len(log(engine))
    run(engine, "DELETE FROM category WHERE id = 3")  # ON DELETE SET NULL: products and child categories
    assert sorted(log(engine)[start:]) == [(20, "U"), (30, "U")]


def test_schema_init_twice_keeps_one_set_of_triggers(engine):
    assert init_schema(engine) == []
    run(engine, "INSERT INTO product (id, title, updated_at) VALUES (1, 'a', CURRENT_TIMESTAMP)")
    assert log(engine) == [(1, "I")]


def test_the_sqlite_update_trigger_lists_every_product_column():
    script = TRIGGER_SCRIPTS["sqlite"].read_text()
    trigger = script.split("CREATE TRIGGER product_change_update", 1)[1].split("BEGIN", 1)[0]
    listed = set(re.findall(r"OLD\.(\w+) IS NOT NEW\.\1", trigger))
    assert listed == {column.name for column in product.columns}


def test_pruning_removes_only_consumed_rows_older_than_the_retention(engine):
    run(engine, "INSERT INTO product (id, title, updated_at) VALUES (1, 'a', CURRENT_TIMESTAMP), (2, 'b', CURRENT_TIMESTAMP)")
    run(engine, "UPDATE product SET title = 'c'")
    later = time.time() + 3600
    source = ProductChangeSource(engine, shards=4, retention_s=600, now=lambda: later)
    position = source.read(None, limit=3).position  # reads 3 of the 4 rows
    assert source.acknowledge(position) == 3
    assert log(engine) == [(2, "U")]
    fresh = ProductChangeSource(engine, shards=4, retention_s=7200, now=lambda: later)
    assert fresh.acknowledge(fresh.read(None, limit=10).position) == 0  # younger than the retention
    assert ProductChangeSource(engine, 4, retention_s=-1).acknowledge({"hwm": 99}) == 0  # pruning off
    assert log(engine) == [(2, "U")]
