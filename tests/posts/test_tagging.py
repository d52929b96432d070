"""Tagging and persistence on SQLite and PostgreSQL: UPSERT counts, nothing re-tagged without a change,
failed posts write nothing, the tags_persisted check."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from appdb.posts_tables import post_tag_state
from appdb.tables import post, post_enrichment
from assets.posts.grounding import data_hash, match_form
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


# --- The local tagger (issue 12): noun phrases keyed by lemmas, ranked by statistics and the default model.

RU_POST = ("Центробанк снова повысил ключевую ставку — теперь 21%. Банки поднимают проценты по вкладам, "
           "а ипотека дорожает: ключевая ставка бьёт по заёмщикам.")


def test_candidates_are_noun_phrases_keyed_by_lemmas():
    from resources.tagging.candidates import candidates

    cands, stats = candidates(RU_POST)
    by_key = {c.key: c for c in cands}
    # Two forms of one phrase are one candidate; the nominative form is the one kept.
    assert by_key[("ключевой", "ставка")].count == 2 and by_key[("ключевой", "ставка")].text == "ключевая ставка"
    assert by_key[("вклад",)].text == "вкладам" and ("ипотека",) in by_key
    assert stats.lemma_counts["ставка"] == 2
    # Verbs, prepositions, conjunctions, adverbs and numbers never enter a candidate.
    flat = {lemma for key in by_key for lemma in key}
    assert not flat & {"повысить", "по", "а", "снова", "теперь", "21", "подниматься", "поднимать", "бить"}


def test_local_tags_are_lemmatized_phrases_grounded_in_russian_and_english_posts(engine):
    from resources.embedders import TextEmbedderResource
    from resources.language.russian import lemmas
    from resources.tagging.local import LocalTagger

    en = "PostgreSQL 17 speeds up vacuum and bulk loading. The release notes cover logical replication in PostgreSQL."
    insert_posts(engine, [(1, "ru", RU_POST, at(9)), (2, "en", en, at(10))])
    tagger = LocalTagger(TextEmbedderResource(device="cpu"), max_tags=4)
    assert tagger.name == "local-np:multilingual-e5-small-q4:sim1:max4"
    report = tag_posts(engine, START, END, tagger, 4)
    assert (report.tagged, report.rejected.counts) == (2, {})  # nothing ungrounded
    stored = {pid: data["tags"] for pid, (data, _, _) in _enrichment(engine).items()}
    ru_lemmas = {" ".join(lemmas(tag)) for tag in stored[1]}
    assert "ключевой ставка" in ru_lemmas and ru_lemmas & {"центробанк", "ипотека", "вклад"}, stored[1]
    assert not ru_lemmas & {"повысить", "теперь", "снова", "банк поднимать"}
    assert "postgresql" in stored[2] and len(stored[2]) >= 2, stored[2]
    for pid, text in ((1, RU_POST), (2, en)):
        assert all(match_form(tag) in match_form(text) for tag in stored[pid]), stored[pid]


def test_every_tag_of_the_labelled_posts_is_grounded():
    """The grounding guarantee over benchmarks/language_sets/ru_posts.jsonl (statistics only: no model)."""
    import json
    from pathlib import Path

    from assets.posts.grounding import ground_tags
    from resources.tagging.local import LocalTagger

    lines = (Path(__file__).resolve().parents[2] / "benchmarks/language_sets/ru_posts.jsonl").read_text(encoding="utf-8")
    texts = [json.loads(line)["text"] for line in lines.splitlines() if line]
    outcomes = LocalTagger(None, max_tags=8).tag(texts)
    assert len(outcomes) == len(texts) >= 30
    for text, outcome in zip(texts, outcomes):
        assert 1 <= len(outcome.tags) <= 8
        assert ground_tags(outcome.tags, text, 8).rejected == [], (text, outcome.tags)
