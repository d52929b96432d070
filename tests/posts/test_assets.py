"""The posts assets, check and cleanup job run by Dagster, with real resources (local LLM endpoint,
local pages, SQLite, Qdrant local mode, the default text model for the local tagger)."""

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
from sqlalchemy import delete, select

import assets.posts
from appdb.posts_tables import post_graph_edge
from appdb.tables import post_enrichment
from assets.posts import checks
from assets.posts.grounding import match_form
from orchestration.settings import Settings
from resources.database import DatabaseResource
from resources.embedders import TextEmbedderResource
from resources.llm import LLMResource
from resources.posts import PostsSettings
from resources.tagging import TaggerResource
from resources.vectors import VectorStoreResource
from resources.web import WebFetcherResource
from tests.posts.conftest import DAY_KEY, at, chat_answer, insert_posts, tags_answer
from tests.support.http import Reply

PATH = "/v1/chat/completions"


@pytest.fixture
def defs_for(sqlite_url, tmp_path, http_server):
    def build(tagger: str = "llm", **overrides) -> dg.Definitions:
        port = int(http_server.url().rsplit(":", 1)[1].strip("/"))
        resources = {
            "database": DatabaseResource(url=sqlite_url),
            "tagger": TaggerResource(kind=tagger, max_tags=4, llm_concurrency=1),  # replies in post order
            "llm": LLMResource(base_url=http_server.url("/v1"), model="test-model", attempts=1),
            "text_embedder": TextEmbedderResource(device="cpu"),
            "web": WebFetcherResource(allow_loopback=True, allowed_ports=[80, 443, port], read_timeout_s=1),
            "vectors": VectorStoreResource(path=str(tmp_path / "qdrant")),
            "posts": PostsSettings(ttl_days=30),
            **overrides,
        }
        domain = assets.posts.build_defs(Settings({"DATA_DIR": str(tmp_path), "TAGGER": tagger}))
        return dg.Definitions.merge(domain, dg.Definitions(resources=resources))

    return build


def _metadata(result, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def test_post_tags_asset_and_its_check(defs_for, sqlite_url, http_server, instance):
    from appdb.engine import build_engine

    engine = build_engine(sqlite_url)
    insert_posts(engine, [(1, "dev", "Rust and Go", at(9)), (2, "dev", "Go", at(10)), (3, "dev", "Zig", at(11))])
    http_server.route(PATH, tags_answer("Rust", "Go", "Haskell"), tags_answer("Go"), chat_answer("no JSON here"))
    defs = defs_for()
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, partition_key=DAY_KEY, asset_selection=[dg.AssetKey("post_tags")])
    assert result.success
    meta = _metadata(result, "post_tags")
    assert (meta["posts"], meta["posts_tagged"], meta["posts_failed"], meta["tags_rejected"]) == (3, 2, 1, 1)
    assert (meta["rows_inserted"], meta["rows_updated"], meta["rows_unchanged"]) == (2, 0, 0)
    assert meta["tagger"] == "llm:test-model:max4"
    assert meta["change_log_point"] == {"seq": 3}  # read after the three posts' changes were committed
    assert "invalid_json" in meta["failed_by_reason"] and "post 3" in meta["failed_by_reason"]
    assert "not_in_text" in meta["rejected_by_reason"] and "Haskell" in meta["rejected_by_reason"]
    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed) == (checks.TAGS_PERSISTED, True)

    with engine.begin() as conn:
        conn.execute(delete(post_enrichment).where(post_enrichment.c.post_id == 2))
    check_job = dg.define_asset_job(
        "check_only_job", selection=dg.AssetSelection.checks(dg.AssetCheckKey(dg.AssetKey("post_tags"), checks.TAGS_PERSISTED))
    )
    check_defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[check_job]))
    # The check alone, as the UI launches it for one partition (the run tag the UI sets).
    check_only = check_defs.resolve_job_def("check_only_job").execute_in_process(
        instance=instance, tags={"dagster/partition": DAY_KEY}
    )
    [evaluation] = check_only.get_asset_check_evaluations()
    assert evaluation.passed is False
    assert evaluation.metadata["tagged_without_persisted_tags"].value == 1
    assert evaluation.metadata["example_post_ids"].value == "2"


def test_post_tags_fails_the_run_when_the_tagger_fails_every_post(defs_for, sqlite_url, http_server, instance):
    from appdb.engine import build_engine

    insert_posts(build_engine(sqlite_url), [(1, "dev", "a", at(9)), (2, "dev", "b", at(10))])
    http_server.route(PATH, Reply(401, b"bad key"))
    job = defs_for().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, partition_key=DAY_KEY, asset_selection=[dg.AssetKey("post_tags")], raise_on_error=False
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "the tagger failed on all 2 posts" in failure.message and "http_error" in failure.message


@pytest.mark.slow
def test_posts_job_over_a_range_with_the_local_tagger_then_cleanup(defs_for, sqlite_url, http_server, instance):
    """The whole posts_job over two days in one run (single-run backfill), the real default model tagging
    Russian and English posts, a local page enriched, the demo's hostile links refused."""
    from appdb.engine import build_engine

    engine = build_engine(sqlite_url)
    page = http_server.route("/guide", Reply(200, b"<html><head><title>Guide</title></head><body><p>Autoscaling guide text.</p></body></html>", "text/html"))
    insert_posts(engine, [
        (1, "dev_digest", f"A practical guide to Kubernetes autoscaling. Read more: {page}", at(9)),
        (2, "tech_ru", "Курс рубля к доллару укрепился на открытии торгов. Источник: http://169.254.169.254/latest/meta-data/", at(10)),
        (3, "dev_digest", "PostgreSQL 17 speeds up vacuum and bulk loading.", at(12) + timedelta(days=1)),
    ])
    defs = defs_for(tagger="local", posts=PostsSettings(ttl_days=3650))  # the fixed test days lie in the past
    day2 = (datetime.fromisoformat(DAY_KEY) + timedelta(days=1)).date().isoformat()
    result = defs.resolve_job_def("posts_job").execute_in_process(
        instance=instance, tags={"dagster/asset_partition_range_start": DAY_KEY, "dagster/asset_partition_range_end": day2}
    )
    assert result.success
    tags_meta = _metadata(result, "post_tags")
    assert (tags_meta["posts"], tags_meta["posts_tagged"], tags_meta["tags_rejected"]) == (3, 3, 0)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(post_enrichment.c.post_id, post_enrichment.c.data).where(post_enrichment.c.kind == "tags")).all())
        crawl = dict(conn.execute(select(post_enrichment.c.post_id, post_enrichment.c.data).where(post_enrichment.c.kind == "crawl")).all())
        texts = {1: "A practical guide to Kubernetes autoscaling.", 2: "Курс рубля к доллару укрепился на открытии торгов.",
                 3: "PostgreSQL 17 speeds up vacuum and bulk loading."}
    for pid, data in stored.items():
        assert 1 <= len(data["tags"]) <= 4 and data["tags"] == sorted(data["tags"])
        assert all(match_form(tag) in match_form(texts[pid]) for tag in data["tags"]), data
    assert crawl[1]["links"][0]["ok"] and crawl[1]["links"][0]["title"] == "Guide"
    assert crawl[2]["links"][0]["reason"] == "refused_address"
    assert _metadata(result, "post_vectors")["points_created"] == 3
    assert _metadata(result, "post_graph")["posts"] == 3
    evaluations = result.get_asset_check_evaluations()
    assert sorted((e.partition, e.passed) for e in evaluations) == [(DAY_KEY, True), (day2, True)]

    # Nothing has expired yet: the cleanup job (dry run) finds nothing to remove in Qdrant.
    cleanup = defs.resolve_job_def("cleanup_expired_posts_job")
    dry = cleanup.execute_in_process(instance=instance, run_config={"ops": {"cleanup_expired_posts_op": {"config": {"dry_run": True}}}})
    assert dry.success
    [output] = [e for e in dry.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert output.event_specific_data.metadata["would_remove_qdrant_points"].value == 0
    # Ten years on, everything has expired: Qdrant and the graph are emptied.
    with engine.begin() as conn:
        conn.execute(post_graph_edge.delete())  # orphan some tags, so the cleanup has graph work
    from assets.posts.cleanup import ExpiredPostsCleanup

    vectors = defs.resources["vectors"]
    report = ExpiredPostsCleanup(engine, vectors.client, "posts").run(now=datetime.now(timezone.utc) + timedelta(days=3651))
    assert report.deleted["qdrant_points"] == 3 and report.deleted["graph_posts"] == 3 and report.deleted["graph_tags"] > 0
