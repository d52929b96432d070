"""`popular_topics`: topic counts over the sliding window, every 30 minutes.

Not partitioned: each run is a snapshot of a sliding window (POPULAR_WINDOW_HOURS, 24 h by default)
that overlaps 47 others, so a 30-minute partition would not own its data; the rows are keyed by the
window's end (the last 30-minute boundary), and a re-run of the same half hour replaces its rows.
"""

from datetime import datetime, timedelta, timezone

import dagster as dg

from assets.content.config import ContentSettings
from assets.content.popular import compute_popular_topics, window_end_of
from resources.database import DatabaseResource


@dg.asset(
    name="popular_topics",
    group_name="content",
    deps=["message_topics"],
    kinds={"sql"},
    description=(
        "Messages per topic over the last POPULAR_WINDOW_HOURS (ending at the last half hour) with the previous "
        "window's count and rank, in popular_topic; every 30 minutes. Replaces seed 003's update_popular_topics task."
    ),
    metadata={"dagster/table_name": "popular_topic"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=1), warn_window=timedelta(minutes=40)),
)
def popular_topics(content_database: DatabaseResource, content: ContentSettings) -> dg.MaterializeResult:
    end = window_end_of(datetime.now(timezone.utc))
    result = compute_popular_topics(content_database.engine, end, timedelta(hours=content.popular_window_hours))
    table = "| rank | topic | messages | previous window | change |\n|---:|---|---:|---:|---:|\n" + "\n".join(
        f"| {p.rank} | {p.topic} | {p.messages} | {p.previous} | {'new' if p.change is None else f'{p.change:+.0%}'} |" for p in result
    )
    return dg.MaterializeResult(
        metadata={
            "window_end": end.isoformat(),
            "window_hours": content.popular_window_hours,
            "topics": len(result),
            "messages_in_window": sum(p.messages for p in result),
            "popular": dg.MetadataValue.md(table if result else "no messages with a topic in the window"),
        }
    )
