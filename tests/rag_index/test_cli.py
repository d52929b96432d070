"""`platformctl rag search` and `platformctl rag status` on a synced index (the bundled Persian documents)."""

import json

import dagster as dg
from click.testing import CliRunner

from platformctl.main import cli
from resources.ingest import DEMO_DOCUMENTS


def test_search_and_status_after_a_sync(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "RAG_DATABASE_URL", "QDRANT_URL", "QDRANT_PATH", "TEXT_EMBED_URL", "TEXT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INGEST_URL", DEMO_DOCUMENTS.as_uri())  # what `make demo` sets
    monkeypatch.setenv("EMBED_DEVICE", "cpu")
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "init"]).exit_code == 0
    missing = runner.invoke(cli, ["rag", "search", "گذرنامه"])
    assert missing.exit_code != 0 and "no collection 'rag_chunks' yet" in missing.output

    from orchestration.definitions import build_definitions

    with dg.instance_for_test() as instance:
        assert build_definitions().resolve_job_def("rag_sync_job").execute_in_process(instance=instance).success

    # A chunk's own text comes first with any model (Persian retrieval quality: bench_09).
    question = "مدارک لازم برای تمدید گذرنامه: اصل شناسنامه، کارت ملی، گذرنامه قبلی و یک قطعه عکس جدید."
    found = runner.invoke(cli, ["rag", "search", question, "--limit", "2", "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert len(hits) == 2 and hits[0]["document_id"] == "passport-renewal" and hits[0]["metadata"]["title"] == "تمدید گذرنامه"

    status = runner.invoke(cli, ["rag", "status"])
    assert status.exit_code == 0, status.output
    assert "cursor:     '18'" in status.output and "lag:        0 items not synced yet" in status.output
    assert "15 points" in status.output and "rejected:   1 items: no_document_id 1" in status.output
    assert "deletes:    1 documents, 0 chunks recorded" in status.output
