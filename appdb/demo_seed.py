"""The deterministic demo data behind `platformctl demo seed` (and every domain's demo step).

`build_demo` turns (product count, random seed, reference time) into rows and media files without
touching anything; `seed_demo` writes them: the demo tables are emptied and refilled in one
transaction and media files are overwritten, so seeding twice leaves the same data. Ids are explicit,
so two seeds with the same arguments give identical rows (timestamps are ages before `now`).

Traps planted on purpose, for the jobs that must cope with them:
- titles shared by an `api` product and one or two `scraped` ones (case/whitespace variants), and
  groups of scraped-only duplicates (must not merge);
- prices in currencies no provider publishes (XBT, XAU), a NULL price, a NULL currency;
- an empty title and description, long descriptions;
- images missing, corrupt (noise, truncated JPEG), not an image at all, byte-identical copies;
- orphaned media (old and fresh) and files under the protected `ai/` and `temp/` prefixes;
- scraping sessions and AI logs on both sides of 30 days, sessions stuck in `running`;
- posts with links to example domains, shared links, a loopback and a cloud-metadata link.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Connection, text

from appdb import demo_images
from appdb.demo_catalog import (
    AI_STATUSES,
    AI_TASKS,
    APPROX_RUB_PER_UNIT,
    CATEGORIES,
    COLORS,
    CURRENCY_WEIGHTS,
    LONG_DESCRIPTION_RU,
    NO_RATE_PRICES,
    ORPHAN_MEDIA,
    PROTECTED_MEDIA,
    SCRAPE_ERRORS,
    SCRAPE_MESSAGES,
    SCRAPERS,
    TEMPLATES,
    TITLE_VARIATIONS,
    VARIANT_EN,
    ProductTemplate,
)
from appdb.demo_feed import CHANNELS, HOSTILE_LINKS, LINK_LEAD
from appdb.engine import build_engine
from appdb.schema import init_schema
from appdb.tables import (
    ai_processing_log,
    category,
    post,
    post_enrichment,
    product,
    scraped_product_log,
    scraping_session,
)

# Children first: the order rows are deleted in (and, reversed, inserted in).
DEMO_TABLES = (post_enrichment, post, ai_processing_log, scraped_product_log, scraping_session, product, category)
SEQUENCED_TABLES = (category, product, scraping_session, scraped_product_log, ai_processing_log, post)

DUPLICATE_GROUPS = 20  # an api product plus 1-2 scraped copies of its title
SCRAPED_ONLY_GROUPS = 3  # 2-3 scraped products sharing a title, no api product
ENGLISH_SHARE = 0.15
IMAGE_TRAPS = {"missing": 3, "noise": 2, "truncated": 2, "not_image": 1, "placeholder": 6}
POSTS = 120


@dataclass
class DemoData:
    categories: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)  # key -> bytes, written as is
    media_ages: dict[str, timedelta] = field(default_factory=dict)  # key -> age to set (local folder only)
    missing_keys: list[str] = field(default_factory=list)  # referenced by a product, must not exist
    sessions: list[dict] = field(default_factory=list)
    session_logs: list[dict] = field(default_factory=list)
    ai_logs: list[dict] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


# --- catalog -------------------------------------------------------------------------------------

TOP_CATEGORY = {cid: parent or cid for cid, _name, parent in CATEGORIES}


def _categories(now: datetime) -> list[dict]:
    return [
        {"id": cid, "name": name, "parent_id": parent, "updated_at": now - timedelta(days=30 + cid)}
        for cid, name, parent in CATEGORIES
    ]


def _price(rng: random.Random, template: ProductTemplate, currency: str) -> Decimal:
    """A shop-looking price in `currency` for the template's RUB range (2490, 27.99, 4980, 12990 ...)."""
    lo, hi = template.price_rub
    rub = rng.randrange(lo, hi) // 100 * 100 + 90
    value = rub / APPROX_RUB_PER_UNIT[currency]
    if currency in ("USD", "EUR"):
        return Decimal(int(value)) + Decimal("0.99")
    if currency == "CNY":
        return Decimal(round(value))
    if currency == "JPY":
        return Decimal(round(value / 10) * 10)
    if currency == "KZT":
        return Decimal(round(value / 100) * 100 - 10)
    return Decimal(rub)


def _currency(rng: random.Random, source: str) -> str:
    weights = CURRENCY_WEIGHTS[source]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _describe(rng: random.Random, template: ProductTemplate, english: bool) -> str:
    sentences = template.about_en if english else template.about_ru
    return " ".join(rng.sample(sentences, rng.randint(1, min(3, len(sentences)))))


def _new_item(rng: random.Random, template: ProductTemplate, taken: set[str]) -> dict:
    """Title, description, brand and picture colour of one product; titles unique after normalising."""
    english = rng.random() < ENGLISH_SHARE
    for _attempt in range(20):
        brand = rng.choice(sorted(template.models) if template.models else template.brands)
        model = rng.choice(template.models[brand]) if template.models else ""
        attr_ru, attr_en = rng.choice(template.attrs) if template.attrs else ("", "")
        color = rng.choice(template.colors)
        variant = rng.choice(template.variants)
        if english:
            fmt, attr, shown_color = template.en, attr_en, color.title()
            for ru, en in VARIANT_EN:
                variant = variant.replace(ru, en)
        else:
            fmt, attr, shown_color = template.ru, attr_ru, COLORS[color][0][template.gender]
        title = " ".join(fmt.format(brand=brand, model=model, attr=attr, color=shown_color, variant=variant).split())
        title = title.rstrip(",")
        if _normal(title) not in taken:
            break
    else:
        title = f"{title}, арт. {rng.randint(10000, 99999)}"
    taken.add(_normal(title))
    return {
        "title": title,
        "description": _describe(rng, template, english),
        "brand": brand,
        "category_id": template.category_id,
        "template": template,
        "color": color,
    }


def _normal(title: str) -> str:
    return " ".join(title.lower().split())


def _product_row(rng: random.Random, item: dict, source: str, now: datetime, **overrides) -> dict:
    currency = _currency(rng, source)
    row = {
        "title": item["title"],
        "description": item["description"],
        "brand": item["brand"],
        "category_id": item["category_id"],
        "source": source,
        "source_price": _price(rng, item["template"], currency),
        "source_currency": currency,
        "price": None,
        "price_currency": None,
        "image_key": None,
        "is_available": rng.random() < 0.9,
        "merged_into_id": None,
        "updated_at": now - timedelta(minutes=rng.randrange(60 * 24 * 60)),
        # planning only (removed before insert): what picture the product gets
        "_picture": (item["template"].shape, item["color"], item["category_id"]),
        "_role": "regular",
    }
    row.update(overrides)
    return row


def _special_products(rng: random.Random, taken: set[str], now: datetime) -> list[dict]:
    """Products that make repricing and the vector pipeline skip something, with a reason."""
    rows = []
    for currency, price in NO_RATE_PRICES:
        item = _new_item(rng, rng.choice(TEMPLATES), taken)
        rows.append(_product_row(rng, item, "scraped", now, source_price=Decimal(price), source_currency=currency))
    for _ in range(2):
        rows.append(_product_row(rng, _new_item(rng, rng.choice(TEMPLATES), taken), "api", now, source_price=None))
    rows.append(_product_row(rng, _new_item(rng, rng.choice(TEMPLATES), taken), "api", now, source_currency=None))
    item = _new_item(rng, rng.choice(TEMPLATES), taken)
    empty = _product_row(rng, item, "api", now, title="", description="", brand=None)
    empty["_role"] = "no_text"
    rows.append(empty)
    return rows


def _duplicate_groups(rng: random.Random, taken: set[str], now: datetime) -> list[dict]:
    """Shared titles: api + scraped variants (merge), then scraped-only groups (must not merge)."""
    rows = []
    for group in range(DUPLICATE_GROUPS + SCRAPED_ONLY_GROUPS):
        item = _new_item(rng, rng.choice(TEMPLATES), taken)
        scraped_only = group >= DUPLICATE_GROUPS
        copies = rng.randint(2, 3) if scraped_only else rng.randint(1, 2)
        role = f"group:{group}"
        if not scraped_only:
            rows.append(_product_row(rng, item, "api", now, _role=role))
        for copy in range(copies):
            # The first copy differs only by case and outer spaces (plain lower+strip matches it); later
            # copies may also double an inner space.
            variation = rng.choice(TITLE_VARIATIONS[:-1] if copy == 0 else TITLE_VARIATIONS)
            title = variation(item["title"]) if not (scraped_only and copy == 0) else item["title"]
            rows.append(_product_row(rng, item, "scraped", now, title=title, _role=role))
    return rows


def _regular_products(rng: random.Random, count: int, taken: set[str], now: datetime) -> list[dict]:
    rows = []
    for i in range(count):
        source = "api" if rng.random() < 0.7 else "scraped"
        row = _product_row(rng, _new_item(rng, rng.choice(TEMPLATES), taken), source, now)
        if i % 40 == 5:
            row["description"] += " " + " ".join(LONG_DESCRIPTION_RU * 3)
        rows.append(row)
    return rows


def _products(rng: random.Random, count: int, now: datetime) -> list[dict]:
    taken: set[str] = set()
    planned = _special_products(rng, taken, now) + _duplicate_groups(rng, taken, now)
    planned = planned[:count] + _regular_products(rng, max(0, count - len(planned)), taken, now)
    rng.shuffle(planned)
    for product_id, row in enumerate(planned, start=1):
        row["id"] = product_id
    return planned


# --- media ---------------------------------------------------------------------------------------


def _picture(rng: random.Random, picture: tuple, fmt: str = "JPEG") -> bytes:
    shape, color, category_id = picture
    offset = (rng.randint(-6, 6), rng.randint(-6, 6))
    return demo_images.product_image(shape, COLORS[color][1], TOP_CATEGORY[category_id], offset, fmt)


def _product_media(rng: random.Random, data: DemoData) -> None:
    """Give every product its picture; plant the image traps among the regular products."""
    regular = [row for row in data.products if row["_role"] == "regular"]
    traps: dict[int, str] = {}
    pool = sorted(rng.sample(regular, min(len(regular), sum(IMAGE_TRAPS.values()))), key=lambda r: r["id"])
    for trap, how_many in IMAGE_TRAPS.items():
        for row in pool[:how_many]:
            traps[row["id"]] = trap
        pool = pool[how_many:]
    group_pictures: dict[str, bytes] = {}
    placeholder = demo_images.placeholder_image()
    counts = dict.fromkeys(("images", "corrupt_images", "missing_images", "products_without_image"), 0)
    for row in data.products:
        trap = traps.get(row["id"])
        if row["_role"] == "no_text" or (trap is None and row["_role"] == "regular" and rng.random() < 0.04):
            counts["products_without_image"] += 1
            continue
        fmt = "PNG" if row["_role"] == "regular" and trap is None and rng.random() < 0.12 else "JPEG"
        key = row["image_key"] = f"products/{row['id']}.{'png' if fmt == 'PNG' else 'jpg'}"
        if trap == "missing":
            data.missing_keys.append(key)
            counts["missing_images"] += 1
            continue
        if trap in ("noise", "truncated", "not_image"):
            corrupt = {
                "noise": lambda: demo_images.random_bytes(rng),
                "truncated": lambda: demo_images.truncated(_picture(rng, row["_picture"])),
                "not_image": lambda: demo_images.NOT_AN_IMAGE,
            }[trap]
            data.media[key] = corrupt()
            counts["corrupt_images"] += 1
            continue
        if trap == "placeholder":
            data.media[key] = placeholder
        elif row["_role"].startswith("group:"):
            # Copies of one product share the very same picture bytes (embedded once by the vector job).
            if row["_role"] not in group_pictures:
                group_pictures[row["_role"]] = _picture(rng, row["_picture"])
            data.media[key] = group_pictures[row["_role"]]
        else:
            data.media[key] = _picture(rng, row["_picture"], fmt)
        counts["images"] += 1
    data.counts.update(counts)


def _loose_media(data: DemoData) -> None:
    """Files no product references (orphans) and files under the protected prefixes."""
    for key, age_hours in ORPHAN_MEDIA + PROTECTED_MEDIA:
        if key.endswith((".jpg", ".png")):
            fmt = "PNG" if key.endswith(".png") else "JPEG"
            data.media[key] = demo_images.product_image("toolbox", (150, 150, 150), 0, (0, 0), fmt)
        else:
            data.media[key] = f"demo file {key}\n".encode()
        data.media_ages[key] = timedelta(hours=age_hours)
    data.counts["orphan_media"] = len(ORPHAN_MEDIA)
    data.counts["protected_media"] = len(PROTECTED_MEDIA)


# --- scraping and AI logs ------------------------------------------------------------------------


def _sessions(rng: random.Random, data: DemoData, now: datetime) -> None:
    planned = []
    for i in range(22):
        started = now - timedelta(minutes=rng.randrange(60, 90 * 24 * 60))
        status = "failed" if rng.random() < 0.2 else "completed"
        planned.append((started, SCRAPERS[i % len(SCRAPERS)], status, started + timedelta(minutes=rng.randint(5, 50))))
    # One running right now, one stuck in `running` for weeks (its worker died).
    planned.append((now - timedelta(hours=2), "ozon", "running", None))
    planned.append((now - timedelta(days=45), "aliexpress", "running", None))
    planned.sort(key=lambda session: session[0])
    scraped_ids = [row["id"] for row in data.products if row["source"] == "scraped"] or [None]
    for session_id, (started, scraper, status, finished) in enumerate(planned, start=1):
        data.sessions.append(
            {"id": session_id, "scraper": scraper, "started_at": started, "finished_at": finished, "status": status}
        )
        for n in range(rng.randint(2, 6)):
            failed_entry = status == "failed" and n == 0
            data.session_logs.append(
                {
                    "id": len(data.session_logs) + 1,
                    "session_id": session_id,
                    "product_id": None if failed_entry else rng.choice(scraped_ids),
                    "created_at": min(now, started + timedelta(minutes=n * 3 + 1)),
                    "message": rng.choice(SCRAPE_ERRORS) if failed_entry else rng.choice(SCRAPE_MESSAGES),
                }
            )
    data.counts["scraping_sessions"] = len(data.sessions)
    data.counts["scraped_product_logs"] = len(data.session_logs)


def _ai_logs(rng: random.Random, data: DemoData, now: datetime) -> None:
    """Every status, each with entries younger and older than 30 days."""
    api_ids = [row["id"] for row in data.products if row["source"] == "api"] or [None]
    for i in range(50):
        status = AI_STATUSES[i % len(AI_STATUSES)]
        old = (i // len(AI_STATUSES)) % 2 == 1
        age = timedelta(days=rng.uniform(31, 120)) if old else timedelta(days=rng.uniform(0, 29))
        created = now - timedelta(seconds=round(age.total_seconds()))
        done = status in ("completed", "approved", "failed")
        finished = created + timedelta(seconds=rng.randint(5, 300)) if done else None
        data.ai_logs.append(
            {"id": i + 1, "product_id": rng.choice(api_ids), "task": rng.choice(AI_TASKS), "status": status,
             "created_at": created, "finished_at": finished}
        )
    data.counts["ai_logs"] = len(data.ai_logs)


# --- posts ---------------------------------------------------------------------------------------


def _post_text(rng: random.Random) -> tuple[str, str]:
    channel = rng.choice(CHANNELS)
    topics = sorted(channel.topics)
    topic = rng.choice(topics)
    sentences = rng.sample(channel.topics[topic], min(rng.randint(1, 4), len(channel.topics[topic])))
    if len(sentences) >= 3 and rng.random() < 0.5:  # a digest post touching a second topic
        sentences.append(rng.choice(channel.topics[rng.choice(topics)]))
    body = " ".join(dict.fromkeys(sentences))
    if rng.random() < 0.6:
        body += f" {rng.choice(LINK_LEAD[channel.language])} {rng.choice(channel.links)}"
        if rng.random() < 0.1:
            body += f" {rng.choice(channel.links)}"
    return channel.name, body


def _posts(rng: random.Random, data: DemoData, now: datetime) -> None:
    planned = []
    for _ in range(POSTS):
        channel, body = _post_text(rng)
        planned.append((now - timedelta(seconds=rng.randrange(10 * 24 * 3600)), channel, body))
    planned.sort(key=lambda p: p[0])
    for post_id, (posted_at, channel, body) in enumerate(planned, start=1):
        data.posts.append(
            {"id": post_id, "channel": channel, "text": body, "posted_at": posted_at, "updated_at": posted_at}
        )
    for index, link in zip((17, 64), HOSTILE_LINKS):
        if index < len(data.posts):
            data.posts[index]["text"] += f" {link}"
    data.counts["posts"] = len(data.posts)


# --- assembling and writing ----------------------------------------------------------------------


def build_demo(products: int = 400, random_seed: int = 7, now: datetime | None = None) -> DemoData:
    """All demo rows and files, computed in memory (nothing is written)."""
    now = now or default_now()
    rng = random.Random(random_seed)
    data = DemoData(categories=_categories(now), products=_products(rng, products, now))
    data.counts["categories"] = len(data.categories)
    data.counts["products"] = len(data.products)
    _product_media(rng, data)
    _loose_media(data)
    _sessions(rng, data, now)
    _ai_logs(rng, data, now)
    _posts(rng, data, now)
    for row in data.products:
        del row["_picture"], row["_role"]
    return data


def default_now() -> datetime:
    """The reference time ages are measured from: the current minute."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def _replace_rows(conn: Connection, data: DemoData) -> None:
    for table in DEMO_TABLES:
        conn.execute(table.delete())
    for table, rows in (
        (category, data.categories),
        (product, data.products),
        (scraping_session, data.sessions),
        (scraped_product_log, data.session_logs),
        (ai_processing_log, data.ai_logs),
        (post, data.posts),
    ):
        if rows:
            conn.execute(table.insert(), rows)
    if conn.dialect.name == "postgresql":
        # Rows came with explicit ids: move each id sequence past them so later inserts do not collide.
        for table in SEQUENCED_TABLES:
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                     f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)")
            )


def _write_media(settings, data: DemoData, now: datetime) -> None:
    from resources.media import LocalMediaStore, MediaResource

    store = MediaResource(
        root=settings.get("MEDIA_ROOT"),
        s3_bucket=settings.get("MEDIA_S3_BUCKET"),
        s3_endpoint_url=settings.get("MEDIA_S3_ENDPOINT_URL"),
    ).store()
    for key, payload in data.media.items():
        store.write_bytes(key, payload)
    # A file left by an earlier seed with other arguments would hide a planted "missing" image.
    store.delete_many([key for key in data.missing_keys if store.exists(key)])
    if isinstance(store, LocalMediaStore):  # object stores set their own timestamps
        for key, age in data.media_ages.items():
            stamp = (now - age).timestamp()
            os.utime(store.root / key, (stamp, stamp))


def seed_demo(settings, products: int = 400, random_seed: int = 7, *, now: datetime | None = None) -> dict[str, int]:
    """Replace the demo tables' rows and write the demo media; return counts per kind."""
    now = now or default_now()
    data = build_demo(products, random_seed, now)
    engine = build_engine(settings.get("DATABASE_URL"))
    try:
        init_schema(engine)
        with engine.begin() as conn:
            _replace_rows(conn, data)
            _write_media(settings, data, now)  # inside the transaction: a media failure rolls the rows back
    finally:
        engine.dispose()
    return data.counts
