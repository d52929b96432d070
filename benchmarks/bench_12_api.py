"""Benchmark 12: the operations API (`platformctl api serve`) against a local dagster-webserver.

A temporary instance holds BENCH_RUNS (10,000) runs of the platform's jobs over 30 days (statuses as
production has them: mostly SUCCESS, some FAILURE/CANCELED, a few QUEUED/STARTED), bulk-inserted
into its SQLite run storage; dagster-webserver loads the platform's code location (workspace.yaml);
the API runs as its own process (uvicorn), as `make dev` starts it.

  (1) status    GET /api/v1/tasks/status/{id} of random runs, open loop at 20 requests/s for
                BENCH_SECONDS (30): p50/p99.                          target p50 <= 50 ms, p99 <= 200 ms
                (and a failed run's status, which also reads the run's failure events)
  (2) /metrics  OPS_METRICS_CACHE_SECONDS=0 (every scrape asks Dagster for runs AND asset states): the
                first scrape and 20 more, with 10,000 runs in the instance.   target <= 500 ms
                Then, in-process, a refresh as the default configuration does it between two asset-state
                refreshes (runs, daemons, seed counters; asset states are re-read every 30 s).

    BENCH_RUNS=2000 BENCH_SECONDS=10 python benchmarks/bench_12_api.py   # quicker
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
import httpx  # noqa: E402

from opsapi.dagster import DagsterApi  # noqa: E402
from opsapi.keys import new_key  # noqa: E402
from opsapi.metrics import MetricsCollector  # noqa: E402
from tests.support.daemon import BackgroundProcess, embedded_env, prepare_home, wait_for  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "10000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
RATE = 20.0
BIN = Path(sys.executable).parent
JOBS = ["posts_job", "currency_rates_job", "reprice_products_job", "product_changes_job", "cleanup_expired_posts_job",
        "cleanup_orphaned_media_job", "cleanup_ai_logs_job", "cleanup_scraper_sessions_job"]  # fmt: skip
STATUSES = [("SUCCESS", 0.86), ("FAILURE", 0.08), ("CANCELED", 0.04), ("QUEUED", 0.01), ("STARTED", 0.01)]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill_runs(home: Path, count: int) -> dict[str, list[str]]:
    """`count` runs straight into the run storage (one transaction; instance.add_run commits each)."""
    with dg.DagsterInstance.get() as instance:  # creates the storage schema
        instance.get_runs(limit=1)
    rng = random.Random(12)
    now = time.time()
    rows, by_status = [], {}
    for _ in range(count):
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        job = rng.choice(JOBS)
        # A queued run's body needs its code origin; the column is what the queue and the counts read.
        body_status = "NOT_STARTED" if status == "QUEUED" else status
        run = dg.DagsterRun(job_name=job, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus[body_status])
        created = now - rng.uniform(60, 30 * 86400)
        start = created + rng.uniform(0.5, 5)
        end = start + rng.uniform(1, 600) if status in ("SUCCESS", "FAILURE", "CANCELED") else None
        stamp = datetime.fromtimestamp(end or start, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows.append((run.run_id, job, status, dg.serialize_value(run), stamp, stamp, start, end))
        by_status.setdefault(status, []).append(run.run_id)
    with sqlite3.connect(home / "history" / "runs.db") as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, pipeline_name, status, run_body, create_timestamp, update_timestamp, start_time, end_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return by_status


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def status_load(base: str, headers: dict, run_ids: list[str]) -> list[float]:
    """Open loop: request i is sent at t0 + i/RATE whatever the previous ones did."""
    latencies: list[float] = []
    lock = threading.Lock()
    client = httpx.Client(base_url=base, headers=headers, timeout=10)
    rng = random.Random(3)

    def one(run_id: str) -> None:
        started = time.perf_counter()
        response = client.get(f"/api/v1/tasks/status/{run_id}")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        with lock:
            latencies.append(elapsed * 1000)

    total = int(SECONDS * RATE)
    t0 = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):
            delay = t0 + i / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, rng.choice(run_ids))
    client.close()
    return latencies


def main() -> None:
    base_dir = Path(tempfile.mkdtemp(prefix="bench12-"))
    env = embedded_env(base_dir)
    prepare_home(env)
    os.environ.update(env)
    started = time.perf_counter()
    by_status = fill_runs(Path(env["DAGSTER_HOME"]), RUNS)
    print(f"{RUNS} runs inserted in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{s} {len(v)}" for s, v in sorted(by_status.items())))

    key, entry = new_key("bench", ["read"])
    (base_dir / "keys.json").write_text(json.dumps({"keys": [entry]}))
    web_port, api_port = free_port(), free_port()
    webserver = BackgroundProcess([str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", str(ROOT / "workspace.yaml")],
                                  env, base_dir / "webserver.log")  # fmt: skip
    api_env = {**env, "DAGSTER_GRAPHQL_URL": f"http://127.0.0.1:{web_port}/graphql", "OPS_API_KEYS_FILE": str(base_dir / "keys.json"),
               "OPS_METRICS_CACHE_SECONDS": "0"}  # fmt: skip
    api = BackgroundProcess([str(BIN / "platformctl"), "api", "serve", "--port", str(api_port)], api_env, base_dir / "api.log")
    base = f"http://127.0.0.1:{api_port}"
    headers = {"X-API-Key": key}
    with webserver, api:
        def ready() -> bool:
            try:
                listed = httpx.post(f"http://127.0.0.1:{web_port}/graphql", json={"query": "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"}, timeout=10)
                return bool(listed.json()["data"]["repositoriesOrError"].get("nodes")) and httpx.get(base + "/health", timeout=2).status_code == 200
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                return False

        wait_for(ready, 300, 1.0, "webserver with the code location, and the API")
        client = httpx.Client(base_url=base, headers=headers, timeout=30)
        for run_id in by_status["SUCCESS"][:20]:  # warm connections and the webserver's caches
            client.get(f"/api/v1/tasks/status/{run_id}")

        latencies = status_load(base, headers, by_status["SUCCESS"])
        p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        print(f"(1) status at {RATE:.0f} req/s for {SECONDS:.0f} s ({len(latencies)} requests, {RUNS} runs in the instance): "
              f"p50 {p50:.1f} ms (target <= 50, ratio {p50 / 50:.2f}), p99 {p99:.1f} ms (target <= 200, ratio {p99 / 200:.2f}), "
              f"max {max(latencies):.1f} ms")  # fmt: skip
        failed = []
        for run_id in by_status["FAILURE"][:20]:
            t = time.perf_counter()
            assert client.get(f"/api/v1/tasks/status/{run_id}").json()["status"] == "FAILURE"
            failed.append((time.perf_counter() - t) * 1000)
        print(f"    a failed run's status (reads its failure events too): p50 {statistics.median(failed):.1f} ms")

        scrapes = []
        for _ in range(21):
            t = time.perf_counter()
            response = client.get("/metrics")
            scrapes.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200 and "dagster_runs{" in response.text
        counts = {line.split("}")[0].split('"')[1]: float(line.split()[-1]) for line in response.text.splitlines() if line.startswith("dagster_runs{")}
        assert counts["SUCCESS"] == len(by_status["SUCCESS"]), counts
        steady = scrapes[1:]
        print(f"(2) /metrics with {RUNS} runs, no cache: first {scrapes[0]:.0f} ms, then p50 {statistics.median(steady):.0f} ms, "
              f"max {max(steady):.0f} ms (target <= 500, ratio {max(scrapes) / 500:.2f}); {len(response.content)} bytes, "
              f"dagster_runs SUCCESS={counts['SUCCESS']:.0f}")  # fmt: skip
        client.close()

        collector = MetricsCollector(DagsterApi(f"http://127.0.0.1:{web_port}/graphql"), cache_s=1e-9)
        collector.render()  # runs + asset states
        runs_only = []
        for _ in range(20):
            t = time.perf_counter()
            collector.render()
            runs_only.append((time.perf_counter() - t) * 1000)
        print(f"    refresh without asset states (the default's usual scrape): p50 {statistics.median(runs_only):.0f} ms, "
              f"max {max(runs_only):.0f} ms (ratio {statistics.median(runs_only) / 500:.2f})")


if __name__ == "__main__":
    main()
