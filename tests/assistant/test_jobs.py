"""The assistant's jobs through Dagster on the embedded default (SQLite, local Qdrant, the bundled model):
first build, rebuild with alias switch, the sensor's job, the CLI; transport errors retried then failing
with a clear message; a bug failing at once."""

import json
import socket

import dagster as dg
import pytest
from click.testing import CliRunner

from appdb.engine import build_engine
from appdb.schema import init_schema
from assets.assistant.demo_catalog import seed_catalog
from assets.assistant.sensor import changes_run_config
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from platformctl.main import cli
from sqlalchemy import text


@pytest.fixture
def platform(tmp_path, monkeypatch):
    """The embedded default under tmp_path, with the demo catalog (the variables reach EnvVar-resolved resources)."""
    env = {
        "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'app.db'}",
        "QDRANT_PATH": str(tmp_path / "data" / "qdrant"), "EMBED_DEVICE": "cpu", "HF_HUB_OFFLINE": "1",
        "ASSISTANT_RETRY_DELAY_SECONDS": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    engine = build_engine(env["DATABASE_URL"])
    init_schema(engine)
    seed_catalog(engine)
    yield engine
    engine.dispose()


def metadata(result, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_index_job_rebuild_job_changes_job_and_search(platform):
    defs = build_definitions(Settings())
    with dg.instance_for_test() as instance:
        first = defs.resolve_job_def("assistant_index_job").execute_in_process(instance=instance)
        built = metadata(first, "assistant_knowledge_index")
        assert built["mode"] == "rebuild" and built["documents_written"] == 60  # no alias yet: built from scratch
        [check] = first.get_asset_check_evaluations()
        assert check.passed and check.metadata["missing"].value == 0 and check.metadata["documents"].value == 60

        rebuilt = defs.resolve_job_def("assistant_rebuild_job").execute_in_process(instance=instance)
        again = metadata(rebuilt, "assistant_knowledge_index")
        assert again["mode"] == "rebuild" and again["previous_collection"] == built["collection"] != again["collection"]
        assert metadata(rebuilt, "assistant_documents")["documents_unchanged"] == 60

        with platform.begin() as conn:
            conn.execute(text("UPDATE part_option SET in_stock = true WHERE id = 104"))
        changes = defs.resolve_job_def("assistant_changes_job").execute_in_process(
            instance=instance, run_config=changes_run_config(["option:104"]))
        incremental = metadata(changes, "assistant_knowledge_index")
        assert incremental["mode"] == "incremental" and incremental["documents_written"] == 3  # option, category, preset 2
        assert changes.get_asset_check_evaluations() == []  # the coverage scan is the nightly's

    result = CliRunner().invoke(cli, ["assistant", "search", "Is the AMD Ryzen 9 7950X in stock?", "--limit", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output.strip().splitlines()[-1])
    assert len(hits) == 2 and set(hits[0]) == {"entity_type", "entity_id", "title", "score"}
    assert (hits[0]["entity_type"], hits[0]["entity_id"]) == ("option", 104)
    plain = CliRunner().invoke(cli, ["assistant", "search", "Budget Gamer price", "--limit", "1"])
    assert plain.exit_code == 0 and "product:1  Preset: Budget Gamer" in plain.output


def test_qdrant_down_is_retried_three_times_then_fails_with_a_clear_message(platform, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    monkeypatch.setenv("QDRANT_URL", f"http://127.0.0.1:{port}")
    defs = build_definitions(Settings())
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("assistant_index_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 3
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error
    assert failure.step_key == "assistant_knowledge_index" and "Exceeded max_retries of 3" in error.message
    assert f"Qdrant (http://127.0.0.1:{port}) or the text embedder" in error.cause.message
    assert "did not answer; the index keeps its last good state" in error.cause.message
    assert metadata(result, "assistant_documents")["documents_created"] == 60  # the documents step was fine


def test_a_bug_fails_at_once_without_retries(platform, tmp_path):
    from qdrant_client import QdrantClient, models

    client = QdrantClient(path=str(tmp_path / "data" / "qdrant"))
    client.create_collection("assistant_knowledge", vectors_config={"text": models.VectorParams(size=4, distance=models.Distance.COSINE)})
    client.close()
    defs = build_definitions(Settings())
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("assistant_index_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "'assistant_knowledge' is a Qdrant collection, not an alias" in failure.step_failure_data.error.cause.message


def test_transport_errors_are_told_from_bugs():
    import httpx
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from assets.assistant.errors import is_transport
    from resources.embedding_api import EmbeddingAPIError
    from resources.vectors import VectorStoreLockedError

    def answer(status: int) -> UnexpectedResponse:
        return UnexpectedResponse(status_code=status, reason_phrase="", content=b"", headers=httpx.Headers())

    transport = [EmbeddingAPIError("TEXT_EMBED_URL='http://x': connection refused"), ResponseHandlingException(ConnectionError()),
                 answer(503), answer(429), VectorStoreLockedError("held"), OperationalError("SELECT 1", {}, Exception("gone")),
                 httpx.ConnectError("refused")]
    bugs = [answer(400), answer(404), ValueError("not an alias"), KeyError("doc_key"), ProgrammingError("SELECT x", {}, Exception("no column"))]
    assert [is_transport(exc) for exc in transport] == [True] * len(transport)
    assert [is_transport(exc) for exc in bugs] == [False] * len(bugs)
