"""The operator's view of the posts runs: counts, reasons with examples, timings."""

from __future__ import annotations

from collections import Counter

import dagster as dg


def timings_md(timings: Counter, total_s: float) -> dg.MetadataValue:
    rows = "\n".join(f"| {phase} | {seconds:.3f} |" for phase, seconds in sorted(timings.items()))
    return dg.MetadataValue.md(f"| phase | seconds |\n|---|---:|\n{rows}\n| **total** | {total_s:.3f} |")


def days_label(days: list[str]) -> str:
    return days[0] if len(days) == 1 else f"{days[0]}...{days[-1]} ({len(days)} days)"
