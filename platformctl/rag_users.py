"""`platformctl rag-users ...`: the RAG core's notification outbox and user statistics at a glance (issue 15)."""

from __future__ import annotations

import click

from platformctl.resources import platform_resources


@click.group("rag-users", help="The RAG core's users side: notification outbox, statistics, tiers.")
def rag_users() -> None:
    pass


@rag_users.command("outbox", help="Outbox rows by kind and status, what is due, and the latest dead letters.")
@click.option("--dead", "dead_limit", default=5, show_default=True, help="How many dead letters to show.")
def outbox_command(dead_limit: int) -> None:
    from sqlalchemy import func, select

    from assets.rag.users.delivery import count_due
    from assets.rag.users.tables import notification_outbox as outbox

    [database] = platform_resources("rag_database")
    with database.connect() as conn:
        rows = conn.execute(select(outbox.c.kind, outbox.c.status, func.count()).group_by(outbox.c.kind, outbox.c.status)
                            .order_by(outbox.c.kind, outbox.c.status)).all()
        dead = conn.execute(select(outbox.c.id, outbox.c.idempotency_key, outbox.c.attempts, outbox.c.last_error)
                            .where(outbox.c.status == "dead").order_by(outbox.c.id.desc()).limit(dead_limit)).all()
    for kind, status, count in rows:
        click.echo(f"{kind:<18} {status:<8} {count:>8}")
    if not rows:
        click.echo("(the outbox is empty)")
    click.echo(f"due now: {count_due(database.engine)}")
    for row_id, key, attempts, error in dead:
        click.echo(f"dead {row_id} {key} after {attempts} attempts: {error}")


@rag_users.command("stats", help="A user's statistics and tier.")
@click.argument("user_id")
def stats_command(user_id: str) -> None:
    from sqlalchemy import select

    from assets.rag.users.tables import rag_user, rag_user_stats

    [database] = platform_resources("rag_database")
    with database.connect() as conn:
        stats = conn.execute(select(rag_user_stats).where(rag_user_stats.c.user_id == user_id)).mappings().first()
        user = conn.execute(select(rag_user).where(rag_user.c.id == user_id)).mappings().first()
    if stats is None and user is None:
        raise click.ClickException(f"no user {user_id!r} in rag_user or rag_user_stats")
    if user is not None:
        click.echo(f"{user_id}: tier {user['tier']}, used {user['daily_used']} of {user['daily_limit']} today "
                   f"(reset {user['limits_reset_at'] or 'never'})")
    if stats is not None:
        click.echo(f"  {stats['queries_total']} queries, {stats['tokens_total']} tokens, avg {stats['avg_processing_ms']} ms, "
                   f"last {stats['last_query_at']}")
