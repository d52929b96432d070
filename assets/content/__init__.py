"""The content domain: seed 003's wellbeing chat (see assets/content/README.md)."""

import dagster as dg

from assets.content.cleanup_job import cleanup_old_content_job
from assets.content.daily_content import CONTENT_LIBRARY, daily_content, today_complete
from assets.content.message_topics import CHAT_MESSAGES, message_topics, messages_classified
from assets.content.popular_topics import popular_topics
from assets.content.schedules import build_jobs, build_schedules
from assets.content.sensor import build_chat_messages_sensor
from assets.content.user_recommendations import user_recommendations


def build_defs(settings) -> dg.Definitions:
    return dg.Definitions(
        assets=[CHAT_MESSAGES, CONTENT_LIBRARY, message_topics, user_recommendations, popular_topics, daily_content],
        asset_checks=[messages_classified, today_complete],
        jobs=[*build_jobs(settings.get("DAGSTER_EXECUTOR").strip().lower()), cleanup_old_content_job],
        schedules=build_schedules(cleanup_old_content_job, settings.get("SCHEDULE_TIMEZONE")),
        sensors=[build_chat_messages_sensor(settings)],
    )
