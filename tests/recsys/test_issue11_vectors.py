"""Issue 11 in the vector sync: a product asked for by id is indexed even when unavailable (the seed's
--product-id) and stays expected; a storage error while reading an image is retried, not recorded as a
bad file; only the similar-products cache keys of changed products (and their cached neighbours) go."""

from sqlalchemy import select

from appdb.recsys_tables import product_vector_pin
from assets.recsys import images
from assets.recsys.catalog import UNAVAILABLE


def pins(harness) -> set[int]:
    with harness.engine.connect() as conn:
        return set(conn.execute(select(product_vector_pin.c.product_id)).scalars())


def test_a_product_asked_for_by_id_is_indexed_even_when_unavailable_and_stays(harness):
    harness.sync()
    assert 12 not in harness.points()  # never available: not indexed by a full run
    harness.set_product(6, is_available=False)

    report = harness.sync(shards=[0], product_ids=[6, 12], pin_ids=[6, 12])

    points = harness.points()
    assert {6, 12} <= set(points) and points[12].payload["is_available"] is False
    assert report.pinned.as_dict() == {UNAVAILABLE: {"count": 2, "examples": [6, 12]}}
    assert report.deleted.total() == 0 and pins(harness) == {6, 12}
    # The coverage check expects them (not "extra"), and a full run keeps and updates them.
    assert harness.coverage(0).passed, harness.coverage(0).stale.as_dict()
    harness.set_product(12, title="Old drill, last one")
    full = harness.sync()
    assert full.deleted.total() == 0 and 12 in harness.points() and full.text_embedded == 1
    assert harness.coverage(0).passed


def test_a_pin_ends_when_the_product_is_available_again_or_merged(harness):
    harness.sync(shards=[0], product_ids=[12], pin_ids=[12])
    harness.sync(shards=[0], product_ids=[6], pin_ids=[6])  # 6 is available: nothing to pin
    assert pins(harness) == {12}
    harness.set_product(12, is_available=True)
    harness.sync(shards=[0])
    assert pins(harness) == set() and 12 in harness.points()
    harness.set_product(12, is_available=False)
    report = harness.sync(shards=[0])  # the usual rules again
    assert 12 not in harness.points() and report.deleted.as_dict()[UNAVAILABLE]["examples"] == [12]


def test_merged_or_deleted_products_are_not_indexed_even_when_asked_for(harness):
    harness.sync(shards=[0], product_ids=[12], pin_ids=[12])
    harness.set_product(12, merged_into_id=2)
    report = harness.sync(shards=[0], product_ids=[12], pin_ids=[12])
    assert 12 not in harness.points() and pins(harness) == set()
    assert report.deleted.as_dict() == {"merged": {"count": 1, "examples": [12]}}


class FlakyStore:
    """The test media folder, with reads of some keys failing like a storage outage (not a missing file)."""

    def __init__(self, store, failing: set[str]):
        self._store, self.failing = store, failing

    def __getattr__(self, name):
        return getattr(self._store, name)

    def read_bytes(self, key: str) -> bytes:
        if key in self.failing:
            raise ConnectionError("storage endpoint reset the connection")
        return self._store.read_bytes(key)


def test_a_storage_error_is_retried_next_run_counted_and_reported_by_the_check(harness):
    original = harness.store
    harness.store = FlakyStore(original, {"products/2.jpg", "products/4.jpg"})
    report = harness.sync()
    assert report.image_skipped.as_dict()[images.STORAGE_ERROR] == {"count": 2, "examples": [2, 4]}
    assert report.image_retry == 2
    assert harness.state()[2]["image_error"] == images.STORAGE_ERROR
    coverage = harness.coverage(0)
    assert not coverage.passed
    assert coverage.metadata()["stale_by_reason"]["image_read_failed"]["examples"] == [2, 4]

    harness.store = original  # the storage is back: the same files are read again and embedded
    again = harness.sync()
    assert again.image_embedded == 2 and harness.state()[2]["image_error"] is None
    assert {2, 4} <= {pid for pid, p in harness.points().items() if p.vector.get("image") is not None}
    assert harness.coverage(0).passed


def test_a_file_that_was_read_and_failed_to_decode_is_not_read_again(harness):
    harness.sync()
    assert harness.state()[7]["image_error"] == images.CORRUPT
    harness.store = FlakyStore(harness.store, {"products/7.jpg"})  # a re-read would fail loudly
    report = harness.sync()
    assert report.image_retry == 0 and report.image_skipped.as_dict()[images.CORRUPT]["examples"] == [7]
    assert harness.coverage(1).passed


def test_a_changed_image_whose_read_failed_is_retried_not_taken_as_unchanged(harness):
    harness.sync()
    before = harness.points()[2].payload["image_hash"]
    from tests.recsys.helpers import jpeg

    harness.store.write_bytes("products/2.jpg", jpeg((5, 200, 5), shape=3))
    original = harness.store
    harness.store = FlakyStore(original, {"products/2.jpg"})
    harness.sync()
    assert harness.points()[2].payload["image_hash"] == before  # the last good vector is kept meanwhile
    harness.store = original
    report = harness.sync()
    assert report.image_embedded == 1 and harness.points()[2].payload["image_hash"] != before
