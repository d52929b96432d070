"""The assistant domain (seed 002): the configurator shop's AI-assistant knowledge index (see assets/assistant/README.md)."""

import dagster as dg

from assets.assistant.assistant_documents import build_assistant_documents
from assets.assistant.jobs import build_jobs, build_schedules
from assets.assistant.knowledge_index import build_assistant_knowledge_index
from assets.assistant.sensor import build_assistant_changes_sensor
from orchestration.policies import vector_pool


def build_defs(settings) -> dg.Definitions:
    retry_delay_s = settings.get_float("ASSISTANT_RETRY_DELAY_SECONDS")
    index = build_assistant_knowledge_index(
        collection=settings.get("ASSISTANT_COLLECTION"),
        chunk_chars=settings.get_int("ASSISTANT_CHUNK_CHARS"),
        retry_delay_s=retry_delay_s,
        pool=vector_pool(not settings.is_set("QDRANT_URL"), embeds=True),
    )
    jobs = build_jobs(settings.get("DAGSTER_EXECUTOR").strip().lower())
    return dg.Definitions(
        assets=[build_assistant_documents(retry_delay_s), index],
        jobs=jobs,
        schedules=build_schedules(jobs[0], settings.get("SCHEDULE_TIMEZONE")),
        sensors=[build_assistant_changes_sensor(settings)],
    )
