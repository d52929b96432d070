"""The vector sync against a real database (SQLite and PostgreSQL), media folder and local Qdrant."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import update

from appdb.recsys_tables import product_vector_state
from assets.recsys.catalog import text_hash
from assets.recsys.vector_sync import OTHER_SHARD
from tests.recsys.helpers import ELIGIBLE, SHARDS, WITH_IMAGE_VECTOR, image_key, jpeg

pytestmark = pytest.mark.slow


def vec(record, name):
    return np.array(record.vector[name], dtype=np.float32)


def test_first_run_builds_one_point_per_eligible_product(harness):
    report = harness.sync()

    points = harness.points()
    assert set(points) == ELIGIBLE
    assert {pid for pid, p in points.items() if "image" in p.vector} == WITH_IMAGE_VECTOR
    assert all("text" in p.vector for p in points.values())
    payload = points[1].payload
    assert payload["category"] == "Clothing / T-shirts" and payload["brand"] == "Acme"
    assert payload["price"] == 101.0 and payload["currency"] == "RUB" and payload["is_available"] is True
    assert payload["shard"] == 1 % SHARDS and payload["source"] == "api"
    assert report.points_created == len(ELIGIBLE) and report.text_embedded == len(ELIGIBLE)
    assert report.excluded.as_dict() == {
        "merged": {"count": 1, "examples": [13]},
        "no_text": {"count": 1, "examples": [11]},
        "unavailable": {"count": 1, "examples": [12]},
    }
    assert report.image_skipped.as_dict() == {
        "corrupt": {"count": 1, "examples": [7]},
        "missing": {"count": 1, "examples": [9]},
        "not_an_image": {"count": 1, "examples": [8]},
    }
    # Products 5 and 6 share the same image bytes: one forward pass, two vectors.
    assert report.image_embedded == len(WITH_IMAGE_VECTOR) and report.image_encoded == len(WITH_IMAGE_VECTOR) - 1
    np.testing.assert_allclose(vec(points[5], "image"), vec(points[6], "image"))
    state = harness.state()
    assert set(state) == ELIGIBLE
    assert state[7]["image_error"] == "corrupt" and state[7]["image_hash"] is None
    assert state[1]["text_hash"] == points[1].payload["text_hash"]
    for shard in range(SHARDS):
        assert harness.coverage(shard).passed


def test_second_run_changes_nothing_and_skips_the_models(harness, text_embedder):
    harness.sync()
    before = harness.points()

    class NoModel:
        model_name = text_embedder.model_name

        def encode(self, texts):
            raise AssertionError(f"no text should be embedded, got {texts}")

    report = harness.sync(text_embedder=NoModel())

    assert report.unchanged == len(ELIGIBLE)
    assert report.text_embedded == report.image_embedded == report.qdrant_requests == 0
    assert report.trusted_shards == list(range(SHARDS)) and report.verified_shards == []
    after = harness.points()
    assert {pid: p.payload for pid, p in after.items()} == {pid: p.payload for pid, p in before.items()}


def test_title_change_re_embeds_only_that_text_vector(harness):
    harness.sync()
    before = harness.points()
    harness.set_product(1, title="Red linen shirt")

    report = harness.sync()

    after = harness.points()
    assert report.text_embedded == 1 and report.image_embedded == 0 and report.points_updated == 1
    assert not np.allclose(vec(before[1], "text"), vec(after[1], "text"))
    np.testing.assert_allclose(vec(before[1], "image"), vec(after[1], "image"))  # the other vector survives
    assert after[1].payload["text_hash"] == harness.state()[1]["text_hash"] != before[1].payload["text_hash"]
    for pid in ELIGIBLE - {1}:
        np.testing.assert_allclose(vec(before[pid], "text"), vec(after[pid], "text"))


def test_image_change_re_embeds_only_that_image_vector(harness):
    harness.sync()
    before = harness.points()
    harness.store.write_bytes(image_key(2), jpeg((250, 250, 0), shape=8))

    report = harness.sync()

    after = harness.points()
    assert report.image_embedded == 1 and report.text_embedded == 0 and report.points_updated == 1
    assert not np.allclose(vec(before[2], "image"), vec(after[2], "image"))
    np.testing.assert_allclose(vec(before[2], "text"), vec(after[2], "text"))
    assert report.verified_shards == [] and report.trusted_shards == [0, 1]


def test_a_bad_image_later_fixed_gets_its_vector_and_a_removed_image_loses_it(harness):
    harness.sync()
    harness.store.write_bytes(image_key(7), jpeg((240, 240, 240)))  # corrupt file replaced
    harness.set_product(1, image_key=None)  # the product no longer has a picture

    report = harness.sync()

    points = harness.points()
    assert "image" in points[7].vector and "image" not in points[1].vector and "text" in points[1].vector
    assert report.image_vectors_removed == 1 and report.image_embedded == 1
    assert harness.state()[7]["image_error"] is None


def test_price_change_updates_the_payload_without_embedding(harness):
    harness.sync()
    harness.set_product(3, price=999)

    report = harness.sync()

    assert report.payload_only_updates == 1 and report.text_embedded == report.image_embedded == 0
    assert harness.points()[3].payload["price"] == 999.0


@pytest.mark.parametrize("change, reason", [
    ({"is_available": False}, "unavailable"),
    ({"merged_into_id": 2}, "merged"),
    ({"title": "", "description": ""}, "no_text"),
])
def test_a_product_that_must_not_have_a_point_loses_it(harness, change, reason):
    harness.sync()
    harness.set_product(1, **change)

    report = harness.sync()

    assert 1 not in harness.points() and 1 not in harness.state()
    assert report.deleted.as_dict() == {reason: {"count": 1, "examples": [1]}}
    assert harness.coverage(1 % SHARDS).passed


def test_a_deleted_product_loses_its_point(harness):
    harness.sync()
    harness.delete_product(14)

    report = harness.sync()

    assert 14 not in harness.points() and 14 not in harness.state()
    assert report.deleted.as_dict() == {"deleted": {"count": 1, "examples": [14]}}


def test_force_re_embeds_everything_without_duplicates(harness):
    harness.sync()

    report = harness.sync(force=True)

    assert report.text_embedded == len(ELIGIBLE) and report.image_embedded == len(WITH_IMAGE_VECTOR)
    assert report.points_created == 0 and report.points_updated == len(ELIGIBLE)
    assert set(harness.points()) == ELIGIBLE


def test_product_ids_mode_touches_only_those_ids(harness):
    harness.sync()
    harness.set_product(1, title="Red linen shirt")
    harness.set_product(2, title="Blue linen shirt")
    harness.set_product(4, is_available=False)
    harness.delete_product(14)

    report = harness.sync(shards=[0], product_ids=[2, 4, 14, 99, 1])

    # shard 0 holds the even ids: 2 re-embedded, 4 (unavailable) and 14 (deleted) removed, 1 reported.
    points = harness.points()
    assert report.text_embedded == 1 and points[2].payload["text_hash"] == text_hash(
        "Blue linen shirt\nAcme\nClothing / T-shirts\nClassic short-sleeve cotton tee")
    assert 4 not in points and 14 not in points
    assert report.deleted.as_dict() == {"deleted": {"count": 1, "examples": [14]}, "unavailable": {"count": 1, "examples": [4]}}
    assert report.skipped.as_dict() == {OTHER_SHARD: {"count": 2, "examples": [1, 99]}}
    assert report.products_seen == 2  # 99 does not exist; 14 is gone
    # product 1 was not asked for: its point still has the old title's text
    assert harness.state()[1]["text_hash"] == points[1].payload["text_hash"]
    assert not harness.coverage(1).passed


def test_an_unavailable_product_asked_for_by_id_is_removed_not_indexed(harness):
    harness.sync()
    harness.set_product(6, is_available=False)

    report = harness.sync(shards=[0], product_ids=[6, 12])  # 12 was never available

    assert 6 not in harness.points() and 12 not in harness.points()
    assert report.excluded.as_dict() == {"unavailable": {"count": 2, "examples": [6, 12]}}
    assert report.deleted.as_dict() == {"unavailable": {"count": 1, "examples": [6]}}


class Crash(RuntimeError):
    pass


def test_a_run_killed_after_some_batches_then_re_run_leaves_everything_right(harness, text_embedder):
    calls = {"n": 0}

    class DiesOnThirdBatch:
        model_name = text_embedder.model_name

        def encode(self, texts):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash("killed")
            return text_embedder.encode(texts)

    with pytest.raises(Crash):
        harness.sync(text_embedder=DiesOnThirdBatch(), text_batch_size=2)

    written = harness.points(with_vectors=False)
    state = harness.state()
    assert 0 < len(written) < len(ELIGIBLE)
    # Nothing recorded for a vector that was not written.
    assert set(state) <= set(written)
    for pid, row in state.items():
        assert row["text_hash"] == written[pid].payload["text_hash"]

    report = harness.sync(text_batch_size=2)

    assert set(harness.points()) == set(harness.state()) == ELIGIBLE
    assert report.points_created == len(ELIGIBLE) - len(written)
    assert report.verified_shards == [0, 1]  # the crash left the store unverified: scanned again
    for shard in range(SHARDS):
        assert harness.coverage(shard).passed


def test_a_qdrant_write_failing_mid_run_records_no_hash_for_the_failed_batch(harness):
    class FailingSecondWrite:
        def __init__(self, inner):
            self.inner, self.writes = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def batch_update_points(self, *args, **kwargs):
            self.writes += 1
            if self.writes == 2:
                raise Crash("qdrant went away")
            return self.inner.batch_update_points(*args, **kwargs)

    class Vectors:
        def __init__(self, real):
            self.real = real

        def storage_fingerprint(self, collection):
            return self.real.storage_fingerprint(collection)

        def client(self):
            from contextlib import contextmanager

            @contextmanager
            def opened():
                with self.real.client() as client:
                    yield FailingSecondWrite(client)

            return opened()

    with pytest.raises(Crash):
        harness.sync(vectors=Vectors(harness.vectors), text_batch_size=3)

    written, state = harness.points(with_vectors=False), harness.state()
    assert set(state) <= set(written) and len(state) == 3  # only the first batch was recorded
    harness.sync(text_batch_size=3)
    assert set(harness.points()) == set(harness.state()) == ELIGIBLE


def test_coverage_finds_a_point_deleted_behind_the_back_and_the_next_run_heals_it(harness):
    harness.sync()
    harness.delete_point_behind_the_back(3)

    coverage = harness.coverage(1)
    assert not coverage.passed and coverage.missing.as_dict() == {"no_point": {"count": 1, "examples": [3]}}

    report = harness.sync()

    assert report.verified_shards == [0, 1]  # the storage changed: both shards scanned, not trusted
    assert report.points_created == 1 and report.text_embedded == 1
    assert 3 in harness.points() and harness.coverage(1).passed


def test_coverage_finds_a_corrupted_hash_and_the_next_run_heals_it(harness):
    harness.sync()
    with harness.engine.begin() as conn:
        conn.execute(update(product_vector_state).where(product_vector_state.c.product_id == 2).values(text_hash="bogus"))

    coverage = harness.coverage(0)
    assert not coverage.passed and coverage.stale.as_dict() == {"bookkeeping_differs": {"count": 1, "examples": [2]}}

    harness.sync()

    assert harness.coverage(0).passed and harness.state()[2]["text_hash"] == harness.points()[2].payload["text_hash"]


def test_coverage_reports_extra_points(harness):
    harness.sync()
    harness.set_product(2, is_available=False)

    coverage = harness.coverage(0)

    assert coverage.extra.as_dict() == {"unavailable": {"count": 1, "examples": [2]}}
    assert coverage.metadata()["extra"] == 1


@pytest.mark.parametrize("in_loaders", [False, True])
def test_images_are_preprocessed_where_the_device_wants_and_give_the_same_vectors(harness, image_embedder, in_loaders):
    """CPU: loader threads only read and decode, the run's thread preprocesses (no OpenMP teams spinning
    against the model's); GPU: loaders preprocess the next batch. Either way the same vectors."""
    import threading

    reference = harness.sync()
    expected = {pid: vec(p, "image") for pid, p in harness.points().items() if "image" in p.vector}
    threads = []

    class Placed:
        model_name = image_embedder.model_name
        preprocess_in_loaders = in_loaders

        dimension = image_embedder.dimension

        def load(self):
            image_embedder.load()

        def preprocess(self, image):
            threads.append(threading.current_thread().name)
            return image_embedder.preprocess(image)

        def encode_tensors(self, tensors):
            return image_embedder.encode_tensors(tensors)

    assert image_embedder.preprocess_in_loaders is False  # the test models run on the CPU
    harness.image_embedder = Placed()
    report = harness.sync(force=True)

    assert report.image_embedded == reference.image_embedded == len(WITH_IMAGE_VECTOR)
    assert threads and all(name.startswith("image-load") == in_loaders for name in threads), threads
    for pid, vector in expected.items():
        np.testing.assert_allclose(vec(harness.points()[pid], "image"), vector, atol=1e-5)
