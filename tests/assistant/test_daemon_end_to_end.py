"""The seed's integration test, through a real `dagster-daemon` (with the embeddings server, as `make dev`):
a new preset, an edited incompatibility rule and a deleted option each reach the index through
assistant_changes_sensor, on the embedded default (SQLite, local Qdrant)."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import delete, select, text

from appdb.engine import build_engine
from appdb.schema import init_schema
from assets.assistant.demo_catalog import seed_catalog
from assets.assistant.index import chunk_point_id
from assets.assistant.sensor import SENSOR_NAME
from assets.assistant.tables import assistant_change, assistant_document
from tests.support.daemon import ROOT, DagsterDaemon, EmbeddingServer, embedded_env, prepare_home, wait_for

DAGSTER = str(Path(sys.executable).parent / "dagster")


def indexed(engine, key: str):
    """The document row once the live collection holds its current text (None before)."""
    with engine.connect() as conn:
        row = conn.execute(select(assistant_document).where(assistant_document.c.doc_key == key)).one_or_none()
    return row if row is not None and row.active and row.indexed_hash == row.content_hash else None


def gone(engine, key: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(assistant_document.c.doc_key).where(assistant_document.c.doc_key == key)).first() is None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_preset_rule_and_option_changes_reach_the_index_through_the_daemon(tmp_path):
    env = embedded_env(tmp_path, ASSISTANT_CHANGES_QUIET_SECONDS="1")
    prepare_home(env)
    engine = build_engine(env["DATABASE_URL"])
    init_schema(engine)
    seed_catalog(engine)
    done = subprocess.run([DAGSTER, "job", "execute", "-m", "orchestration.definitions", "-j", "assistant_index_job"],
                          cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with engine.begin() as conn:
        conn.execute(delete(assistant_change))  # the build covered the seeding
    assert indexed(engine, "option:801") and not indexed(engine, "product:6")

    embedder = EmbeddingServer(env, tmp_path / "embedder.log")
    daemon = DagsterDaemon({**env, "TEXT_EMBED_URL": embedder.url}, tmp_path / "daemon.log")
    try:
        with embedder, daemon:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO preconfigured_product (id, name, description, base_price) "
                                  "VALUES (6, 'Silent Streamer', 'A quiet streaming PC.', 79)"))
                conn.execute(text("INSERT INTO preconfigured_product_option (product_id, option_id) VALUES (6, 103), (6, 203)"))
            wait_for(lambda: indexed(engine, "product:6"), timeout=300, interval=0.5, what="the new preset in the index")

            with engine.begin() as conn:
                conn.execute(text("UPDATE incompatibility_rule SET reason = 'The card blocks the front radiator.' WHERE id = 14"))
            wait_for(lambda: (row := indexed(engine, "option:701")) and "front radiator" in row.body,
                     timeout=300, interval=0.5, what="the edited rule in the option's document")

            with engine.begin() as conn:
                conn.execute(text("DELETE FROM part_option WHERE id = 801"))
            wait_for(lambda: gone(engine, "option:801"), timeout=300, interval=0.5, what="the deleted option's points removed")
            with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                runs = wait_for(lambda: (rs := instance.get_runs()) and all(r.is_finished for r in rs) and rs,
                                timeout=120, interval=0.5, what="the runs to finish")
    except Exception:
        print(daemon.log()[-6000:], embedder.log()[-3000:])
        raise

    by_sensor = [run for run in runs if run.tags.get("dagster/sensor_name") == SENSOR_NAME]
    assert len(by_sensor) == 3 and all(run.status == dg.DagsterRunStatus.SUCCESS for run in by_sensor)
    assert [run.run_config["ops"]["assistant_documents"]["config"]["entities"] for run in reversed(by_sensor)] == [
        ["product:6"], ["incompatibility_rule:14"], ["category:8", "option:801"]]

    from qdrant_client import QdrantClient

    client = QdrantClient(path=env["QDRANT_PATH"])  # the daemon and its runs are stopped: the lock is free
    try:
        ids = {key: chunk_point_id(key, 0) for key in ("product:6", "incompatibility_rule:14", "option:801", "product:1")}
        points = {p.payload["doc_key"]: p.payload for p in client.retrieve("assistant_knowledge", list(ids.values()), with_payload=True)}
    finally:
        client.close()
    assert sorted(points) == ["incompatibility_rule:14", "product:1", "product:6"]  # option 801's point is gone
    assert "Silent Streamer" in points["product:6"]["text"]
    assert "front radiator" in points["incompatibility_rule:14"]["text"]
    assert "Stock air cooler" not in points["product:1"]["text"]  # the preset no longer lists the deleted option
