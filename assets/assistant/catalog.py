"""Reading the configurator catalog: which documents a change touches, and the rows that render them.

A document is keyed "<entity type>:<id>". `touched` expands changed entities to every document that
states something about them (one level, from the current rows; the capture triggers log what the
old rows pointed at). `load` reads, for a page of documents, exactly the rows their text needs.
Every query is set-based over id lists of bounded size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from sqlalchemy import Connection, or_, select

from assets.assistant.tables import (
    configurator_category, incompatibility_rule, part_option, preconfigured_product, preconfigured_product_option,
    price_adjustment_rule,
)

CATEGORY, OPTION, PRODUCT, INCOMPATIBILITY, PRICE_RULE = "category", "option", "product", "incompatibility_rule", "price_rule"
ENTITY_TABLES = {
    CATEGORY: configurator_category,
    OPTION: part_option,
    PRODUCT: preconfigured_product,
    INCOMPATIBILITY: incompatibility_rule,
    PRICE_RULE: price_adjustment_rule,
}
ENTITY_TYPES = tuple(ENTITY_TABLES)
IN_LIST = 900  # ids per IN (...) list: under SQLite's variable limit, small plans on PostgreSQL

Key = tuple[str, int]


def doc_key(entity_type: str, entity_id: int) -> str:
    return f"{entity_type}:{entity_id}"


def parse_key(text: str) -> Key:
    """"option:12" -> ("option", 12); anything else is refused with the text."""
    entity_type, _, raw = str(text).partition(":")
    if entity_type not in ENTITY_TABLES or not raw.lstrip("-").isdigit():
        raise ValueError(f"not an assistant document key: {text!r} (expected <{'|'.join(ENTITY_TYPES)}>:<id>)")
    return entity_type, int(raw)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), IN_LIST):
        yield ids[start : start + IN_LIST]


def _rows(conn: Connection, query, column, ids: Iterable[int]) -> list:
    return [row for chunk in _chunks(ids) for row in conn.execute(query.where(column.in_(chunk))).all()]


def _by_type(keys: Iterable[Key]) -> dict[str, set[int]]:
    grouped: dict[str, set[int]] = defaultdict(set)
    for entity_type, entity_id in keys:
        grouped[entity_type].add(entity_id)
    return grouped


def touched(conn: Connection, changed: Iterable[Key]) -> set[Key]:
    """The changed entities' own documents and those of everything stating them now: an option's
    category, products and rules (and the options on the rules' other side), a category's options (and
    so theirs), a rule's options (and, for a price rule, the products with its option)."""
    keys = set(changed)
    ids = _by_type(keys)
    po, inc, pr = preconfigured_product_option.c, incompatibility_rule.c, price_adjustment_rule.c
    # A category's name is stated wherever its options are (with their rules and presets): its options
    # count as changed.
    options = set(ids[OPTION]) | {row.id for row in _rows(conn, select(part_option.c.id), part_option.c.category_id, ids[CATEGORY])}
    keys |= {(OPTION, option_id) for option_id in options}
    rule_options: set[int] = set()
    for row in _rows(conn, select(inc.option_id, inc.incompatible_option_id), inc.id, ids[INCOMPATIBILITY]):
        rule_options |= {row.option_id, row.incompatible_option_id}
    price_subjects: set[int] = set()
    for row in _rows(conn, select(pr.option_id, pr.depends_on_option_id), pr.id, ids[PRICE_RULE]):
        rule_options |= {row.option_id, row.depends_on_option_id}
        price_subjects.add(row.option_id)
    if options:
        for chunk in _chunks(options):
            for row in conn.execute(select(part_option.c.category_id).where(part_option.c.id.in_(chunk))).all():
                if row.category_id is not None:
                    keys.add((CATEGORY, row.category_id))
            # The rules with the option on either side, and the options on their other side.
            for kind, rule_id, side, other in (
                (INCOMPATIBILITY, inc.id, inc.option_id, inc.incompatible_option_id),
                (PRICE_RULE, pr.id, pr.option_id, pr.depends_on_option_id),
            ):
                query = select(rule_id, side, other).where(or_(side.in_(chunk), other.in_(chunk)))
                for found, first, second in conn.execute(query).all():
                    keys.add((kind, found))
                    rule_options |= {first, second}
    keys |= {(OPTION, option_id) for option_id in rule_options}
    # Products state their options' names, categories and prices, and the price rules among them.
    product_sources = options | price_subjects
    for row in _rows(conn, select(po.product_id).distinct(), po.option_id, product_sources):
        keys.add((PRODUCT, row.product_id))
    return keys


def all_keys(conn: Connection) -> Iterator[Key]:
    """Every entity of the catalog (inactive products included: their documents must go)."""
    for entity_type, table in ENTITY_TABLES.items():
        for row in conn.execute(select(table.c.id).order_by(table.c.id)):
            yield entity_type, row.id


@dataclass
class Catalog:
    """The rows a page of documents needs, by id."""

    categories: dict[int, object] = field(default_factory=dict)
    options: dict[int, object] = field(default_factory=dict)
    products: dict[int, object] = field(default_factory=dict)
    product_options: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    options_by_category: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    incompatibilities: dict[int, object] = field(default_factory=dict)
    price_rules: dict[int, object] = field(default_factory=dict)
    # Rules by the options they involve (for option and product documents).
    incompatibilities_of: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    price_rules_of: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))


def load(conn: Connection, keys: Iterable[Key]) -> Catalog:
    ids = _by_type(keys)
    catalog = Catalog()
    inc, pr, po = incompatibility_rule.c, price_adjustment_rule.c, preconfigured_product_option.c
    catalog.products = {r.id: r for r in _rows(conn, select(preconfigured_product), preconfigured_product.c.id, ids[PRODUCT])}
    members: set[int] = set()
    for row in _rows(conn, select(po.product_id, po.option_id).order_by(po.product_id, po.option_id), po.product_id, catalog.products):
        catalog.product_options[row.product_id].append(row.option_id)
        members.add(row.option_id)
    in_categories = _rows(conn, select(part_option.c.id, part_option.c.category_id), part_option.c.category_id, ids[CATEGORY])
    subject_options = ids[OPTION]
    rules = {r.id: r for r in _rows(conn, select(incompatibility_rule), inc.id, ids[INCOMPATIBILITY])}
    for chunk in _chunks(subject_options):
        rules.update({r.id: r for r in conn.execute(
            select(incompatibility_rule).where(or_(inc.option_id.in_(chunk), inc.incompatible_option_id.in_(chunk)))
        ).all()})
    prices = {r.id: r for r in _rows(conn, select(price_adjustment_rule), pr.id, ids[PRICE_RULE])}
    for chunk in _chunks(subject_options):
        prices.update({r.id: r for r in conn.execute(
            select(price_adjustment_rule).where(or_(pr.option_id.in_(chunk), pr.depends_on_option_id.in_(chunk)))
        ).all()})
    # A product's total applies the price rules among its own options.
    prices.update({r.id: r for r in _rows(conn, select(price_adjustment_rule), pr.option_id, members)})
    catalog.incompatibilities, catalog.price_rules = rules, prices
    for rule in sorted(rules.values(), key=lambda r: r.id):
        catalog.incompatibilities_of[rule.option_id].append(rule.id)
        if rule.incompatible_option_id != rule.option_id:
            catalog.incompatibilities_of[rule.incompatible_option_id].append(rule.id)
    for rule in sorted(prices.values(), key=lambda r: r.id):
        catalog.price_rules_of[rule.option_id].append(rule.id)
        if rule.depends_on_option_id != rule.option_id:
            catalog.price_rules_of[rule.depends_on_option_id].append(rule.id)
    needed = set(subject_options) | members | {r.id for r in in_categories}
    needed |= {o for r in rules.values() for o in (r.option_id, r.incompatible_option_id)}
    needed |= {o for r in prices.values() for o in (r.option_id, r.depends_on_option_id)}
    catalog.options = {r.id: r for r in _rows(conn, select(part_option), part_option.c.id, needed)}
    for option in sorted(catalog.options.values(), key=lambda r: r.id):
        if option.category_id is not None:
            catalog.options_by_category[option.category_id].append(option.id)
    wanted_categories = set(ids[CATEGORY]) | {o.category_id for o in catalog.options.values() if o.category_id is not None}
    catalog.categories = {r.id: r for r in _rows(conn, select(configurator_category), configurator_category.c.id, wanted_categories)}
    return catalog
