"""Knowledge documents in words, from the catalog rows (pure functions; no database, no Dagster).

Each entity becomes one document an assistant can answer from: a preset with its options and total
price, an option with its category, price, stock, incompatibilities and price adjustments, a category
with its options, and each rule as a sentence. Bad data (a rule pointing at a missing option, a
negative price, an empty name) is stated as well as it can be and listed in `problems`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from assets.assistant.catalog import CATEGORY, INCOMPATIBILITY, OPTION, PRICE_RULE, PRODUCT, Catalog, Key, doc_key
from resources.language import normalize_text


@dataclass
class Document:
    entity_type: str
    entity_id: int
    title: str
    body: str
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return doc_key(self.entity_type, self.entity_id)

    @property
    def content_hash(self) -> str:
        """Of the normalized text: a rendering that only differs in spacing or letter variants is unchanged."""
        text = normalize_text(self.title) + "\n" + "\n".join(normalize_text(line) for line in self.body.splitlines())
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def money(value) -> str:
    value = Decimal(value or 0)
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def delta(value) -> str:
    value = Decimal(value or 0)
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


class _Renderer:
    def __init__(self, catalog: Catalog, entity_type: str, entity_id: int):
        self.c = catalog
        self.problems: list[str] = []
        self.entity = (entity_type, entity_id)

    def name(self, row, kind: str) -> str:
        text = normalize_text(row.name)
        if text:
            return text
        if (kind, row.id) == self.entity:
            self.problems.append("empty name")
        return f"{kind} #{row.id} (no name)"

    def option_name(self, option_id: int, with_category: bool = False) -> str:
        option = self.c.options.get(option_id)
        if option is None:
            self.problems.append(f"option {option_id} does not exist")
            return f"option #{option_id} (missing)"
        name = self.name(option, OPTION)
        return f"{name} ({self.category_name(option.category_id)})" if with_category else name

    def category_name(self, category_id: int | None) -> str:
        if category_id is None:
            return "no category"
        category = self.c.categories.get(category_id)
        if category is None:
            self.problems.append(f"category {category_id} does not exist")
            return f"category #{category_id} (missing)"
        return self.name(category, CATEGORY)

    def price(self, value, what: str) -> str:
        if Decimal(value or 0) < 0:
            self.problems.append(f"negative {what} {Decimal(value):.2f}")
        return money(value)


def _category(r: _Renderer, row) -> Document:
    name = r.name(row, CATEGORY)
    lines = [f"{name} is a configurator category."]
    if normalize_text(row.description):
        lines.append(normalize_text(row.description))
    members = r.c.options_by_category.get(row.id, [])
    if members:
        lines.append(f"Options in {name}:")
        for option_id in members:
            option = r.c.options[option_id]
            stock = "in stock" if option.in_stock else "out of stock"
            lines.append(f"- {r.name(option, OPTION)}: {money(option.price)}, {stock}")
    else:
        lines.append(f"{name} has no options yet.")
    return Document(CATEGORY, row.id, f"Category: {name}", "\n".join(lines), r.problems)


def _option(r: _Renderer, row) -> Document:
    name = r.name(row, OPTION)
    category = r.category_name(row.category_id)
    lines = [f"{name} is a part option in the category {category}."]
    if normalize_text(row.description):
        lines.append(normalize_text(row.description))
    price = r.price(row.price, "price")
    lines.append(f"Price: {price}. {'In stock' if row.in_stock else 'Out of stock'}.")
    rules = [r.c.incompatibilities[i] for i in r.c.incompatibilities_of.get(row.id, [])]
    if rules:
        lines.append(f"{name} is incompatible with:")
        for rule in rules:
            other = rule.incompatible_option_id if rule.option_id == row.id else rule.option_id
            reason = normalize_text(rule.reason) or "no reason given"
            lines.append(f"- {r.option_name(other, with_category=True)}: {reason}")
    prices = [r.c.price_rules[i] for i in r.c.price_rules_of.get(row.id, [])]
    if prices:
        lines.append("Price adjustments:")
        for rule in prices:
            note = normalize_text(rule.description)
            note = f" ({note})" if note else ""
            if rule.option_id == row.id:
                lines.append(f"- {name} costs {delta(rule.price_delta)} when combined with {r.option_name(rule.depends_on_option_id)}{note}")
            else:
                lines.append(f"- with {name}, {r.option_name(rule.option_id)} costs {delta(rule.price_delta)}{note}")
    return Document(OPTION, row.id, f"{name} ({category})", "\n".join(lines), r.problems)


def _product(r: _Renderer, row) -> Document:
    name = r.name(row, PRODUCT)
    lines = [f"{name} is a preconfigured product (a ready-made configuration)."]
    if normalize_text(row.description):
        lines.append(normalize_text(row.description))
    base = Decimal(row.base_price or 0)
    lines.append(f"Base price: {r.price(base, 'base price')}.")
    members = r.c.product_options.get(row.id, [])
    total = base
    if members:
        lines.append("Options:")
        for option_id in members:
            option = r.c.options.get(option_id)
            if option is None:
                lines.append(f"- {r.option_name(option_id)}")
                continue
            total += Decimal(option.price or 0)
            stock = "" if option.in_stock else ", out of stock"
            lines.append(f"- {r.category_name(option.category_id)}: {r.name(option, OPTION)} ({money(option.price)}{stock})")
    chosen = set(members)
    adjustments = sorted(
        {i for option_id in members for i in r.c.price_rules_of.get(option_id, [])},
    )
    applied = [r.c.price_rules[i] for i in adjustments
               if r.c.price_rules[i].option_id in chosen and r.c.price_rules[i].depends_on_option_id in chosen]
    if applied:
        lines.append("Price adjustments applied:")
        for rule in applied:
            total += Decimal(rule.price_delta or 0)
            lines.append(f"- {r.option_name(rule.option_id)} with {r.option_name(rule.depends_on_option_id)}: {delta(rule.price_delta)}")
    lines.append(f"Total price: {money(total)}.")
    return Document(PRODUCT, row.id, f"Preset: {name}", "\n".join(lines), r.problems)


def _incompatibility(r: _Renderer, row) -> Document:
    first, second = r.option_name(row.option_id, True), r.option_name(row.incompatible_option_id, True)
    reason = normalize_text(row.reason) or "no reason given"
    body = f"{first} cannot be combined with {second}: choose one or the other.\nReason: {reason}"
    return Document(INCOMPATIBILITY, row.id, f"Incompatible: {r.option_name(row.option_id)} and {r.option_name(row.incompatible_option_id)}", body, r.problems)


def _price_rule(r: _Renderer, row) -> Document:
    subject, dependency = r.option_name(row.option_id, True), r.option_name(row.depends_on_option_id, True)
    lines = [f"{subject} costs {delta(row.price_delta)} when combined with {dependency}."]
    if normalize_text(row.description):
        lines.append(normalize_text(row.description))
    title = f"Price adjustment: {r.option_name(row.option_id)} with {r.option_name(row.depends_on_option_id)}"
    return Document(PRICE_RULE, row.id, title, "\n".join(lines), r.problems)


_RENDERERS = {
    CATEGORY: (_category, "categories"),
    OPTION: (_option, "options"),
    PRODUCT: (_product, "products"),
    INCOMPATIBILITY: (_incompatibility, "incompatibilities"),
    PRICE_RULE: (_price_rule, "price_rules"),
}


def render(catalog: Catalog, key: Key) -> Document | None:
    """The entity's document; None when it is gone or (a product) not active."""
    entity_type, entity_id = key
    function, rows = _RENDERERS[entity_type]
    row = getattr(catalog, rows).get(entity_id)
    if row is None or (entity_type == PRODUCT and not row.is_active):
        return None
    renderer = _Renderer(catalog, entity_type, entity_id)
    document = function(renderer, row)
    document.problems = list(dict.fromkeys(document.problems))
    return document
