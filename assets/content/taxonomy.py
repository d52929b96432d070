"""The topic taxonomy as the classifiers see it: read from the `topic` table (the chat app owns it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from assets.content.tables import topic

DEMO_TAXONOMY = Path(__file__).resolve().parent / "data" / "taxonomy.json"


@dataclass(frozen=True)
class Topic:
    slug: str
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()


def parse_keywords(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in (raw or "").split(",") if k.strip())


def load_taxonomy(engine: Engine) -> list[Topic]:
    with engine.connect() as conn:
        rows = conn.execute(select(topic).order_by(topic.c.slug)).all()
    return [Topic(r.slug, r.name, r.description or "", parse_keywords(r.keywords)) for r in rows]


def demo_taxonomy() -> list[Topic]:
    """The bundled Russian taxonomy (demo data and the labelled benchmark)."""
    return [
        Topic(t["slug"], t["name"], t["description"], parse_keywords(t["keywords"]))
        for t in json.loads(DEMO_TAXONOMY.read_text(encoding="utf-8"))
    ]
