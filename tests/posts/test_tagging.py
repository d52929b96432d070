"""Tagging and persistence on SQLite and PostgreSQL: UPSERT counts, nothing re-tagged without a change,
failed posts write nothing, the tags_persisted check."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from appdb.posts_tables import post_tag_state
from appdb.tables import post, post_enrichment
from assets.posts.grounding import data_hash
from assets.posts.store import upsert_enrichments
from assets.posts.tagging import tag_posts, unpersisted_tagged_posts
from resources.tagging.llm import LLMTagger
from tests.posts.conftest import DAY, at, chat_answer, insert_posts, tags_answer

PATH = "/v1/chat/completions"
START, END = DAY, DAY + timedelta(days=1)


def _enrichment(engine, kind="tags") -> dict[int, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(post_enrichment).where(post_enrichment.c.kind == kind)).all()
    return {r.post_id: (r.data, r.data_hash, r.updated_at) for r in rows}


def test_upsert_counts_and_writes_only_changed_hashes(engine):
    insert_posts(engine, [(i, "ch", f"post {i}", at(10)) for i in (1, 2, 3)])
    t1 = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
    with engine.begin() as conn:
        counts = upsert_enrichments(conn, "tags", {1: {"tags": ["a"]}, 2: {"tags": ["b"]}, 3: {"tags": []}}, t1)
    assert (counts.inserted, counts.updated, counts.unchanged) == (3, 0, 0)
    first = _enrichment(engine)
    assert first[1][1] == data_hash({"tags": ["a"]})

    t2 = t1 + timedelta(hours=1)
    with engine.begin() as conn:
        counts = upsert_enrichments(conn, "tags", {1: {"tags": ["a"]}, 2: {"tags": ["b", "c"]}, 3: {"tags": []}}, t2)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 2)
    second = _enrichment(engine)
    # The guard in the conflict clause left the unchanged rows alone (updated_at included).
    assert second[1] == first[1] and second[3] == first[3]
    assert second[2][0] == {"tags": ["b", "c"]}
    assert second[2][2].replace(tzinfo=timezone.utc) == t2
    # Another kind is another row.
    with engine.begin() as conn:
        counts = upsert_enrichments(conn, "crawl", {1: {"links": []}}, t2)
    assert counts.inserted == 1 and len(_enrichment(engine)) == 3


def test_unchanged_posts_are_not_tagged_again_and_changed_ones_are(engine, http_server, llm_client):
    insert_posts(engine, [(1, "dev", "Rust and Go", at(9)), (2, "dev", "Rust news", at(10)), (3, "dev", "Go news", at(11))])
    http_server.route(PATH, tags_answer("Rust", "Go", "Python"))
    tagger = LLMTagger(llm_client, max_tags=5, concurrency=1)

    report = tag_posts(engine, START, END, tagger, 5)
    assert (report.posts, report.tagged, report.unchanged) == (3, 3, 0)
    assert (report.rows.inserted, report.rows.updated, report.rows.unchanged) == (3, 0, 0)
    assert report.rejected.counts == {"not_in_text": 3 + 1 + 1}  # "Python" everywhere, "Go" in 2, "Rust" in 3
    assert {pid: data["tags"] for pid, (data, _, _) in _enrichment(engine).items()} == {1: ["go", "rust"], 2: ["rust"], 3: ["go"]}
    assert http_server.hits(PATH) == 3

    report = tag_posts(engine, START, END, tagger, 5)
    assert (report.tagged, report.unchanged) == (0, 3)
    assert http_server.hits(PATH) == 3  # no call at all

    with engine.begin() as conn:
        conn.execute(update(post).where(post.c.id == 2).values(text="Rust and Go news"))
    report = tag_posts(engine, START, END, tagger, 5)
    assert (report.tagged, report.unchanged) == (1, 2)
    assert (report.rows.inserted, report.rows.updated, report.rows.unchanged) == (0, 1, 0)
    assert http_server.hits(PATH) == 4
    assert _enrichment(engine)[2][0] == {"tags": ["go", "rust"]}

    # Same text, but the tags come out the same: the post is tagged again and the row is unchanged.
    with engine.begin() as conn:
        conn.execute(update(post).where(post.c.id == 3).values(text="Go news!"))
    report = tag_posts(engine, START, END, tagger, 5)
    assert (report.tagged, report.rows.unchanged, report.rows.updated) == (1, 1, 0)


def test_another_tagger_or_lost_tags_mean_tagging_again(engine, http_server, llm_client):
    insert_posts(engine, [(1, "dev", "Rust", at(9)), (2, "dev", "Rust", at(10))])
    http_server.route(PATH, tags_answer("Rust"))
    tag_posts(engine, START, END, LLMTagger(llm_client, max_tags=5), 5)
    assert tag_posts(engine, START, END, LLMTagger(llm_client, max_tags=3), 3).tagged == 2  # TAGS_MAX changed
    with engine.begin() as conn:
        conn.execute(delete(post_enrichment).where(post_enrichment.c.post_id == 1))
    report = tag_posts(engine, START, END, LLMTagger(llm_client, max_tags=3), 3)
    assert (report.tagged, report.rows.inserted) == (1, 1)


def test_a_failed_post_persists_nothing_and_the_rest_proceed(engine, http_server, llm_client):
    insert_posts(engine, [(1, "dev", "alpha", at(9)), (2, "dev", "beta", at(10)), (3, "dev", "gamma", at(11))])
    http_server.route(PATH, tags_answer("alpha"), chat_answer('{"tags": ["be', finish_reason="length"), tags_answer("gamma"))
    report = tag_posts(engine, START, END, LLMTagger(llm_client, 5, concurrency=1), 5)
    assert report.tagged == 2
    assert report.failed.counts == {"truncated": 1}
    assert report.failed.examples["truncated"][0].startswith("post 2:")
    assert set(_enrichment(engine)) == {1, 3}
    with engine.connect() as conn:
        assert set(conn.execute(select(post_tag_state.c.post_id)).scalars()) == {1, 3}
    # The next run retries only the failed post.
    http_server.route(PATH, tags_answer("beta"))
    report = tag_posts(engine, START, END, LLMTagger(llm_client, 5), 5)
    assert (report.tagged, report.unchanged) == (1, 2)
    assert _enrichment(engine)[2][0] == {"tags": ["beta"]}


def test_posts_outside_the_window_are_not_touched(engine, http_server, llm_client):
    insert_posts(engine, [(1, "dev", "x", at(23, 59)), (2, "dev", "x", DAY + timedelta(days=1)), (3, "dev", "x", DAY - timedelta(seconds=1))])
    http_server.route(PATH, tags_answer("x"))
    report = tag_posts(engine, START, END, LLMTagger(llm_client, 5), 5)
    assert report.posts == 1 and set(_enrichment(engine)) == {1}


def test_tags_persisted_check_finds_tagged_posts_without_their_tags(engine, http_server, llm_client):
    insert_posts(engine, [(1, "dev", "alpha beta", at(9)), (2, "dev", "beta", at(10))])
    http_server.route(PATH, tags_answer("beta"))
    tag_posts(engine, START, END, LLMTagger(llm_client, 5), 5)
    assert unpersisted_tagged_posts(engine, START, END) == (0, [])

    with engine.begin() as conn:
        conn.execute(delete(post_enrichment).where(post_enrichment.c.post_id == 2))
        conn.execute(update(post_enrichment).where(post_enrichment.c.post_id == 1).values(data_hash="tampered"))
    assert unpersisted_tagged_posts(engine, START, END) == (2, [1, 2])

    tag_posts(engine, START, END, LLMTagger(llm_client, 5), 5)  # re-materializing heals it
    assert unpersisted_tagged_posts(engine, START, END) == (0, [])
