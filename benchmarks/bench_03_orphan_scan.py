"""Benchmark 03: the orphaned-media scan of 100,000 objects against 100,000 database references.

Storage is a real S3-compatible HTTP server (moto in server mode) running in a child process, so its
CPU and memory are not counted as the scan's. Its bucket is filled through moto's backend directly:
uploading 100,000 objects over HTTP takes minutes here, so the HTTP upload rate is measured once, on
a sample, and reported. References are 100,000 product rows in a SQLite file.

The scan is exactly what cleanup_orphaned_media_job does before deleting (a dry run): load the
references as one set, list the bucket (ListObjectsV2 pages of 1,000), classify every object.
Run 1 takes the times and samples the process RSS; run 2 repeats under tracemalloc for the Python
peak. Targets: reference loading + diffing < 20% of the listing time; peak memory < 300 MB.

    BENCH_OBJECTS=20000 python benchmarks/bench_03_orphan_scan.py   # a quicker, smaller run
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from appdb.engine import build_engine  # noqa: E402
from appdb.schema import init_schema  # noqa: E402
from appdb.tables import product  # noqa: E402
from assets.maintenance.media_refs import load_references  # noqa: E402
from assets.maintenance.orphans import OrphanRules, scan_orphans  # noqa: E402
from resources.media_s3 import S3MediaStore  # noqa: E402

OBJECTS = int(os.environ.get("BENCH_OBJECTS", "100000"))
ORPHANS = OBJECTS // 100
PROTECTED = OBJECTS // 1000
REFERENCED = OBJECTS - ORPHANS - PROTECTED
MISSING_REFERENCES = OBJECTS - REFERENCED  # references to objects that do not exist: 100,000 rows in all
UPLOAD_SAMPLE = 2000
BUCKET = "bench-media"
TARGET_RATIO = 0.20
TARGET_MB = 300

# The child: moto's server on a free port, the bucket filled through the backend, then serve until stdin closes.
SERVER = r"""
import socket, sys, time, logging
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer
objects, orphans, protected, bucket = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False); server.start()
backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
started = time.perf_counter()
backend.create_bucket(bucket, "us-east-1")
for i in range(objects - orphans - protected):
    backend.put_object(bucket, f"products/{i:07d}.jpg", b"", disable_notification=True)
for i in range(orphans):
    backend.put_object(bucket, f"uploads/orphan_{i:07d}.jpg", b"", disable_notification=True)
for i in range(protected):
    backend.put_object(bucket, f"ai/generated/{i:07d}.png", b"", disable_notification=True)
print(f"READY {port} {time.perf_counter() - started:.2f}", flush=True)
sys.stdin.read()
server.stop()
"""


def start_server() -> tuple[subprocess.Popen, str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(OBJECTS), str(ORPHANS), str(PROTECTED), BUCKET],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        proc.kill()
        raise SystemExit(f"moto server did not start: {line}")
    return proc, f"http://127.0.0.1:{line[1]}", float(line[2])


def seed_references(url: str) -> float:
    started = time.perf_counter()
    engine = build_engine(url)
    init_schema(engine)
    now = datetime.now(timezone.utc)
    keys = [f"products/{i:07d}.jpg" for i in range(REFERENCED)] + [f"products/missing_{i:07d}.jpg" for i in range(MISSING_REFERENCES)]
    with engine.begin() as conn:
        for start in range(0, len(keys), 10_000):
            conn.execute(insert(product), [{"title": k, "image_key": k, "updated_at": now} for k in keys[start : start + 10_000]])
    engine.dispose()
    return time.perf_counter() - started


def upload_rate(endpoint: str) -> float:
    """Objects per second uploaded over HTTP with 16 threads (the one upload measurement)."""
    store = S3MediaStore("bench-upload", endpoint)
    store.client.create_bucket(Bucket="bench-upload")
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: store.write_bytes(f"sample/{i}.jpg", b""), range(UPLOAD_SAMPLE)))
    return UPLOAD_SAMPLE / (time.perf_counter() - started)


class RssSampler:
    def __init__(self, interval: float = 0.05):
        self.peak = 0
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.interval = interval

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def scan(endpoint: str, db_url: str):
    store = S3MediaStore(BUCKET, endpoint)
    engine = build_engine(db_url)

    def references():
        with engine.connect() as conn:
            return load_references(conn)

    # Grace 0 and a "now" ahead of the uploads: every object is old enough to be judged.
    rules = OrphanRules(grace=timedelta(0))
    result = scan_orphans(store, references, rules, now=datetime.now(timezone.utc) + timedelta(days=3))
    engine.dispose()
    return result


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print(f"orphan scan: {OBJECTS:,} objects on moto's S3 server, {REFERENCED + MISSING_REFERENCES:,} references in SQLite")
    proc, endpoint, seed_s = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"sqlite:///{tmp}/bench.db"
            db_s = seed_references(db_url)
            rate = upload_rate(endpoint)
            print(f"setup: bucket filled through moto's backend in {seed_s:.1f} s, {REFERENCED + MISSING_REFERENCES:,} rows in {db_s:.1f} s")
            print(f"upload over HTTP (16 threads, {UPLOAD_SAMPLE} objects): {rate:,.0f} objects/s, ~{OBJECTS / rate:,.0f} s for {OBJECTS:,}")

            baseline = psutil.Process().memory_info().rss
            started = time.perf_counter()
            with RssSampler() as rss:
                first = scan(endpoint, db_url)
            wall = time.perf_counter() - started

            tracemalloc.start()
            second = scan(endpoint, db_url)
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)

    assert first.scanned == second.scanned == OBJECTS, first.scanned
    assert first.candidate_count == ORPHANS and first.kept["referenced"] == REFERENCED, dict(first.kept)
    ratio = (first.references_s + first.diff_s) / first.listing_s
    peak_mb = rss.peak / 2**20
    print(
        f"scan wall {wall:.2f} s: listing {first.listing_s:.2f} s ({OBJECTS / first.listing_s:,.0f} objects/s), "
        f"reference loading {first.references_s:.3f} s, diffing {first.diff_s:.3f} s"
    )
    print(f"found {first.candidate_count:,} orphans, kept {dict(first.kept)}")
    print(
        f"memory: peak RSS {peak_mb:.0f} MB (process, baseline {baseline / 2**20:.0f} MB before the scan), "
        f"tracemalloc peak {traced_peak / 2**20:.1f} MB (Python allocations of the scan)"
    )
    ok_ratio, ok_mem = ratio < TARGET_RATIO, peak_mb < TARGET_MB
    print(f"reference loading + diffing = {ratio:.1%} of listing (target < {TARGET_RATIO:.0%}): {'PASS' if ok_ratio else 'FAIL'}")
    print(f"peak memory {peak_mb:.0f} MB (target < {TARGET_MB} MB): {'PASS' if ok_mem else 'FAIL'}")
    return 0 if ok_ratio and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
