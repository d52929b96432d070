"""`platformctl tags related <tag>`: the tags that co-occur most with a tag (the post graph)."""

from __future__ import annotations

import click


@click.group(help="The post tag graph (built by the post_graph asset).")
def tags() -> None:
    pass


@tags.command("related", help="Print the tags that share the most posts with TAG, most frequent first.")
@click.argument("tag")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many tags.")
@click.option("--channel", default=None, help="Only posts of this channel.")
def related(tag: str, limit: int, channel: str | None) -> None:
    from assets.posts.graph import related_tags, tag_post_count
    from assets.posts.grounding import normalize_tag
    from platformctl.resources import platform_resources

    [database] = platform_resources("database")
    wanted = normalize_tag(tag)
    total = tag_post_count(database.engine, wanted)
    if not total:
        raise click.ClickException(f"no post in the graph has the tag {wanted!r} (materialize post_graph first?)")
    rows = related_tags(database.engine, wanted, limit=limit, channel=channel)
    click.echo(f"tags co-occurring with {wanted!r} ({total} posts){f' in {channel}' if channel else ''}:")
    width = max((len(t) for t, _ in rows), default=0)
    for rank, (other, posts) in enumerate(rows, 1):
        click.echo(f"  {rank:2d}. {other:<{width}}  {posts} post{'s' if posts != 1 else ''}")
    if not rows:
        click.echo("  (no other tag shares a post with it)")
