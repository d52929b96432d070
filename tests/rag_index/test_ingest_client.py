"""The ingest client against a real local HTTP server: pages, retries of transient faults, a refused
key failing at once, malformed pages, and the file:// source."""

import json

import pytest

from resources.ingest import DEMO_DOCUMENTS, IngestError, IngestKeyRefused, IngestResource, IngestUnavailable
from tests.rag_index.conftest import fast_ingest
from tests.support.ingest import item


def test_pages_follow_the_cursor_and_send_the_key(ingest_server, ingest):
    ingest_server.add(*(item("doc-1", f"c{i}", f"بخش {i}") for i in range(5)))
    source = ingest.source()
    first = source.page("", 3)
    assert [i["chunk_id"] for i in first.items] == ["c0", "c1", "c2"] and first.has_more
    second = source.page(first.next_cursor, 3)
    assert [i["chunk_id"] for i in second.items] == ["c3", "c4"] and not second.has_more
    assert source.page(second.next_cursor, 3).items == []


def test_transient_faults_are_retried(ingest_server):
    ingest_server.add(item("doc-1", "c0", "متن"))
    ingest_server.script(500, 429, "drop", 503)
    page = fast_ingest(ingest_server.url, attempts=5).source().page("", 10)
    assert len(page.items) == 1
    assert ingest_server.requests == 5  # four faults, then the answer


def test_wrong_key_fails_at_once_without_retries(ingest_server):
    source = fast_ingest(ingest_server.url, key="wrong").source()
    with pytest.raises(IngestKeyRefused, match="ingest refused the key: HTTP 401"):
        source.page("", 10)
    assert ingest_server.requests == 1


def test_still_failing_after_the_retries_says_so_and_where_the_cursor_stays(ingest_server):
    ingest_server.script(*[500] * 10)
    with pytest.raises(IngestUnavailable, match=r"unavailable after 3 attempts .*cursor stays at 'c7'"):
        fast_ingest(ingest_server.url, attempts=3).source().page("c7", 10)
    assert ingest_server.requests == 3


def test_a_page_that_is_not_the_wire_format_is_an_error(http_server):
    from tests.support.http import Reply

    http_server.route("/api/v1/chunks", Reply(200, b'{"chunks": []}', "application/json"))
    with pytest.raises(IngestError, match="no 'items' list"):
        fast_ingest(http_server.url("")).source().page("", 10)
    http_server.route("/api/v1/chunks", Reply(400, b"bad since", "text/plain"))
    with pytest.raises(IngestError, match="HTTP 400"):
        fast_ingest(http_server.url("")).source().page("x", 10)


def test_file_source_pages_by_position_and_sees_appended_items(tmp_path):
    path = tmp_path / "docs.json"
    path.write_text(json.dumps({"items": [item("d", f"c{i}", "متن") for i in range(3)]}, ensure_ascii=False))
    source = IngestResource(url=path.as_uri()).source()
    page = source.page("", 2)
    assert [i["chunk_id"] for i in page.items] == ["c0", "c1"] and page.next_cursor == "2" and page.has_more
    page = source.page(page.next_cursor, 2)
    assert [i["chunk_id"] for i in page.items] == ["c2"] and not page.has_more
    path.write_text(json.dumps([item("d", f"c{i}", "متن") for i in range(4)]), encoding="utf-8")
    assert [i["chunk_id"] for i in source.page(page.next_cursor, 2).items] == ["c3"]


def test_an_unset_url_is_an_error_never_the_demo_documents():
    with pytest.raises(IngestError, match="INGEST_URL is not set"):
        IngestResource(url="").source()


def test_the_bundled_persian_demo_documents_are_a_file_source():
    page = IngestResource(url=DEMO_DOCUMENTS.as_uri()).source().page("", 1000)
    assert page.items and not page.has_more
    assert any("گذرنامه" in (i.get("text") or "") for i in page.items)


def test_bad_url_is_named():
    with pytest.raises(IngestError, match="INGEST_URL='ftp://x'"):
        IngestResource(url="ftp://x").source()
