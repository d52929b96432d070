"""The posts part of `make demo`: tag, enrich links, index and graph every demo day in one run, then show
examples (tags, the recorded reasons the offline links failed, related tags) and a cleanup dry run."""

from __future__ import annotations

from collections import Counter

import dagster as dg
from sqlalchemy import func, select

from appdb.tables import post, post_enrichment
from assets.posts.cleanup_job import CLEANUP_EXPIRED_POSTS_JOB
from assets.posts.graph import related_tags
from assets.posts.schedules import POSTS_JOB
from assets.posts.store import day_key


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()} if events else {}


def demo_posts(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    database = defs.resources["database"].process_config_and_initialize()
    with database.connect() as conn:
        first, last, total = conn.execute(select(func.min(post.c.posted_at), func.max(post.c.posted_at), func.count())).one()
    if not total:
        return ["no posts (run `platformctl demo seed` first)"]
    start, end = day_key(first), day_key(last)
    result = defs.resolve_job_def(POSTS_JOB).execute_in_process(
        instance=instance, tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    )
    tags, crawl, vectors, graph = (_metadata(result, name) for name in ("post_tags", "post_link_enrichments", "post_vectors", "post_graph"))
    checks = [e for e in result.get_asset_check_evaluations()]
    lines = [
        f"posts_job[{start}...{end}] in one run over {total} posts:",
        f"  post_tags ({tags.get('tagger')}): {tags.get('posts_tagged')} tagged, {tags.get('posts_unchanged')} unchanged, "
        f"{tags.get('posts_failed')} failed, {tags.get('tags_rejected')} tags rejected; rows {tags.get('rows_inserted')} inserted, "
        f"{tags.get('rows_updated')} updated, {tags.get('rows_unchanged')} unchanged; "
        f"tags_persisted passes on {sum(c.passed for c in checks)}/{len(checks)} days",
        f"  post_link_enrichments: {crawl.get('urls_distinct')} distinct URLs from {crawl.get('posts_with_links')} posts "
        f"({crawl.get('urls_shared_by_posts')} shared, each fetched once): {crawl.get('urls_read')} read, "
        f"{crawl.get('urls_failed')} failed",
        f"  post_vectors: {vectors.get('points_created')} points created, {vectors.get('points_updated')} updated, "
        f"{vectors.get('points_unchanged')} unchanged in '{vectors.get('collection')}' (TTL {vectors.get('ttl_days')} days)",
        f"  post_graph: {graph.get('posts')} posts, {graph.get('edges')} post-tag edges, {graph.get('tags_distinct')} tags, "
        f"{graph.get('channels_distinct')} channels",
    ]
    lines += _examples(database)
    cleanup = defs.resolve_job_def(CLEANUP_EXPIRED_POSTS_JOB).execute_in_process(
        instance=instance, run_config={"ops": {"cleanup_expired_posts_op": {"config": {"dry_run": True}}}}
    )
    [output] = [e for e in cleanup.all_events if e.event_type_value == "STEP_OUTPUT"]
    meta = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    lines.append(
        f"cleanup_expired_posts_job (dry run, cutoff {meta.get('cutoff', '?')[:19]}): would remove "
        f"{meta.get('would_remove_qdrant_points')} points and {meta.get('would_remove_graph_posts')} graph posts "
        "(the demo posts are younger than POST_TTL_DAYS)"
    )
    return lines


def _examples(database) -> list[str]:
    with database.connect() as conn:
        tagged = dict(
            conn.execute(select(post_enrichment.c.post_id, post_enrichment.c.data).where(post_enrichment.c.kind == "tags")).all()
        )
        crawled = conn.execute(select(post_enrichment.c.data).where(post_enrichment.c.kind == "crawl")).scalars().all()
        texts = dict(conn.execute(select(post.c.id, post.c.text)).all())
    lines = ["  examples:"]
    shown = set()
    for pid in sorted(tagged):
        script = "ru" if any("а" <= ch <= "я" for ch in texts[pid].lower()) else "en"
        if script in shown or not tagged[pid]["tags"]:
            continue
        shown.add(script)
        lines.append(f"    post {pid}: {texts[pid][:90]!r}")
        lines.append(f"      tags: {', '.join(tagged[pid]['tags'])}")
    reasons: Counter = Counter()
    examples: dict[str, dict[str, str]] = {}
    for data in crawled:
        for link in data["links"]:
            if not link["ok"]:
                reasons[link["reason"]] += 1
                sample = examples.setdefault(link["reason"], {})
                if len(sample) < 2:
                    sample.setdefault(link["url"], link["detail"])
    for reason, n in reasons.most_common():
        shown_examples = "; ".join(f"{url}: {detail}" for url, detail in examples[reason].items())
        lines.append(f"    links {reason} x{n}, e.g. {shown_examples}")
    counts = Counter(tag for data in tagged.values() for tag in data["tags"])
    if counts:
        top, n = counts.most_common(1)[0]
        related = related_tags(database.engine, top, limit=5)
        lines.append(f"    platformctl tags related {top!r} ({n} posts): " + ", ".join(f"{t} ({c})" for t, c in related))
    return lines
