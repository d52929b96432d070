"""Orphaned media: objects in media storage that nothing in the database references.

Every listed object gets exactly one verdict, checked in this order:

| verdict       | rule                                                                  | touched?            |
|---------------|-----------------------------------------------------------------------|---------------------|
| hostile_key   | key is not a plain relative path (`..`, absolute, `\\`, control chars) | never (reported)    |
| quarantined   | under the quarantine prefix                                           | purged after its retention |
| protected     | under a protected prefix (default `ai/`, `temp/`)                     | never               |
| referenced    | a database row refers to the key (see media_refs.MEDIA_REFERENCES)    | never               |
| young         | modified less than the grace period ago (`last_modified >= now - grace`) | never            |
| orphan        | everything else                                                       | deleted or quarantined |

Cap: the run aborts before touching anything when orphans > min(floor(max_fraction x objects),
max_count), where objects = everything listed outside the quarantine prefix. The stricter of the two
limits always applies, so an empty or misconfigured database cannot wipe the bucket.

Just before each batch (<= 1,000 keys) goes, its keys are checked against the database again; a key
that became referenced since the scan stays. Quarantine moves `key` to
`<quarantine_prefix><YYYYMMDDTHHMMSSZ>/<key>`; the timestamp in the key (not the object's mtime)
decides when it is purged, and `restore_quarantined` moves it back.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from resources.media import MediaStore, unsafe_key_reason

BATCH = 1000
EXAMPLES = 20
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

Log = Callable[[str], None]


@dataclass(frozen=True)
class OrphanRules:
    grace: timedelta = timedelta(hours=48)
    protected_prefixes: tuple[str, ...] = ("ai/", "temp/")
    max_fraction: float = 0.1
    max_count: int = 1000
    quarantine: bool = False
    quarantine_prefix: str = "quarantine/"
    quarantine_retention: timedelta = timedelta(days=30)

    def __post_init__(self):
        if not self.quarantine_prefix.endswith("/") or unsafe_key_reason(self.quarantine_prefix.rstrip("/")):
            raise ValueError(f"quarantine prefix {self.quarantine_prefix!r} must be a plain relative path ending in '/'")
        if not 0 <= self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be between 0 and 1, got {self.max_fraction}")
        if self.max_count < 0:
            raise ValueError(f"max_count must be >= 0, got {self.max_count}")

    def cap(self, objects: int) -> int:
        # The epsilon keeps 0.1 x 30 at 3, not 2.9999... floored to 2.
        return min(math.floor(objects * self.max_fraction + 1e-9), self.max_count)


class OrphanCapExceeded(RuntimeError):
    pass


def quarantine_key(rules: OrphanRules, key: str, now: datetime) -> str:
    return f"{rules.quarantine_prefix}{now.astimezone(timezone.utc).strftime(STAMP_FORMAT)}/{key}"


def parse_quarantine_key(rules: OrphanRules, key: str) -> tuple[datetime, str] | None:
    """(when it was quarantined, original key) of a key under the quarantine prefix, or None."""
    stamp, _, original = key[len(rules.quarantine_prefix) :].partition("/")
    try:
        when = datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return (when, original) if original and not unsafe_key_reason(original) else None


@dataclass
class OrphanScan:
    now: datetime
    rules: OrphanRules
    scanned: int = 0
    references: int = 0
    kept: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    candidates: list[str] = field(default_factory=list)  # at most rules.max_count + 1 kept in memory
    candidate_count: int = 0
    candidate_bytes: int = 0
    quarantine_expired: list[str] = field(default_factory=list)
    listing_s: float = 0.0
    references_s: float = 0.0
    diff_s: float = 0.0

    @property
    def objects(self) -> int:
        return self.scanned - self.kept["quarantined"]

    @property
    def cap(self) -> int:
        return self.rules.cap(self.objects)

    @property
    def cap_exceeded(self) -> bool:
        return self.candidate_count > self.cap

    def _keep(self, reason: str, key: str, detail: str = "") -> None:
        self.kept[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < EXAMPLES:
            examples.append(f"{key!r} ({detail})" if detail else key)


def scan_orphans(
    store: MediaStore, load_references: Callable[[], set[str]], rules: OrphanRules, now: datetime | None = None
) -> OrphanScan:
    """Classify every object (see the module docstring); touches nothing."""
    now = now or datetime.now(timezone.utc)
    scan = OrphanScan(now=now, rules=rules)
    started = time.perf_counter()
    references = load_references()
    scan.references = len(references)
    scan.references_s = time.perf_counter() - started

    young_after = now - rules.grace
    expired_before = now - rules.quarantine_retention
    protected = tuple(rules.protected_prefixes)
    objects = iter(store.iter_objects())
    while True:
        t0 = time.perf_counter()
        obj = next(objects, None)
        t1 = time.perf_counter()
        scan.listing_s += t1 - t0
        if obj is None:
            break
        scan.scanned += 1
        key = obj.key
        reason = unsafe_key_reason(key)
        if reason:
            scan._keep("hostile_key", key, reason)
        elif key.startswith(rules.quarantine_prefix):
            parsed = parse_quarantine_key(rules, key)
            scan.kept["quarantined"] += 1
            if parsed is None:
                scan._keep("quarantine_unrecognized", key)
            elif parsed[0] < expired_before:
                scan.quarantine_expired.append(key)
        elif protected and key.startswith(protected):
            scan._keep("protected", key)
        elif key in references:
            scan.kept["referenced"] += 1
        elif obj.last_modified >= young_after:
            scan._keep("young", key)
        else:
            scan.candidate_count += 1
            scan.candidate_bytes += obj.size
            if len(scan.candidates) <= rules.max_count:
                scan.candidates.append(key)
        scan.diff_s += time.perf_counter() - t1
    return scan


@dataclass
class OrphanOutcome:
    removed: list[str] = field(default_factory=list)  # deleted, or moved into quarantine
    referenced_at_recheck: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    purged: list[str] = field(default_factory=list)
    purge_errors: dict[str, str] = field(default_factory=dict)


def _batches(keys: list[str], size: int = BATCH) -> Iterable[list[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def remove_orphans(
    store: MediaStore, scan: OrphanScan, recheck: Callable[[list[str]], set[str]], log: Log
) -> OrphanOutcome:
    """Delete (or quarantine) the scan's orphans and purge expired quarantine; every removed key is logged."""
    if scan.cap_exceeded:
        raise OrphanCapExceeded(
            f"refusing to remove {scan.candidate_count} orphans: more than the cap of {scan.cap} "
            f"(min({scan.rules.max_fraction:g} x {scan.objects} objects, {scan.rules.max_count})); nothing was touched. "
            "Check the database references, or raise the cap for one run if this is expected."
        )
    rules, outcome = scan.rules, OrphanOutcome()
    verb = "quarantined" if rules.quarantine else "deleted"
    for batch in _batches(scan.candidates):
        again = recheck(batch)
        outcome.referenced_at_recheck += [key for key in batch if key in again]
        going = [key for key in batch if key not in again]
        if rules.quarantine:
            errors = {}
            for key in going:
                try:
                    store.move(key, quarantine_key(rules, key, scan.now))
                except Exception as exc:  # noqa: BLE001 - reported per key, the batch goes on
                    errors[key] = f"{exc.__class__.__name__}: {exc}"
        else:
            errors = store.delete_many(going)
        outcome.errors.update(errors)
        done = [key for key in going if key not in errors]
        outcome.removed += done
        if done:
            log(f"{verb} {len(done)} orphaned media objects: " + ", ".join(done))
        for key, error in errors.items():
            log(f"could not remove {key!r}: {error}")
    purge_expired_quarantine(store, scan, outcome, log)
    return outcome


def purge_expired_quarantine(store: MediaStore, scan: OrphanScan, outcome: OrphanOutcome, log: Log) -> None:
    """Delete quarantined objects past their retention. Independent of the references (they were orphans
    when quarantined and nobody restored them), so it also runs when the orphan cap stops the run."""
    for batch in _batches(scan.quarantine_expired):
        errors = store.delete_many(batch)
        outcome.purge_errors.update(errors)
        done = [key for key in batch if key not in errors]
        outcome.purged += done
        if done:
            log(f"purged {len(done)} expired quarantined objects: " + ", ".join(done))


@dataclass
class RestoreReport:
    restored: list[str] = field(default_factory=list)  # original keys (would be restored, on a dry run)
    conflicts: dict[str, str] = field(default_factory=dict)  # original key -> why it stayed in quarantine
    errors: dict[str, str] = field(default_factory=dict)
    considered: int = 0


def restore_quarantined(
    store: MediaStore,
    rules: OrphanRules,
    *,
    batches: Iterable[str] = (),
    keys: Iterable[str] = (),
    dry_run: bool = False,
    log: Log = lambda _msg: None,
) -> RestoreReport:
    """Move quarantined objects back to their keys. Filters: quarantine batches (timestamps) and
    original keys; empty = all. An existing object is never overwritten (reported as a conflict);
    when one key sits in several batches, the newest copy wins."""
    batches, keys = set(batches), set(keys)
    found = []
    for obj in store.iter_objects(prefix=rules.quarantine_prefix):
        parsed = None if unsafe_key_reason(obj.key) else parse_quarantine_key(rules, obj.key)
        if parsed is None:
            continue
        when, original = parsed
        if batches and when.strftime(STAMP_FORMAT) not in batches:
            continue
        if keys and original not in keys:
            continue
        found.append((when, obj.key, original))
    report = RestoreReport(considered=len(found))
    taken: set[str] = set()
    for _when, qkey, original in sorted(found, reverse=True):
        if original in taken:
            report.conflicts[original] = f"newer quarantined copy restored instead of {qkey}"
            continue
        if store.exists(original):
            report.conflicts[original] = f"an object already exists; {qkey} left in quarantine"
            continue
        taken.add(original)
        if not dry_run:
            try:
                store.move(qkey, original)
            except Exception as exc:  # noqa: BLE001 - reported per key
                report.errors[original] = f"{exc.__class__.__name__}: {exc}"
                continue
            log(f"restored {qkey} -> {original}")
        report.restored.append(original)
    return report
