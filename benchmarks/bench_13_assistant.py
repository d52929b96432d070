"""Benchmark 13: the configurator shop's assistant knowledge index (seed 002, issue 13).

  (1) rebuild        BENCH_DOCS (10,000) documents of a synthetic catalog (categories, options, rules,
                     presets; rendered by assistant_documents) rebuilt into a new collection with the alias
                     switch (local Qdrant, the bundled model on the CPU), against a bare `encode` of the same
                     chunk texts in the same batches.                 target: bare / rebuild >= 0.85
  (2) no-op nightly  what the nightly assistant_index_job does over the same unchanged catalog: full
                     re-render (hash compare), reconcile (every point's payload against every document)
                     and the coverage check.                          target: < 2% of the rebuild
  (3) searches       during a second rebuild, a search (encode_queries + query on the alias) every 100 ms
                     from another thread sharing the client (local mode allows one process; against a
                     Qdrant server the searcher would be another process).  target: 100% answered
  (4) latency        the real dagster-daemon with the embeddings server (as `make dev`), quiet period 5 s:
                     BENCH_CHANGES (6) option edits, one at a time, each timed from commit until the live
                     collection holds the new text (indexed_hash written right after the upsert).
                                                                       target: p50 <= 12 s
                     Then BENCH_CHANGES_30 (2) with the seed's 30 s quiet period (reported).

    BENCH_DOCS=2000 BENCH_CHANGES=3 BENCH_CHANGES_30=1 python benchmarks/bench_13_assistant.py   # quicker
    BENCH_DOCS=0 BENCH_CHANGES=10 python benchmarks/bench_13_assistant.py                         # latency only
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlalchemy import delete, select, text  # noqa: E402

from appdb.engine import build_engine  # noqa: E402
from appdb.schema import init_schema  # noqa: E402
from assets.assistant.demo_catalog import seed_catalog  # noqa: E402
from assets.assistant.documents import sync_documents  # noqa: E402
from assets.assistant.index import TEXT, KnowledgeIndex, chunk_texts  # noqa: E402
from assets.assistant.tables import (  # noqa: E402
    assistant_change, assistant_document, configurator_category, incompatibility_rule, part_option,
    preconfigured_product, preconfigured_product_option, price_adjustment_rule,
)
from resources.embedders import TextEmbedderResource  # noqa: E402
from resources.vectors import ensure_collection  # noqa: E402
from tests.support.daemon import DagsterDaemon, EmbeddingServer, embedded_env, prepare_home, wait_for  # noqa: E402

DOCS = int(os.environ.get("BENCH_DOCS", "10000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "6"))
CHANGES_30 = int(os.environ.get("BENCH_CHANGES_30", "2"))
ALIAS = "assistant_knowledge"
WORDS = ("quiet fast compact efficient premium budget silent overclockable modular durable cool low-profile "
         "white black RGB wireless certified refurbished gaming workstation").split()


def synthetic_catalog(engine, docs: int) -> None:
    """About `docs` entities: 2% categories, 60% options, 20% incompatibility rules, 8% price rules, 10% presets."""
    rng = random.Random(13)
    n_cat, n_opt = max(2, docs // 50), int(docs * 0.6)
    n_inc, n_price = int(docs * 0.2), int(docs * 0.08)
    n_preset = docs - n_cat - n_opt - n_inc - n_price
    words = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))  # noqa: E731
    with engine.begin() as conn:
        conn.execute(configurator_category.insert(), [
            {"id": i, "name": f"Category {i} {words(2)}", "description": f"Parts of kind {i}: {words(12)}."} for i in range(1, n_cat + 1)])
        conn.execute(part_option.insert(), [
            {"id": i, "category_id": rng.randint(1, n_cat), "name": f"Part {i} {words(3)}",
             "description": f"A {words(15)} part.", "price": Decimal(rng.randint(5, 2000)), "in_stock": rng.random() > 0.2}
            for i in range(1, n_opt + 1)])
        conn.execute(incompatibility_rule.insert(), [
            {"id": i, "option_id": rng.randint(1, n_opt), "incompatible_option_id": rng.randint(1, n_opt),
             "reason": f"They do not fit together: {words(10)}."} for i in range(1, n_inc + 1)])
        conn.execute(price_adjustment_rule.insert(), [
            {"id": i, "option_id": rng.randint(1, n_opt), "depends_on_option_id": rng.randint(1, n_opt),
             "price_delta": Decimal(rng.randint(-50, 50)), "description": f"Bundle {words(4)}."} for i in range(1, n_price + 1)])
        conn.execute(preconfigured_product.insert(), [
            {"id": i, "name": f"Preset {i} {words(2)}", "description": f"A {words(10)} build.", "base_price": Decimal(rng.randint(20, 200))}
            for i in range(1, n_preset + 1)])
        conn.execute(preconfigured_product_option.insert(), [
            {"product_id": i, "option_id": o} for i in range(1, n_preset + 1) for o in sorted(rng.sample(range(1, n_opt + 1), 8))])


def bench_index(base: Path) -> None:
    from qdrant_client import QdrantClient

    engine = build_engine(f"sqlite:///{base / 'bench.db'}")
    init_schema(engine)
    synthetic_catalog(engine, DOCS)
    started = time.perf_counter()
    report = sync_documents(engine)
    render_s = time.perf_counter() - started
    embedder = TextEmbedderResource(device="cpu")
    embedder.load()
    with engine.connect() as conn:
        rows = conn.execute(select(assistant_document.c.title, assistant_document.c.body)).all()
    texts = [chunk for row in rows for chunk in chunk_texts(row.title, row.body, 1500)]
    print(f"catalog: {report.rendered} documents rendered in {render_s:.1f} s, {len(texts)} chunks, "
          f"mean {statistics.mean(len(t) for t in texts):.0f} characters; model {embedder.model_name} on {embedder.resolved_device}")
    embedder.encode(texts[:64])  # warm-up

    client = QdrantClient(path=str(base / "qdrant"), force_disable_check_same_thread=True)
    index = KnowledgeIndex(engine, client, ALIAS, embedder,
                           ensure_collection=lambda c, name: ensure_collection(c, name, {TEXT: embedder.dimension}))
    started = time.perf_counter()
    for start in range(0, len(texts), index.embed_batch):
        embedder.encode(texts[start : start + index.embed_batch])
    bare_s = time.perf_counter() - started
    started = time.perf_counter()
    rebuilt = index.rebuild()
    rebuild_s = time.perf_counter() - started
    print(f"(1) bare encode {bare_s:.1f} s; rebuild {rebuild_s:.1f} s ({rebuilt.points_written} points; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(rebuilt.timings.items()))
          + f"); ratio {bare_s / rebuild_s:.2f}x (target >= 0.85)")

    started = time.perf_counter()
    docs = sync_documents(engine)
    render_s = time.perf_counter() - started
    started = time.perf_counter()
    noop = index.reconcile()
    reconcile_s = time.perf_counter() - started
    started = time.perf_counter()
    coverage = index.coverage()
    coverage_s = time.perf_counter() - started
    total = render_s + reconcile_s + coverage_s
    print(f"(2) no-op nightly {total:.2f} s (render {render_s:.2f}, reconcile {reconcile_s:.2f}, coverage {coverage_s:.2f}); "
          f"{docs.updated} documents updated, {noop.documents_written} embedded, coverage ok={coverage.ok}; "
          f"{100 * total / rebuild_s:.2f}% of the rebuild (target < 2%)")

    issued, answered, latencies = [0], [0], []
    stop = threading.Event()

    def searcher():
        while not stop.is_set():
            issued[0] += 1
            began = time.perf_counter()
            try:
                vector = embedder.encode_queries(["Which part is incompatible with the quiet compact preset?"])[0]
                if client.query_points(ALIAS, query=vector.tolist(), using=TEXT, limit=5).points:
                    answered[0] += 1
            except Exception as exc:  # noqa: BLE001 - a failed search is counted, not fatal
                print(f"    search failed: {exc!r}")
            latencies.append(time.perf_counter() - began)
            stop.wait(max(0.0, 0.1 - (time.perf_counter() - began)))

    thread = threading.Thread(target=searcher)
    thread.start()
    started = time.perf_counter()
    try:
        again = index.rebuild()
    finally:
        stop.set()
        thread.join()
    print(f"(3) searches during a rebuild ({time.perf_counter() - started:.1f} s, alias {again.previous_collection} -> "
          f"{again.collection}): {answered[0]}/{issued[0]} answered ({100 * answered[0] / max(issued[0], 1):.1f}%, target 100%), "
          f"search p50 {1000 * statistics.median(latencies):.0f} ms, max {1000 * max(latencies):.0f} ms")
    client.close()
    engine.dispose()


def bench_latency(base: Path, quiet: int, changes: int) -> list[float]:
    env = embedded_env(base, ASSISTANT_CHANGES_QUIET_SECONDS=str(quiet))
    prepare_home(env)
    engine = build_engine(env["DATABASE_URL"])
    init_schema(engine)
    seed_catalog(engine)
    import subprocess

    done = subprocess.run([str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "orchestration.definitions",
                           "-j", "assistant_index_job"], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    with engine.begin() as conn:
        conn.execute(delete(assistant_change))
    embedder = EmbeddingServer(env, base / "embedder.log")
    daemon = DagsterDaemon({**env, "TEXT_EMBED_URL": embedder.url}, base / "daemon.log")
    latencies = []
    with embedder, daemon:
        time.sleep(10)  # the daemon's first sensor look (a tick with nothing to do)
        for n in range(changes):
            option = 101 + n % 4
            marker = f"edition {quiet}-{n}"
            with engine.begin() as conn:
                conn.execute(text("UPDATE part_option SET description = :d WHERE id = :id"), {"d": f"Now the {marker}.", "id": option})
            started = time.monotonic()

            def searchable():
                with engine.connect() as conn:
                    row = conn.execute(select(assistant_document).where(assistant_document.c.doc_key == f"option:{option}")).one()
                return marker in row.body and row.indexed_hash == row.content_hash

            wait_for(searchable, timeout=300, interval=0.2, what=f"change {n}")
            latencies.append(time.monotonic() - started)
            print(f"    quiet {quiet} s, change {n}: searchable after {latencies[-1]:.1f} s", flush=True)
    return latencies


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench13-") as tmp:
        base = Path(tmp)
        (base / "index").mkdir()
        if DOCS:  # BENCH_DOCS=0: only the latency part
            bench_index(base / "index")
        for quiet, changes, target in ((5, CHANGES, " (target p50 <= 12 s)"), (30, CHANGES_30, " (the seed's quiet period)")):
            if not changes:
                continue
            folder = base / f"latency{quiet}"
            folder.mkdir()
            latencies = bench_latency(folder, quiet, changes)
            print(f"(4) change -> searchable through the daemon, quiet {quiet} s: p50 {statistics.median(latencies):.1f} s, "
                  f"max {max(latencies):.1f} s over {len(latencies)} changes{target}", flush=True)


if __name__ == "__main__":
    main()
