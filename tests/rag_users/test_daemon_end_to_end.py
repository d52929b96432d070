"""One query through the real `dagster-daemon`: the capture trigger queues it, notifications_sensor
launches deliver_notifications_job, the run delivers it to the users server and updates the user's
statistics and tier."""

import time

import dagster as dg
import pytest
from sqlalchemy import insert, select

from appdb.engine import build_engine
from appdb.schema import init_schema
from assets.rag.users.jobs import DELIVER_JOB
from assets.rag.users.tables import notification_outbox, rag_query_log, rag_user, rag_user_stats
from assets.rag.users.users_server import UsersServer
from tests.support.daemon import DagsterDaemon, embedded_env, prepare_home, wait_for


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_query_is_delivered_through_the_daemon(tmp_path):
    with UsersServer(api_key="e2e-key") as server:
        env = embedded_env(tmp_path, USERS_URL=server.url, USERS_API_KEY="e2e-key", RAG_TIERS="free:0,active:1")
        prepare_home(env)
        engine = build_engine(env["DATABASE_URL"])
        init_schema(engine)
        with engine.begin() as conn:
            conn.execute(insert(rag_user).values(id="user-e2e"))
            log_id = conn.execute(insert(rag_query_log).values(
                user_id="user-e2e", conversation_id="conv-1", message_id="msg-1", query="مهلت تمدید مجوز چقدر است؟",
                answer="سی روز", sources=["doc-7"], tokens_used=321, processing_time_ms=1234,
            ).returning(rag_query_log.c.id)).scalar_one()
        written = time.time()
        daemon = DagsterDaemon(env, tmp_path / "daemon.log")
        try:
            with daemon:
                key = f"query_result:{log_id}"
                try:
                    wait_for(lambda: key in server.records, 300, 0.2, f"delivery of {key}")
                except TimeoutError:
                    raise AssertionError(daemon.log()[-4000:]) from None
                path, body = server.records[key]
                assert path == "/api/v1/events/query-result"
                assert body["user_id"] == "user-e2e" and body["tokens_used"] == 321 and body["sources"] == ["doc-7"]

                def stats_and_tier():
                    with engine.connect() as conn:
                        stats = conn.execute(select(rag_user_stats.c.queries_total, rag_user_stats.c.tokens_total)).all()
                        tier = conn.execute(select(rag_user.c.tier)).scalar_one()
                    return stats == [(1, 321)] and tier == "active"

                wait_for(stats_and_tier, 120, 0.5, "statistics and tier of user-e2e")
                with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
                    # the daemon stops with the block: let the runs that did the work finish first
                    runs = wait_for(lambda: (rs := instance.get_runs(filters=dg.RunsFilter(job_name=DELIVER_JOB)))
                                    and all(r.is_finished for r in rs) and rs, 120, 0.5, "the delivery runs to finish")
        finally:
            print(f"delivered {server.recorded_at.get(f'query_result:{log_id}', written) - written:.1f} s after the write")
        with engine.connect() as conn:
            assert conn.execute(select(notification_outbox.c.status)).scalars().all() == ["sent"]
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), [(r.run_id, r.status) for r in runs]
        assert runs[-1].tags["dagster/sensor_name"] == "notifications_sensor"
