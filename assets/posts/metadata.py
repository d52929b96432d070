"""The operator's view of the posts runs (timings and lists: assets.metadata)."""

from __future__ import annotations


def days_label(days: list[str]) -> str:
    return days[0] if len(days) == 1 else f"{days[0]}...{days[-1]} ({len(days)} days)"
