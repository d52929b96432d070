"""What every tagger returns: per post, the raw tags in order of relevance, or why it failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class TagOutcome:
    tags: list | None = None  # raw, as the tagger produced them (grounding happens afterwards)
    failure: str | None = None  # a short reason (invalid_json, refused, truncated, transport, ...)
    detail: str = ""
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None


class Tagger(Protocol):
    # Identity of the tagger and its settings: a change re-tags every post (stored with the tags).
    name: str

    def tag(self, texts: list[str]) -> list[TagOutcome]:
        """One outcome per text, in order. Never raises for one bad post."""
        ...
