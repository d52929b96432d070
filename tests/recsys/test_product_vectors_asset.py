"""The asset, its per-shard coverage check, run config, the job, the schedule and the pools in Dagster."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import dagster as dg
from sqlalchemy import text
import pytest

from assets.recsys import build_defs, checks
from assets.recsys.product_vectors import build_product_vectors
from orchestration.settings import Settings
from resources.cache import CacheResource
from resources.database import DatabaseResource
from resources.media import MediaResource
from resources.recsys import RecsysSettings
from resources.vectors import VectorStoreResource
from tests.recsys.helpers import COLLECTION, ELIGIBLE, SHARDS, Harness, seed_catalog

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def setup(db_url, tmp_path, text_embedder, image_embedder):
    harness = Harness(None, tmp_path, text_embedder, image_embedder)
    resources = {
        "database": DatabaseResource(url=db_url),
        "media": MediaResource(root=str(tmp_path / "media")),
        "vectors": VectorStoreResource(path=str(tmp_path / "qdrant")),
        "text_embedder": text_embedder,
        "image_embedder": image_embedder,
        "cache": CacheResource(url=""),
        "recsys": RecsysSettings(collection=COLLECTION, similar_cache_pattern="rec:similar:*"),
    }
    harness.engine = resources["database"].engine
    seed_catalog(harness.engine, harness.store)
    asset, check = build_product_vectors(SHARDS, pool="qdrant_local")
    return harness, resources, asset, check


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.event_specific_data.partition: e.event_specific_data
        for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def metadata(result) -> dict:
    events = result.get_asset_materialization_events()
    return {k: getattr(v, "value", v) for k, v in events[0].materialization.metadata.items()}


@pytest.mark.slow
def test_one_shard_materializes_and_its_check_passes(setup, instance):
    harness, resources, asset, check = setup

    result = dg.materialize([asset, check], resources=resources, partition_key="shard-01", instance=instance)

    meta = metadata(result)
    odd = {pid for pid in ELIGIBLE if pid % 2}
    assert set(harness.points()) == odd
    assert meta["points_created"] == len(odd) and meta["text_embedded"] == len(odd)
    assert meta["image_vectors_untrained"] is True and meta["image_model"] == "tiny-clip-test/untrained"
    assert meta["text_model"] == "multilingual-e5-small-q4" and meta["device"] == "image: cpu, text: cpu"
    assert meta["cache_invalidation"] == "skipped: REDIS_URL unset"
    assert "corrupt" in meta["images_skipped_by_reason"] and "(e.g. 7)" in meta["images_skipped_by_reason"]
    assert "| text_embed |" in meta["timings"]
    assert {k: v.passed for k, v in evaluations(result).items()} == {"shard-01": True}
    # Where it read the change log from, for product_changes_sensor's "already processed".
    with harness.engine.connect() as conn:
        logged = conn.execute(text("SELECT max(seq) FROM product_change")).scalar()
    point = meta["change_log_point"]
    assert point == {"seq": logged} if harness.engine.dialect.name == "sqlite" else sorted(point) == ["xip", "xmax", "xmin"]


@pytest.mark.slow
def test_a_range_run_loads_models_once_and_records_a_check_result_per_shard(setup, instance):
    harness, resources, asset, check = setup
    job = dg.Definitions(
        assets=[asset], asset_checks=[check],
        jobs=[dg.define_asset_job("product_vectors_job", selection=[asset.key])],
        resources=resources,
    ).resolve_job_def("product_vectors_job")

    result = job.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": "shard-00", "dagster/asset_partition_range_end": "shard-01"},
    )

    assert result.success and set(harness.points()) == ELIGIBLE
    assert sorted(e.materialization.partition for e in result.get_asset_materialization_events()) == ["shard-00", "shard-01"]
    assert {k: v.passed for k, v in evaluations(result).items()} == {"shard-00": True, "shard-01": True}
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(asset.key, checks.VECTOR_COVERAGE), limit=10
    )
    assert sorted(record.partition for record in history) == ["shard-00", "shard-01"]


@pytest.mark.slow
def test_check_fails_after_a_point_is_deleted_behind_the_back_and_passes_after_re_materializing(setup, instance):
    harness, resources, asset, check = setup
    dg.materialize([asset, check], resources=resources, partition_key="shard-01", instance=instance)
    harness.delete_point_behind_the_back(3)

    # The check alone, as the UI launches it for one partition (execute_in_process's partition_key
    # validation needs a selected asset, so the partition goes in as the run tag the UI sets).
    only_check = dg.Definitions(
        assets=[asset], asset_checks=[check], resources=resources,
        jobs=[dg.define_asset_job("coverage_only", selection=dg.AssetSelection.checks(check))],
    ).resolve_job_def("coverage_only").execute_in_process(instance=instance, tags={"dagster/partition": "shard-01"})
    failed = evaluations(only_check)["shard-01"]
    assert not failed.passed and failed.metadata["missing"].value == 1 and failed.metadata["missing_examples"].value == [3]

    healed = dg.materialize([asset, check], resources=resources, partition_key="shard-01", instance=instance)
    assert metadata(healed)["points_created"] == 1 and evaluations(healed)["shard-01"].passed


@pytest.mark.slow
def test_sensor_style_run_config_with_changed_ids(setup, instance):
    harness, resources, asset, check = setup
    dg.materialize([asset, check], resources=resources, partition_key="shard-00", instance=instance)
    harness.set_product(2, title="Blue linen shirt")
    harness.set_product(4, title="Sledge hammer")

    result = dg.materialize(
        [asset], resources=resources, partition_key="shard-00", instance=instance,
        run_config={"ops": {"product_vectors": {"config": {"changed_ids": [2]}}}},
    )

    assert metadata(result)["text_embedded"] == 1 and metadata(result)["products_seen"] == 1


@pytest.mark.slow
def test_run_config_product_ids_index_an_unavailable_product_and_the_check_expects_it(setup, instance):
    """The seed's `--product-id 946` "bypasses is_available" (issue 11); changed_ids (the sensor's) do not."""
    harness, resources, asset, check = setup
    dg.materialize([asset], resources=resources, partition_key="shard-00", instance=instance)
    assert 12 not in harness.points()  # unavailable

    result = dg.materialize([asset, check], resources=resources, partition_key="shard-00", instance=instance,
                            run_config={"ops": {"product_vectors": {"config": {"product_ids": [12]}}}})

    assert 12 in harness.points() and metadata(result)["points_created"] == 1
    assert evaluations(result)["shard-00"].passed  # expected, not "extra"
    dg.materialize([asset], resources=resources, partition_key="shard-00", instance=instance,
                   run_config={"ops": {"product_vectors": {"config": {"changed_ids": [12]}}}})
    assert 12 in harness.points()  # still pinned while unavailable


@pytest.mark.slow
def test_a_run_that_changed_points_invalidates_the_similar_cache_in_redis(setup, instance):
    harness, resources, asset, check = setup
    cache = CacheResource(url=REDIS_URL)
    try:
        client = cache.redis()
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    key = lambda pid: f"{prefix}rec:similar:{pid}"  # noqa: E731 - the assumed layout: one key per product
    client.set(key(2), json.dumps([{"id": 3, "score": 0.9}, {"id": 5, "score": 0.8}]))  # 2's cached neighbours
    for pid in (3, 5, 7):
        client.set(key(pid), "[]")
    client.set(f"{prefix}rec:other", "keep")
    resources = {**resources, "cache": cache,
                 "recsys": RecsysSettings(collection=COLLECTION, similar_cache_pattern=f"{prefix}rec:similar:*")}
    try:
        first = dg.materialize([asset], resources=resources, partition_key="shard-00", instance=instance)
        # shard-00's points were created: their keys go, and 2's cached neighbours 3 and 5; 7 stays.
        assert metadata(first)["cache_keys_deleted"] == 3
        assert [client.exists(key(pid)) for pid in (2, 3, 5, 7)] == [0, 0, 0, 1]
        assert "of 2 cached neighbours" in metadata(first)["cache_invalidation"]
        client.set(key(2), "[]")
        client.set(key(4), "[7]")
        second = dg.materialize([asset], resources=resources, partition_key="shard-00", instance=instance)
        assert metadata(second)["cache_invalidation"] == "not needed: no point changed"
        harness.set_product(4, title="Sledge hammer")
        third = dg.materialize([asset], resources=resources, partition_key="shard-00", instance=instance)
        assert metadata(third)["cache_keys_deleted"] == 2  # 4 and its neighbour 7, not 2
        assert [client.exists(key(pid)) for pid in (2, 4, 7)] == [1, 0, 0]
        # A full re-index (force) drops the whole pattern, nothing else.
        client.set(key(9), "[]")
        forced = dg.materialize([asset], resources=resources, partition_key="shard-00", instance=instance,
                                run_config={"ops": {"product_vectors": {"config": {"force": True}}}})
        assert "(full re-index)" in metadata(forced)["cache_invalidation"] and metadata(forced)["cache_keys_deleted"] == 2
        assert client.exists(f"{prefix}rec:other") and not client.exists(key(9))
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


def test_partitions_pool_backfill_policy_and_schedule_follow_the_settings():
    defs = build_defs(Settings({"VECTOR_SHARDS": "4"}))
    (asset,) = defs.assets
    assert asset.partitions_def.get_partition_keys() == ["shard-00", "shard-01", "shard-02", "shard-03"]
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()
    assert asset.op.pool == "qdrant_local"
    (served,) = build_defs(Settings({"QDRANT_URL": "http://qdrant:6333"})).assets
    assert served.op.pool == "embedding"

    (schedule,) = defs.schedules
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING and schedule.cron_schedule == "0 3 */3 * *"
    with dg.instance_for_test() as instance:
        tick = schedule.evaluate_tick(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 4, 3, tzinfo=timezone.utc))
        )
    (request,) = tick.run_requests
    assert request.run_key == "full-2026-11-04"
    assert request.tags["dagster/asset_partition_range_start"] == "shard-00"
    assert request.tags["dagster/asset_partition_range_end"] == "shard-03"
