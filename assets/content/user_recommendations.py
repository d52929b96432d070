"""`user_recommendations`: ranked content for users whose topics changed (Redis recommendations:{user_id})."""

import time
from datetime import datetime, timezone

import dagster as dg

from assets.content.cache import ContentCache
from assets.content.config import ContentSettings
from assets.content.recommendations import recommend
from resources.cache import CacheResource
from resources.database import DatabaseResource


@dg.asset(
    name="user_recommendations",
    group_name="content",
    deps=["message_topics", "popular_topics", "content_library"],
    kinds={"python", "sql", "redis"},
    description=(
        "For users whose topics changed since their last recommendations: RECOMMENDATIONS_PER_USER library items "
        "from their topics of the last 7 days (recency-weighted) and the popular topics, none recommended to them "
        "within the last day; content_recommendation and Redis recommendations:{user_id} (30 min). "
        "Replaces seed 003's update_user_recommendations task."
    ),
    metadata={"dagster/table_name": "content_recommendation"},
)
def user_recommendations(
    context: dg.AssetExecutionContext, content_database: DatabaseResource, content: ContentSettings, cache: CacheResource
) -> dg.MaterializeResult:
    started = time.perf_counter()
    engine = content_database.engine
    now = datetime.now(timezone.utc)
    report = recommend(engine, ContentCache(cache, engine, now), now, limit=content.recommendations_per_user)
    context.log.info(f"{report.users} users, {report.items} items; {report.users_left} users left for the next run")
    return dg.MaterializeResult(
        metadata={
            "users": report.users,
            "users_left_for_next_run": report.users_left,
            "users_without_items": report.users_without_items,
            "items": report.items,
            **report.cache.metadata(),
            "seconds_total": round(time.perf_counter() - started, 3),
        }
    )
