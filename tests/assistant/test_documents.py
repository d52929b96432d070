"""Rendering and the document table: what a change re-renders, hashes, deletes, bad input (SQLite and PostgreSQL)."""

from sqlalchemy import text

from assets.assistant.documents import sync_documents
from tests.assistant.conftest import consume_changes, documents


def changed_docs(before: dict, after: dict) -> set[str]:
    return {key for key, row in after.items() if key not in before or row.content_hash != before[key].content_hash
            or row.active != before[key].active}


def test_a_rule_change_re_renders_every_document_that_states_it(catalog):
    sync_documents(catalog)
    before = documents(catalog)
    with catalog.begin() as conn:
        # The RTX 4080 Super now clashes with the mid tower instead of the compact case.
        conn.execute(text("UPDATE incompatibility_rule SET incompatible_option_id = 702, "
                          "reason = 'Too long for the mid tower airflow shroud.' WHERE id = 14"))
    changed = consume_changes(catalog)
    assert changed == ["incompatibility_rule:14", "option:701"]  # the rule and the option it no longer names
    report = sync_documents(catalog, changed)
    after = documents(catalog)
    assert changed_docs(before, after) == {"incompatibility_rule:14", "option:402", "option:701", "option:702"}
    assert report.updated == 4 and report.created == 0
    assert "Too long for the mid tower airflow shroud." in after["option:402"].body
    assert "RTX 4080 Super" not in after["option:701"].body
    assert "NVIDIA GeForce RTX 4080 Super (Graphics card): Too long" in after["option:702"].body

    # A price rule states itself in both options and in the totals of the presets holding both.
    assert "Total price: $2,596.00." in after["product:3"].body
    with catalog.begin() as conn:
        conn.execute(text("UPDATE price_adjustment_rule SET price_delta = -50 WHERE id = 1"))
    report = sync_documents(catalog, consume_changes(catalog))
    final = documents(catalog)
    assert changed_docs(after, final) == {"price_rule:1", "option:803", "option:102", "product:3"}
    assert "Total price: $2,576.00." in final["product:3"].body
    assert "360 mm liquid cooler costs -$50.00" in final["option:102"].body


def test_unchanged_documents_are_not_written_again(catalog):
    first = sync_documents(catalog)
    assert (first.created, first.rendered) == (60, 60)
    again = sync_documents(catalog)
    assert (again.created, again.updated, again.unchanged, again.retired) == (0, 0, 60, 0)
    with catalog.begin() as conn:
        # Extra spaces and a no-op update: the normalized text is the same, so nothing is written.
        conn.execute(text("UPDATE part_option SET description = '24 cores,   LGA1700 socket, the fastest Intel desktop chip. ' WHERE id = 102"))
        conn.execute(text("UPDATE configurator_category SET name = name WHERE id = 1"))
    changed = consume_changes(catalog)
    assert changed == ["option:102"]  # the no-op update logged nothing
    report = sync_documents(catalog, changed)
    assert report.updated == 0 and report.unchanged == report.rendered > 1


def test_deleted_option_and_deactivated_preset_retire_their_documents(catalog):
    sync_documents(catalog)
    with catalog.begin() as conn:
        conn.execute(text("DELETE FROM part_option WHERE id = 701"))
        conn.execute(text("UPDATE preconfigured_product SET is_active = false WHERE id = 2"))
    changed = consume_changes(catalog)
    assert {"option:701", "category:7", "product:2"} <= set(changed)
    report = sync_documents(catalog, changed)
    docs = documents(catalog)
    assert not docs["option:701"].active and docs["option:701"].content_hash is None
    assert not docs["product:2"].active
    assert report.retired == 2
    assert "Compact mATX case" not in docs["category:7"].body
    # Rules and the preset still pointing at the option say so, and the run lists them.
    assert "option #701 (missing)" in docs["incompatibility_rule:14"].body
    assert report.problems["incompatibility_rule:14"] == ["option 701 does not exist"]
    assert report.problems["product:4"] == ["option 701 does not exist"]
    assert "option #701 (missing)" in docs["option:402"].body
    # A full render leaves the tombstones as they are (the index removes their points, then the rows).
    assert sync_documents(catalog).retired == 0


def test_bad_input_is_stated_and_listed_and_nothing_else_is_skipped(catalog):
    with catalog.begin() as conn:
        conn.execute(text("INSERT INTO part_option (id, category_id, name, description, price, in_stock) "
                          "VALUES (901, 3, '', 'Mystery module', 10, true), (902, 3, 'Refurbished 8 GB DDR4', '', -5, true)"))
        conn.execute(text("INSERT INTO incompatibility_rule (id, option_id, incompatible_option_id, reason) VALUES (90, 902, 999, 'old rule')"))
        conn.execute(text("INSERT INTO price_adjustment_rule (id, option_id, depends_on_option_id, price_delta, description) "
                          "VALUES (90, 998, 101, 5, '')"))
    report = sync_documents(catalog)
    assert report.rendered == 64 and report.created == 64  # every entity has its document
    assert report.problems == {
        "option:901": ["empty name"],
        "option:902": ["negative price -5.00", "option 999 does not exist"],
        "incompatibility_rule:90": ["option 999 does not exist"],
        "price_rule:90": ["option 998 does not exist"],
        "option:101": ["option 998 does not exist"],  # it states the rule too
    }
    docs = documents(catalog)
    assert docs["option:901"].title == "option #901 (no name) (Memory)"
    assert "Price: -$5.00." in docs["option:902"].body
    assert "cannot be combined with option #999 (missing)" in docs["incompatibility_rule:90"].body
    assert docs["option:902"].problems == ["negative price -5.00", "option 999 does not exist"]
    assert docs["category:3"].body.count("\n- ") == 6  # both new options listed under Memory


def test_preset_insert_and_option_list_changes_are_captured(catalog):
    sync_documents(catalog)
    with catalog.begin() as conn:
        conn.execute(text("INSERT INTO preconfigured_product (id, name, description, base_price, is_active) "
                          "VALUES (6, 'Silent Streamer', 'A quiet streaming PC.', 79, true)"))
        conn.execute(text("INSERT INTO preconfigured_product_option (product_id, option_id) VALUES (6, 103), (6, 203), (6, 303)"))
        conn.execute(text("DELETE FROM preconfigured_product_option WHERE product_id = 1 AND option_id = 801"))
    changed = consume_changes(catalog)
    assert changed == ["product:1", "product:6"]
    report = sync_documents(catalog, changed)
    assert (report.created, report.updated) == (1, 1)
    docs = documents(catalog)
    assert "Total price: $546.00." in docs["product:6"].body  # 79 + 199 + 169 + 99, no rule among them
    assert "Stock air cooler" not in docs["product:1"].body and "Total price: $952.00." in docs["product:1"].body


def test_a_category_rename_reaches_the_rules_and_presets_that_name_it(catalog):
    sync_documents(catalog)
    before = documents(catalog)
    with catalog.begin() as conn:
        conn.execute(text("UPDATE configurator_category SET name = 'Chassis' WHERE id = 7"))
    report = sync_documents(catalog, consume_changes(catalog))
    after = documents(catalog)
    changed = changed_docs(before, after)
    assert {"category:7", "option:701", "option:702", "option:703", "incompatibility_rule:14", "incompatibility_rule:15",
            "option:402", "option:404", "product:1", "product:2", "product:3", "product:4"} == changed
    assert report.updated == len(changed)
    assert "Compact mATX case (Chassis)" in after["incompatibility_rule:14"].body
    assert all("(Case)" not in after[key].body and "Case:" not in after[key].body for key in changed)
