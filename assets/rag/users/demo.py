"""The users part of `make demo`: a few hundred RAG queries delivered to a local users server that the
demo starts (some requests failing on purpose), then the counts, statistics and tiers."""

import random
import time

import dagster as dg
from sqlalchemy import func, insert, select

from appdb.schema import init_schema
from assets.rag.users.assets import RAG_QUERY_LOG, notification_outbox, rag_user_stats, rag_user_tiers
from assets.rag.users.config import NAMES, RagUsersSettings
from assets.rag.users.tables import notification_outbox as outbox
from assets.rag.users.tables import rag_query_log, rag_user
from assets.rag.users.tables import rag_user_stats as stats_table
from assets.rag.users.users_server import UsersServer, random_faults
from resources.users_api import UsersApiResource

QUERIES = 300
USERS = 25
API_KEY = "demo-key"


def _write_queries(engine, rng: random.Random) -> None:
    users = [f"user-{i:02}" for i in range(USERS)] + ["user-unknown"]  # the users system refuses the last one
    with engine.begin() as conn:
        known = set(conn.execute(select(rag_user.c.id)).scalars())
        conn.execute(insert(rag_user), [{"id": u} for u in users if u not in known] or [])
        # Skewed like real traffic: a few users ask most questions.
        conn.execute(insert(rag_query_log), [
            {
                "user_id": users[min(int(rng.paretovariate(0.8)) - 1, USERS - 1)] if i % 60 else "user-unknown",
                "conversation_id": f"conv-{i // 4}", "message_id": f"msg-{i}",
                "query": rng.choice(["قرارداد اجاره چه شرایطی دارد؟", "مهلت ثبت اظهارنامه مالیاتی کی است؟", "How do I renew a permit?"]),
                "answer": "پاسخ بر اساس اسناد بازیابی‌شده", "sources": [f"doc-{rng.randrange(50)}"],
                "tokens_used": rng.randint(80, 1200), "processing_time_ms": rng.randint(300, 3500),
            }
            for i in range(QUERIES)
        ])


def demo_rag_users(instance: dg.DagsterInstance, defs: dg.Definitions) -> list[str]:
    database = defs.resources["rag_database"].process_config_and_initialize()
    init_schema(database.engine, ["RAG_DATABASE_URL"])
    _write_queries(database.engine, random.Random(11))
    # 15% of requests answer 500 and 5% drop the connection after recording (both retried); the unknown user
    # gets 422 (dead-lettered with the reason).
    faults = random_faults(0.15, 0.0, 0.05, max_faults_per_key=2, seed=3)
    reject = lambda path, body: "unknown user" if body.get("user_id") == "user-unknown" else None  # noqa: E731
    configured = defs.resources["rag_users"]
    # Short backoffs so the demo's retries happen within seconds (production: NOTIFY_BACKOFF_SECONDS).
    rag_users = RagUsersSettings(**{**{name: getattr(configured, name) for name in NAMES}, "backoff_s": 0.2, "backoff_max_s": 1.0})
    totals = {"delivered": 0, "retried": 0, "dead_lettered": 0}
    runs = 0
    with UsersServer(api_key=API_KEY, fault=faults, reject=reject) as server:
        resources = {**defs.resources, "users_api": UsersApiResource(url=server.url, api_key=API_KEY), "rag_users": rag_users}
        while runs < 6:
            result = dg.materialize(
                [RAG_QUERY_LOG, notification_outbox, rag_user_stats, rag_user_tiers], instance=instance, resources=resources,
                selection=["notification_outbox", "rag_user_stats", "rag_user_tiers"],
            )
            runs += 1
            meta = _meta(result, "notification_outbox")
            for key in totals:
                totals[key] += meta.get(key, 0)
            tiers = _meta(result, "rag_user_tiers") if runs == 1 else tiers
            if not meta.get("outbox_pending"):
                break
            time.sleep(1.0)  # the retries' backoff
        answers = dict(server.answers)
    with database.connect() as conn:
        statuses = dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
        dead = conn.execute(select(outbox.c.idempotency_key, outbox.c.last_error).where(outbox.c.status == "dead").limit(2)).all()
        top = conn.execute(select(stats_table).order_by(stats_table.c.queries_total.desc()).limit(3)).mappings().all()
        per_tier = dict(conn.execute(select(rag_user.c.tier, func.count()).group_by(rag_user.c.tier)).all())
    lines = [
        f"{QUERIES} queries written; {runs} delivery runs to a local users server: {totals['delivered']} delivered, "
        f"{totals['retried']} retried, {totals['dead_lettered']} dead-lettered",
        f"  server answers {answers}; outbox now {statuses}",
        *(f"  dead: {key}: {error}" for key, error in dead),
        "  top users: " + "; ".join(f"{r['user_id']} {r['queries_total']} queries, {r['tokens_total']} tokens, "
                                    f"avg {r['avg_processing_ms']} ms" for r in top),
        f"  tiers ({rag_users.tiers}): {per_tier}; first run changed {tiers.get('changed', 0)}",
    ]
    return lines


def _meta(result, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()} if events else {}
