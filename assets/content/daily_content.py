"""`daily_content`: each date's article and quote per topic (daily partitions, refreshed hourly)."""

import warnings
from datetime import datetime, timedelta, timezone

import dagster as dg

from assets.content.cache import ContentCache
from assets.content.config import ContentSettings
from assets.content.daily import build_daily_content, missing_choices
from assets.content.taxonomy import load_taxonomy
from resources.cache import CacheResource
from resources.database import DatabaseResource
from resources.llm import LLMResource

DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=1)

CONTENT_LIBRARY = dg.AssetSpec(
    "content_library",
    group_name="content",
    kinds={"sql"},
    description="The taxonomy (topic) and the library of articles, quotes and videos (content_item), maintained by the chat app.",
    metadata={"dagster/table_name": "content_item"},
)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.asset(
        name="daily_content",
        group_name="content",
        partitions_def=DAILY_PARTITIONS,
        deps=[CONTENT_LIBRARY],
        kinds={"python", "sql", "redis"},
        description=(
            "Per topic an article and a quote for the date, chosen once (deterministically from the library, or written "
            "by the LLM with DAILY_CONTENT_WRITER=llm) in daily_content_choice, and Redis article:{topic}:{date}, "
            "quote:{topic}:{date}, daily_content:{date} (24 h), refreshed hourly. Replaces seed 003's generate_daily_content task."
        ),
        metadata={"dagster/table_name": "daily_content_choice"},
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(minutes=75)),
    )
    def daily_content(
        context: dg.AssetExecutionContext, content_database: DatabaseResource, content: ContentSettings,
        cache: CacheResource, llm: LLMResource,
    ) -> dg.MaterializeResult:
        engine = content_database.engine
        now = datetime.now(timezone.utc)
        writer = content.build_daily_writer(llm)
        report = build_daily_content(engine, ContentCache(cache, engine, now), load_taxonomy(engine), context.partition_key, now, writer)
        if report.missing:
            context.log.warning(f"no library item for {report.missing}")
        return dg.MaterializeResult(
            metadata={
                "date": context.partition_key,
                "topics": report.topics,
                "chosen_now": dg.MetadataValue.json(dict(report.chosen)),
                "kept_from_earlier_runs": report.kept,
                "missing_in_library": ", ".join(report.missing) or "none",
                "llm_failures": dg.MetadataValue.json(dict(report.llm_failed)),
                **report.cache.metadata(),
            }
        )


TODAY_COMPLETE = "today_complete"


@dg.asset_check(
    asset=daily_content,
    name=TODAY_COMPLETE,
    description="Every topic has an article and a quote chosen for today (UTC): the app's daily screen has no gaps.",
)
def today_complete(content_database: DatabaseResource) -> dg.AssetCheckResult:
    day = datetime.now(timezone.utc).date().isoformat()
    gaps = missing_choices(content_database.engine, day)
    return dg.AssetCheckResult(passed=not gaps, metadata={"date": day, "missing": ", ".join(gaps[:20]) or "none", "missing_count": len(gaps)})
