"""Counting by reason with a few examples each, for materialization metadata."""

from __future__ import annotations

from collections import Counter

import dagster as dg

EXAMPLES = 5


class Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, example: str, n: int = 1) -> None:
        self.counts[reason] += n
        sample = self.examples.setdefault(reason, [])
        if len(sample) < EXAMPLES:
            sample.append(example)

    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, dict]:
        return {reason: {"count": n, "examples": self.examples[reason]} for reason, n in sorted(self.counts.items())}

    def markdown(self, empty: str = "none") -> dg.MetadataValue:
        if not self.counts:
            return dg.MetadataValue.md(empty)
        return dg.MetadataValue.md(
            "\n".join(
                f"- **{reason}**: {n} (e.g. {'; '.join(self.examples[reason])})" for reason, n in sorted(self.counts.items())
            )
        )
