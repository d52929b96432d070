"""Orphaned media on a real S3-compatible HTTP server (moto in server mode), and S3 error reporting."""

import time
from datetime import datetime, timedelta, timezone

import pytest

from assets.maintenance.orphans import OrphanCapExceeded, OrphanRules, remove_orphans, restore_quarantined, scan_orphans
from resources.media_s3 import S3MediaStore
from tests.maintenance.helpers import keys_of, put_many
from tests.support.http import Reply

OPEN_CAP = OrphanRules(max_fraction=1.0, max_count=10_000)
HOSTILE = ["/abs.jpg", "a/../b.jpg", "back\\slash.jpg", "ctl\x01.jpg"]


class Calls:
    """Observes the requests the client sends (botocore's event hooks; nothing is replaced)."""

    def __init__(self, client):
        self.delete_batches: list[int] = []
        self.list_pages = 0
        client.meta.events.register("provide-client-params.s3.DeleteObjects", self._delete)
        client.meta.events.register("provide-client-params.s3.ListObjectsV2", self._list)

    def _delete(self, params, **_):
        self.delete_batches.append(len(params["Delete"]["Objects"]))

    def _list(self, params, **_):
        self.list_pages += 1


def later(days=3):
    return datetime.now(timezone.utc) + timedelta(days=days)


def test_more_than_1000_objects_pagination_and_batched_deletes(s3_store):
    referenced = [f"products/r{i}.jpg" for i in range(1200)]
    orphans = [f"old/o{i}.jpg" for i in range(1300)]
    protected = [f"ai/gen{i}.png" for i in range(3)] + ["temp/t.bin"]
    put_many(s3_store, referenced + orphans + protected + HOSTILE)
    calls = Calls(s3_store.client)

    scan = scan_orphans(s3_store, lambda: set(referenced), OPEN_CAP, now=later())
    logged: list[str] = []
    outcome = remove_orphans(s3_store, scan, lambda keys: set(), log=logged.append)

    assert scan.scanned == 2508 and calls.list_pages == 3
    assert dict(scan.kept) == {"referenced": 1200, "protected": 4, "hostile_key": 4}
    assert calls.delete_batches == [1000, 300]
    assert sorted(outcome.removed) == sorted(orphans) and outcome.errors == {}
    assert keys_of(s3_store) == set(referenced + protected + HOSTILE)
    assert sum(len(line.split(": ", 1)[1].split(", ")) for line in logged) == 1300  # every removed key logged


def test_empty_references_abort_and_nothing_is_deleted(s3_store):
    put_many(s3_store, [f"products/{i}.jpg" for i in range(30)])
    scan = scan_orphans(s3_store, set, OrphanRules(), now=later())
    assert (scan.candidate_count, scan.cap) == (30, 3)
    with pytest.raises(OrphanCapExceeded, match="refusing to remove 30 orphans: more than the cap of 3"):
        remove_orphans(s3_store, scan, lambda keys: set(), log=print)
    assert len(keys_of(s3_store)) == 30


def test_young_objects_survive(s3_store):
    put_many(s3_store, ["products/early.jpg"])
    time.sleep(2.1)
    put_many(s3_store, ["products/late.jpg"])
    late = next(o for o in s3_store.iter_objects() if o.key == "products/late.jpg").last_modified
    scan = scan_orphans(s3_store, set, OrphanRules(grace=timedelta(seconds=1), max_fraction=1.0), now=late + timedelta(seconds=0.5))
    assert scan.candidates == ["products/early.jpg"] and scan.examples["young"] == ["products/late.jpg"]


def test_quarantine_and_restore_under_a_bucket_prefix(s3_bucket, moto_endpoint):
    store = S3MediaStore(s3_bucket, moto_endpoint, prefix="media")
    put_many(store, ["products/ref.jpg", "products/orphan.jpg", "ai/x.png"])
    outside = S3MediaStore(s3_bucket, moto_endpoint)
    put_many(outside, ["other-app/orphan.jpg"])
    rules = OrphanRules(max_fraction=1.0, quarantine=True)
    now = later()

    scan = scan_orphans(store, lambda: {"products/ref.jpg"}, rules, now=now)
    outcome = remove_orphans(store, scan, lambda keys: set(), log=print)

    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    assert outcome.removed == ["products/orphan.jpg"]
    assert keys_of(outside) == {
        "media/products/ref.jpg",
        "media/ai/x.png",
        f"media/quarantine/{stamp}/products/orphan.jpg",
        "other-app/orphan.jpg",
    }
    report = restore_quarantined(store, rules)
    assert report.restored == ["products/orphan.jpg"]
    assert keys_of(store) == {"products/ref.jpg", "products/orphan.jpg", "ai/x.png"}
    assert store.read_bytes("products/orphan.jpg") == b"x"


DELETE_RESULT = b"""<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>m/a.jpg</Key></Deleted>
  <Error><Key>m/b.jpg</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>"""


def test_per_key_and_whole_batch_errors_are_reported(http_server, aws_env):
    http_server.route(
        "/bucket",
        Reply(200, DELETE_RESULT, content_type="application/xml"),
        Reply(400, b"<Error><Code>InvalidRequest</Code><Message>nope</Message></Error>", content_type="application/xml"),
    )
    store = S3MediaStore("bucket", http_server.url("").rstrip("/"), prefix="m", max_attempts=1)
    assert store.delete_many(["a.jpg", "b.jpg", "../c.jpg"]) == {
        "b.jpg": "AccessDenied: Access Denied",
        "../c.jpg": "refused: '..', '.' or empty path segment",
    }
    errors = store.delete_many(["a.jpg"])
    assert list(errors) == ["a.jpg"] and errors["a.jpg"].startswith("batch failed: An error occurred (InvalidRequest)")
