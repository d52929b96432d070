"""`platformctl tags related` over the post graph."""

from datetime import timedelta

from click.testing import CliRunner

from appdb.engine import build_engine
from assets.posts.graph import rebuild_graph
from platformctl.main import cli
from tests.posts.conftest import DAY, DAY_KEY, at, insert_posts, set_tags


def test_tags_related_prints_co_occurring_tags(sqlite_url, tmp_path, monkeypatch):
    engine = build_engine(sqlite_url)
    insert_posts(engine, [(1, "dev", "a", at(8)), (2, "dev", "b", at(9)), (3, "ops", "c", at(10))])
    set_tags(engine, {1: ["kubernetes", "autoscaling"], 2: ["kubernetes", "go", "autoscaling"], 3: ["kubernetes", "go"]})
    rebuild_graph(engine, DAY, DAY + timedelta(days=1), [DAY_KEY], ttl_days=30, now=DAY + timedelta(days=1))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    runner = CliRunner()

    result = runner.invoke(cli, ["tags", "related", "Kubernetes"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "tags co-occurring with 'kubernetes' (3 posts):",
        "   1. autoscaling  2 posts",
        "   2. go           2 posts",
    ]
    result = runner.invoke(cli, ["tags", "related", "go", "--channel", "ops", "--limit", "1"])
    assert result.output.splitlines()[1:] == ["   1. kubernetes  1 post"]
    result = runner.invoke(cli, ["tags", "related", "rust"])
    assert result.exit_code == 1
    assert "no post in the graph has the tag 'rust'" in result.output
