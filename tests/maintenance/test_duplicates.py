"""Duplicate merge: the seed's grouping rules, lowest-id api product as main, idempotence, dry run."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from appdb.tables import product
from assets.maintenance.duplicates import merge_duplicates, normalize_title

BEFORE = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def add(conn, title, source, merged_into_id=None) -> int:
    return conn.execute(
        insert(product).values(title=title, source=source, merged_into_id=merged_into_id, updated_at=BEFORE)
    ).inserted_primary_key[0]


def state(engine) -> dict[int, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(product.c.id, product.c.merged_into_id, product.c.updated_at)).all()
    return {r.id: (r.merged_into_id, r.updated_at.replace(tzinfo=timezone.utc) if r.updated_at.tzinfo is None else r.updated_at) for r in rows}


def test_normalize_title():
    assert normalize_title("  iPhone \t 15\nPro ") == "iphone 15 pro"
    assert normalize_title("ЧАЙНИК  Bosch") == "чайник bosch"
    assert normalize_title("Straße") == normalize_title("STRASSE")
    assert normalize_title(None) == ""


def catalog(engine) -> dict[str, int]:
    with engine.begin() as conn:
        p = {}
        p["api_low"] = add(conn, "iPhone 15", "api")
        p["api_high"] = add(conn, "  iphone   15 ", "api")
        p["scr_1"] = add(conn, "IPHONE 15", "scraped")
        p["scr_2"] = add(conn, "Iphone\t15", "scraped")
        p["api_ru"] = add(conn, "Чайник Bosch", "api")
        p["scr_ru"] = add(conn, "чайник  bosch", "scraped")
        p["lamp_1"] = add(conn, "Lamp", "scraped")
        p["lamp_2"] = add(conn, "lamp", "scraped")
        p["chair_1"] = add(conn, "Chair", "api")
        p["chair_2"] = add(conn, "chair", "api")
        p["unique"] = add(conn, "Unique scraped thing", "scraped")
        p["desk_merged"] = add(conn, "Desk", "api", merged_into_id=p["chair_1"])
        p["desk_api"] = add(conn, "desk", "api")
        p["desk_scr"] = add(conn, "DESK", "scraped", merged_into_id=p["chair_1"])
    return p


def test_merges_scraped_into_lowest_id_api_product(engine):
    p = catalog(engine)
    report = merge_duplicates(engine, now=NOW)
    after = state(engine)

    expected = {
        p["scr_1"]: p["api_low"],
        p["scr_2"]: p["api_low"],
        p["scr_ru"]: p["api_ru"],
        p["desk_scr"]: p["desk_api"],  # the merged api product is never main; a wrong link is corrected
        p["desk_merged"]: p["chair_1"],  # api products are never re-pointed
    }
    for name, pid in p.items():
        assert after[pid][0] == expected.get(pid), name
    changed = {pid for pid, (_, updated) in after.items() if updated == NOW}
    assert changed == {p["scr_1"], p["scr_2"], p["scr_ru"], p["desk_scr"]}
    assert (report.products_scanned, report.duplicate_groups, report.groups_merged) == (14, 5, 3)
    assert (report.groups_single_source, report.scraped_merged, report.scraped_already_merged) == (2, 4, 0)
    assert [(g.title, g.main_id, g.scraped_ids) for g in report.groups] == [
        ("iphone 15", p["api_low"], [p["scr_1"], p["scr_2"]]),
        ("чайник bosch", p["api_ru"], [p["scr_ru"]]),
        ("desk", p["desk_api"], [p["desk_scr"]]),
    ]


def test_second_run_changes_nothing(engine):
    catalog(engine)
    merge_duplicates(engine, now=NOW)
    first = state(engine)
    report = merge_duplicates(engine, now=NOW + timedelta(days=1))
    assert state(engine) == first
    assert (report.scraped_merged, report.scraped_already_merged, report.groups_merged) == (0, 4, 3)
    assert [g.newly_merged for g in report.groups] == [[], [], []]


def test_dry_run_reports_without_writing(engine):
    catalog(engine)
    before = state(engine)
    report = merge_duplicates(engine, dry_run=True, now=NOW)
    assert state(engine) == before
    assert (report.scraped_merged, report.groups_merged) == (4, 3)


def test_empty_and_whitespace_titles_never_group(engine):
    """They would all share the key "": an empty title says nothing about what the product is."""
    with engine.begin() as conn:
        api_empty = add(conn, "", "api")
        scraped_blank = add(conn, "   ", "scraped")
        scraped_tab = add(conn, "\t\n", "scraped")
        scraped_nbsp = add(conn, "\u00a0", "scraped")  # a no-break space is whitespace too
    report = merge_duplicates(engine, now=NOW)
    assert {pid: merged for pid, (merged, _) in state(engine).items()} == {
        api_empty: None, scraped_blank: None, scraped_tab: None, scraped_nbsp: None
    }
    assert (report.duplicate_groups, report.scraped_merged, report.untitled) == (0, 0, 4)
