"""Orphaned media on a local folder: what goes, what stays, symlinks, hostile names, cap, quarantine."""

import os
from datetime import datetime, timedelta, timezone

import pytest

from assets.maintenance.orphans import (
    OrphanCapExceeded,
    OrphanRules,
    parse_quarantine_key,
    remove_orphans,
    restore_quarantined,
    scan_orphans,
)
from resources.media import LocalMediaStore
from tests.maintenance.helpers import keys_of, put_file

OPEN_CAP = OrphanRules(max_fraction=1.0, max_count=10_000)
HOSTILE = ["bad\\name.jpg", "ctl\x07.jpg", "line\nbreak.jpg"]


@pytest.fixture
def media(tmp_path):
    """A media root holding every kind of object, and a folder outside it that must survive."""
    root, outside = tmp_path / "media", tmp_path / "outside"
    put_file(outside, "secret.jpg")
    put_file(outside, "dir/inner.jpg")
    for key in ("products/ref.jpg", "products/orphan1.jpg", "banners/orphan2.png", "ai/gen.png", "temp/upload.bin"):
        put_file(root, key)
    put_file(root, "products/fresh.jpg", age=timedelta(hours=1))
    for key in HOSTILE:
        put_file(root, key)
    os.symlink(outside / "secret.jpg", root / "products" / "escape.jpg")
    os.symlink(outside / "dir", root / "linkdir")
    os.symlink(root / "products" / "orphan1.jpg", root / "products" / "inner_link.jpg")
    return root, outside


def run(store, references, rules=OPEN_CAP, now=None, recheck=lambda keys: set()):
    scan = scan_orphans(store, lambda: set(references), rules, now=now)
    return scan, remove_orphans(store, scan, recheck, log=lambda msg: None)


def test_removes_orphans_only_and_never_leaves_the_root(media):
    root, outside = media
    store = LocalMediaStore(root)
    scan, outcome = run(store, {"products/ref.jpg"})

    assert sorted(outcome.removed) == ["banners/orphan2.png", "products/orphan1.jpg"]
    assert not (root / "products/orphan1.jpg").exists()
    for key in ["products/ref.jpg", "ai/gen.png", "temp/upload.bin", "products/fresh.jpg", *HOSTILE]:
        assert (root / key).is_file(), key
    # Symlinks are not objects: neither listed nor followed nor removed; nothing outside is touched.
    assert os.path.islink(root / "products/escape.jpg") and os.path.islink(root / "linkdir")
    assert os.path.islink(root / "products/inner_link.jpg")
    assert (outside / "secret.jpg").is_file() and (outside / "dir/inner.jpg").is_file()
    assert dict(scan.kept) == {"referenced": 1, "protected": 2, "young": 1, "hostile_key": 3}
    assert scan.scanned == 9
    assert sorted(scan.examples["hostile_key"]) == sorted(
        [
            "'bad\\\\name.jpg' (backslash)",
            "'ctl\\x07.jpg' (control character)",
            "'line\\nbreak.jpg' (control character)",
        ]
    )


def test_store_refuses_paths_through_symlinks(media):
    root, outside = media
    store = LocalMediaStore(root)
    errors = store.delete_many(["products/escape.jpg", "linkdir/inner.jpg", "../outside/secret.jpg"])
    assert set(errors) == {"products/escape.jpg", "linkdir/inner.jpg", "../outside/secret.jpg"}
    assert "resolves outside the media root" in errors["products/escape.jpg"]
    assert (outside / "secret.jpg").is_file() and (outside / "dir/inner.jpg").is_file()


def test_empty_references_hit_the_cap_and_nothing_is_deleted(media):
    root, _ = media
    store = LocalMediaStore(root)
    before = keys_of(store)
    scan = scan_orphans(store, set, OrphanRules())
    assert scan.candidate_count == 3 and scan.cap == 0  # floor(0.1 x 9 objects) = 0 < 1000
    with pytest.raises(OrphanCapExceeded, match=r"refusing to remove 3 orphans: more than the cap of 0 \(min\(0.1 x 9 objects, 1000\)\)"):
        remove_orphans(store, scan, lambda keys: set(), log=print)
    assert keys_of(store) == before


def test_cap_is_the_stricter_of_share_and_count():
    rules = OrphanRules(max_fraction=0.1, max_count=1000)
    assert [rules.cap(n) for n in (0, 9, 10, 30, 70, 9_999, 10_000, 50_000)] == [0, 0, 1, 3, 7, 999, 1000, 1000]
    assert OrphanRules(max_fraction=0.5, max_count=3).cap(100) == 3


def test_a_key_referenced_since_the_scan_stays(media):
    root, _ = media
    store = LocalMediaStore(root)
    scan, outcome = run(store, {"products/ref.jpg"}, recheck=lambda keys: {"banners/orphan2.png"} & set(keys))
    assert outcome.removed == ["products/orphan1.jpg"]
    assert outcome.referenced_at_recheck == ["banners/orphan2.png"]
    assert (root / "banners/orphan2.png").is_file()


def test_grace_boundary(tmp_path):
    store = LocalMediaStore(tmp_path)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for name, age in (("older.jpg", timedelta(hours=48, seconds=1)), ("exactly.jpg", timedelta(hours=48))):
        path = put_file(tmp_path, name)
        os.utime(path, ((now - age).timestamp(),) * 2)
    scan = scan_orphans(store, set, OPEN_CAP, now=now)
    assert scan.candidates == ["older.jpg"] and scan.kept["young"] == 1


def test_quarantine_restore_and_purge(media):
    root, _ = media
    store = LocalMediaStore(root)
    rules = OrphanRules(max_fraction=1.0, max_count=10_000, quarantine=True, quarantine_retention=timedelta(days=30))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    scan, outcome = run(store, {"products/ref.jpg"}, rules, now=now)

    assert sorted(outcome.removed) == ["banners/orphan2.png", "products/orphan1.jpg"]
    assert not (root / "products/orphan1.jpg").exists()
    assert (root / f"quarantine/{stamp}/products/orphan1.jpg").is_file()
    assert parse_quarantine_key(rules, f"quarantine/{stamp}/products/orphan1.jpg") == (now, "products/orphan1.jpg")

    # The next run leaves quarantine alone until its retention has passed.
    scan = scan_orphans(store, lambda: {"products/ref.jpg"}, rules, now=now + timedelta(days=1))
    assert scan.kept["quarantined"] == 2 and scan.candidate_count == 0 and scan.quarantine_expired == []

    # Restore one key; an object that exists again meanwhile is never overwritten.
    put_file(root, "banners/orphan2.png", body=b"new upload")
    report = restore_quarantined(store, rules)
    assert report.restored == ["products/orphan1.jpg"]
    assert list(report.conflicts) == ["banners/orphan2.png"]
    assert (root / "products/orphan1.jpg").is_file()
    assert (root / "banners/orphan2.png").read_bytes() == b"new upload"
    # The restored object counts as new: the grace period protects it again.
    restored = next(o for o in store.iter_objects() if o.key == "products/orphan1.jpg")
    assert restored.last_modified > datetime.now(timezone.utc) - timedelta(minutes=5)

    # After the retention the rest of the quarantine is purged.
    scan, outcome = run(store, {"products/ref.jpg"}, rules, now=now + timedelta(days=31))
    assert outcome.purged == [f"quarantine/{stamp}/banners/orphan2.png"]
    # ...while what has become old and unreferenced by then goes into a new batch.
    later = (now + timedelta(days=31)).strftime("%Y%m%dT%H%M%SZ")
    assert sorted(k for k in keys_of(store) if k.startswith("quarantine/")) == [
        f"quarantine/{later}/banners/orphan2.png",
        f"quarantine/{later}/products/fresh.jpg",
        f"quarantine/{later}/products/orphan1.jpg",
    ]


def test_restore_filters_and_dry_run(media):
    root, _ = media
    store = LocalMediaStore(root)
    rules = OrphanRules(max_fraction=1.0, max_count=10_000, quarantine=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    run(store, {"products/ref.jpg"}, rules, now=now)
    dry = restore_quarantined(store, rules, keys=["banners/orphan2.png"], dry_run=True)
    assert dry.restored == ["banners/orphan2.png"] and not (root / "banners/orphan2.png").exists()
    assert restore_quarantined(store, rules, batches=["20250101T000000Z"]).restored == []
    report = restore_quarantined(store, rules, batches=[now.strftime("%Y%m%dT%H%M%SZ")], keys=["banners/orphan2.png"])
    assert report.restored == ["banners/orphan2.png"] and (root / "banners/orphan2.png").is_file()
    assert not (root / "products/orphan1.jpg").exists()
