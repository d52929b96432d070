"""`post_vectors` embeds what a post's links say (post_link_enrichments), bounded, and a changed linked
page re-embeds the post: real MiniLM, Qdrant local mode, SQLite."""

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from appdb.engine import build_engine
from assets.posts.store import upsert_enrichments
from assets.posts.vectors import LINK_TEXT_CHARS, LINKS_TEXT_CHARS, TEXT, PostVectorSync, embedded_text, linked_text
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from resources.embedders import TextEmbedderResource
from resources.vectors import VectorStoreResource, ensure_collection
from tests.posts.conftest import DAY, DAY_KEY, at, insert_posts

COLLECTION = "posts"


def crawl(*links: dict) -> dict:
    return {"links": list(links)}


def page(url: str, title: str, text: str) -> dict:
    return {"url": url, "ok": True, "content_type": "text/html", "title": title, "text": text, "text_truncated": False}


def set_crawl(engine, data: dict[int, dict]) -> None:
    with engine.begin() as conn:
        upsert_enrichments(conn, "crawl", data, datetime.now(timezone.utc))


def test_linked_text_skips_failures_and_is_bounded():
    failed = {"url": "http://x.test/a", "ok": False, "reason": "timeout", "detail": "read timed out"}
    text, urls = linked_text(crawl(failed, page("http://x.test/b", "Title", "  main\n\ttext  ")))
    assert (text, urls) == ("Title main text", ["http://x.test/b"])

    long = [page(f"http://x.test/{i}", "", "w " * 5_000) for i in range(5)]
    text, urls = linked_text(crawl(*long))
    parts = text.split("\n")
    assert all(len(p) <= LINK_TEXT_CHARS for p in parts)
    assert len(text) - text.count("\n") == LINKS_TEXT_CHARS and len(urls) == LINKS_TEXT_CHARS // LINK_TEXT_CHARS
    assert linked_text(None) == ("", [])
    # The post comes first, then tags, then links: a model that truncates keeps the post.
    assert embedded_text("post", ["tag"], "page") == "post\n\nTags: tag\n\nLinks:\npage"


def test_post_vectors_depends_on_post_link_enrichments():
    graph = build_definitions(Settings({"DATA_DIR": "/nonexistent/never-created"})).resolve_asset_graph()
    parents = {key.to_user_string() for key in graph.get(dg.AssetKey("post_vectors")).parent_keys}
    assert parents == {"post_tags", "post_link_enrichments"}


@pytest.mark.slow
def test_link_text_is_embedded_and_a_changed_page_re_embeds(sqlite_url, tmp_path):
    engine = build_engine(sqlite_url)
    embedder = TextEmbedderResource(device="cpu")
    store = VectorStoreResource(path=str(tmp_path / "qdrant"))
    insert_posts(engine, [(1, "dev", "Read this: http://blog.test/k8s", at(8)), (2, "dev", "Read this: http://blog.test/k8s", at(9))])
    set_crawl(engine, {1: crawl(page("http://blog.test/k8s", "Autoscaling", "Kubernetes pods scale on CPU load."))})

    def sync():
        def ensure(client):
            ensure_collection(client, COLLECTION, {TEXT: embedder.dimension})

        with store.client() as client:
            report = PostVectorSync(engine, client, COLLECTION, embedder, 30, ensure_collection=ensure,
                                    now=DAY + timedelta(days=1)).run(DAY, DAY + timedelta(days=1), [DAY_KEY])
            records, _ = client.scroll(COLLECTION, limit=10, with_payload=True, with_vectors=True)
        return report, {r.payload["post_id"]: r for r in records}

    report, points = sync()
    assert (report.embedded, report.with_link_text) == (2, 1)
    assert points[1].payload["links"] == ["http://blog.test/k8s"] and points[2].payload["links"] == []
    # Same post text: only the linked page's text tells the two vectors apart.
    assert points[1].vector[TEXT] != points[2].vector[TEXT]

    assert sync()[0].unchanged == 2
    set_crawl(engine, {1: crawl(page("http://blog.test/k8s", "Autoscaling", "Pods now scale on memory too."))})
    changed, after = sync()
    assert (changed.embedded, changed.updated, changed.unchanged) == (1, 1, 1)
    assert after[1].vector[TEXT] != points[1].vector[TEXT]
    engine.dispose()
