"""The content domain's names other code relies on, and its policies, in the loaded definitions."""

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.settings import Settings


def test_names_statuses_and_policies():
    repo = build_definitions(Settings({"DATA_DIR": "/nonexistent/never-created"})).get_repository_def()
    graph = repo.asset_graph
    for name in ("message_topics", "user_recommendations", "popular_topics", "daily_content"):
        node = graph.get(dg.AssetKey(name))
        assert node.group_name == "content" and node.description and node.owners == ["team:content", "platform@example.com"]
        assert node.kinds
    assert graph.get(dg.AssetKey("daily_content")).partitions_def is not None
    for name in ("daily_content", "popular_topics"):
        assert graph.get(dg.AssetKey(name)).freshness_policy is not None
    assert repo.get_sensor_def("chat_messages_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert repo.get_sensor_def("chat_messages_sensor").job_name == "chat_messages_job"
    assert repo.has_job("cleanup_old_content_job")
    schedules = {s.name: s for s in repo.schedule_defs}
    assert schedules["popular_topics_schedule"].cron_schedule == "*/30 * * * *"
    assert schedules["daily_content_schedule"].cron_schedule == "5 * * * *"
    assert schedules["cleanup_old_content_schedule"].job_name == "cleanup_old_content_job"
    assert all(schedules[n].default_status == dg.DefaultScheduleStatus.RUNNING for n in schedules if "content" in n or "popular" in n)


def test_the_hourly_schedule_requests_today_partition():
    from datetime import datetime, timezone

    defs = build_definitions(Settings({"DATA_DIR": "/nonexistent/never-created"}))
    schedule = defs.get_repository_def().get_schedule_def("daily_content_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 5, 20, 13, 5, tzinfo=timezone.utc), repository_def=defs.get_repository_def()
    )
    [request] = schedule.evaluate_tick(context).run_requests
    assert (request.partition_key, request.run_key) == ("2026-05-20", "2026-05-20:13")


def test_misconfigured_classifier_and_writer_name_the_variable():
    import pytest

    from assets.content.config import ContentSettings
    from assets.content.taxonomy import demo_taxonomy
    from resources.embedders import TextEmbedderResource
    from resources.llm import LLMResource

    unset = LLMResource()
    with pytest.raises(ValueError, match="TOPIC_CLASSIFIER=llm needs LLM_BASE_URL"):
        ContentSettings(classifier="llm").build_classifier(demo_taxonomy(), TextEmbedderResource(), unset)
    with pytest.raises(ValueError, match="TOPIC_CLASSIFIER='bert' is not one of"):
        ContentSettings(classifier="bert").build_classifier(demo_taxonomy(), TextEmbedderResource(), unset)
    with pytest.raises(ValueError, match="DAILY_CONTENT_WRITER=llm needs"):
        ContentSettings(daily_writer="llm").build_daily_writer(unset)
    assert ContentSettings().build_daily_writer(unset) is None
    assert ContentSettings().build_classifier(demo_taxonomy(), TextEmbedderResource(), unset).embedder is None
    with pytest.raises(ValueError, match="TOPIC_EXAMPLES='/nowhere.jsonl' cannot be read"):
        ContentSettings(examples="/nowhere.jsonl").build_classifier(demo_taxonomy(), TextEmbedderResource(), unset)
    taxonomy_only = ContentSettings(examples="none").build_classifier(demo_taxonomy(), TextEmbedderResource(), unset)
    assert taxonomy_only.examples_used == 0
