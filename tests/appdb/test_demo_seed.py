"""The demo data: counts, determinism, idempotent re-seeding and the traps planted for later jobs."""

import io
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import func, select

from appdb.demo_seed import build_demo, seed_demo
from appdb.engine import build_engine
from appdb.schema import init_schema
from appdb.tables import ai_processing_log, category, post, product, scraped_product_log, scraping_session
from orchestration.settings import Settings
from platformctl.main import cli

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
PRODUCTS = 150  # enough for every planted trap, small enough for two backends
TABLES = {
    "categories": category,
    "products": product,
    "scraping_sessions": scraping_session,
    "scraped_product_logs": scraped_product_log,
    "ai_logs": ai_processing_log,
    "posts": post,
}


def _settings(db_url: str, folder: Path) -> Settings:
    return Settings({"DATABASE_URL": db_url, "MEDIA_ROOT": str(folder / "media"), "DATA_DIR": str(folder)})


def _utc(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.0001"))
    return value


def _rows(db_url: str, table) -> list[tuple]:
    engine = build_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(_utc(v) for v in row) for row in conn.execute(select(table).order_by(table.c.id))]
    finally:
        engine.dispose()


def _media(folder: Path) -> dict[str, bytes]:
    root = folder / "media"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _is_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:  # noqa: BLE001 - any decoding failure means "not a usable image"
        return False


def test_build_is_deterministic_and_depends_on_the_seed():
    first, second = build_demo(PRODUCTS, 7, NOW), build_demo(PRODUCTS, 7, NOW)
    assert first.products == second.products
    assert first.posts == second.posts
    assert first.media == second.media
    assert build_demo(PRODUCTS, 8, NOW).products != first.products


def test_counts_match_the_tables_and_the_media(db_url, tmp_path):
    counts = seed_demo(_settings(db_url, tmp_path), products=PRODUCTS, now=NOW)

    assert counts["categories"] == 16 and counts["products"] == PRODUCTS and counts["posts"] == 120
    for kind, table in TABLES.items():
        assert len(_rows(db_url, table)) == counts[kind], kind
    media = _media(tmp_path)
    keys = [row.image_key for row in _product_rows(db_url) if row.image_key]
    present = [key for key in keys if key in media]
    assert sum(_is_image(media[key]) for key in present) == counts["images"]
    assert len(present) - counts["images"] == counts["corrupt_images"] >= 1
    assert len(keys) - len(present) == counts["missing_images"] >= 1
    loose = [key for key in media if key not in set(keys)]
    assert len(loose) == counts["orphan_media"] + counts["protected_media"]
    assert {key.split("/")[0] for key in loose} >= {"ai", "temp", "uploads", "products"}


def _product_rows(db_url: str):
    engine = build_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(product).order_by(product.c.id)).all()
    finally:
        engine.dispose()


def test_two_fresh_databases_get_identical_rows_and_images(db_url, tmp_path):
    other_url = f"sqlite:///{tmp_path / 'other' / 'app.db'}"
    seed_demo(_settings(db_url, tmp_path / "one"), products=PRODUCTS, now=NOW)
    seed_demo(_settings(other_url, tmp_path / "other"), products=PRODUCTS, now=NOW)

    for table in TABLES.values():
        assert _rows(db_url, table) == _rows(other_url, table), table.name
    assert _media(tmp_path / "one") == _media(tmp_path / "other")


def test_seeding_twice_replaces_instead_of_doubling(db_url, tmp_path):
    settings = _settings(db_url, tmp_path)
    seed_demo(settings, products=PRODUCTS, now=NOW)
    first = {name: _rows(db_url, table) for name, table in TABLES.items()}
    first_media = _media(tmp_path)
    (tmp_path / "media" / "products" / "1.jpg").unlink(missing_ok=True)  # e.g. removed by a cleanup job
    seed_demo(settings, products=PRODUCTS, now=NOW)

    assert {name: _rows(db_url, table) for name, table in TABLES.items()} == first
    assert _media(tmp_path) == first_media
    engine = build_engine(db_url)
    try:
        with engine.begin() as conn:  # explicit ids did not leave the id sequences behind (PostgreSQL)
            new_id = conn.execute(category.insert().values(name="Новая", updated_at=NOW).returning(category.c.id)).scalar_one()
        assert new_id == 17
    finally:
        engine.dispose()


def test_planted_traps_are_there(db_url, tmp_path):
    seed_demo(_settings(db_url, tmp_path), products=PRODUCTS, now=NOW)
    rows = _product_rows(db_url)

    groups = defaultdict(list)
    for row in rows:
        if row.title.strip():
            groups[" ".join(row.title.lower().split())].append(row)
    mergeable = [g for g in groups.values() if len(g) > 1 and {r.source for r in g} == {"api", "scraped"}]
    scraped_only = [g for g in groups.values() if len(g) > 1 and {r.source for r in g} == {"scraped"}]
    assert len(mergeable) >= 20 and scraped_only
    assert all(sum(r.source == "api" for r in g) == 1 for g in mergeable)
    assert any(len({r.title for r in g}) > 1 for g in mergeable)  # case/whitespace variants, not copies
    assert {r.source_currency for r in rows} >= {"RUB", "USD", "EUR", "CNY", "JPY", "KZT", "XBT"}
    assert sum(r.source_price is None for r in rows) >= 1
    assert all(r.price is None for r in rows)  # repricing fills prices
    assert any(r.title == "" and r.description == "" for r in rows)
    assert max(len(r.description) for r in rows) > 1000
    media = _media(tmp_path)
    image_keys = [r.image_key for r in rows if r.image_key in media and _is_image(media[r.image_key])]
    assert len({media[k] for k in image_keys}) < len(image_keys)  # byte-identical pictures exist

    cutoff = NOW.replace(tzinfo=None) - timedelta(days=30)
    ai = _rows(db_url, ai_processing_log)
    ages = {(r[3], _utc(r[4]) < cutoff) for r in ai}
    assert ages == {(s, old) for s in ("pending", "running", "completed", "approved", "failed") for old in (True, False)}
    sessions = _rows(db_url, scraping_session)
    assert any(r[4] == "running" and r[2] < cutoff for r in sessions)
    assert {r[4] for r in sessions} == {"completed", "failed", "running"}

    texts = [r[2] for r in _rows(db_url, post)]
    assert sum("http://127.0.0.1/" in t for t in texts) == 1
    assert sum("http://169.254.169.254/latest/meta-data/" in t for t in texts) == 1
    assert len({r[1] for r in _rows(db_url, post)}) >= 3
    links = [w for t in texts for w in t.split() if w.startswith("https://")]
    assert len(links) > len(set(links)) > 5  # some posts share a link


def test_db_init_is_idempotent(db_url):
    engine = build_engine(db_url)
    try:
        assert init_schema(engine) == []  # the fixture created the schema already
        assert init_schema(engine) == []
    finally:
        engine.dispose()
    result = CliRunner().invoke(cli, ["db", "init"], env={"DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "0 table(s) created" in result.output


def test_cli_seeds_the_embedded_default(tmp_path):
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": None, "MEDIA_ROOT": None, "MEDIA_S3_BUCKET": None}
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "init"], env=env).exit_code == 0
    result = runner.invoke(cli, ["demo", "seed", "--products", "120"], env=env)

    assert result.exit_code == 0, result.output
    assert "120 products" in result.output and "16 categories" in result.output
    assert len(_rows(f"sqlite:///{tmp_path / 'app.db'}", product)) == 120
    assert (tmp_path / "media" / "ai" / "descriptions" / "batch_0001.json").is_file()


@pytest.mark.parametrize("products", [1, 10])
def test_tiny_catalogs_still_seed(tmp_path, products):
    counts = seed_demo(_settings(f"sqlite:///{tmp_path / 'app.db'}", tmp_path), products=products, now=NOW)
    assert counts["products"] == products
