"""Delivery through the outbox against a local users server with the real wire format and scripted
faults, on SQLite and PostgreSQL."""

import random
from datetime import timedelta

from sqlalchemy import select, text, update

from assets.rag.users.delivery import (
    DeliveryPolicy,
    claim,
    deliver_due,
    enqueue_missing_query_results,
    prune_delivered,
)
from assets.rag.users.notifications import replay_dead
from assets.rag.users.sqlutil import as_utc, utcnow
from assets.rag.users.tables import notification_outbox
from assets.rag.users.users_server import UsersServer
from resources.users_api import ENDPOINTS
from tests.rag_users.helpers import FAST, client, log_rows, outbox, write_logs


def test_every_log_row_becomes_one_outbox_row_with_the_seed_fields(engine):
    ids = write_logs(engine, log_rows(3))
    rows = outbox(engine)
    assert sorted(rows) == sorted(f"query_result:{i}" for i in ids)
    row = rows[f"query_result:{ids[1]}"]
    assert row["kind"] == "query_result" and row["status"] == "pending" and row["attempts"] == 0
    assert row["payload"] == {
        "user_id": "user-1", "conversation_id": "conv-1", "message_id": "msg-1", "query": "سوال 1", "answer": "پاسخ 1",
        "sources": ["doc-1", "doc-x"], "tokens_used": 11, "processing_time_ms": 103,
    }


def test_delivers_with_headers_and_the_wire_format(engine, users_server):
    ids = write_logs(engine, log_rows(20))
    report = deliver_due(engine, client(users_server.url), "run-1", FAST)
    assert (report.sent, report.retried, report.dead) == (20, 0, 0)
    assert set(users_server.records) == {f"query_result:{i}" for i in ids}
    path, body = users_server.records[f"query_result:{ids[0]}"]
    assert path == ENDPOINTS["query_result"] and body["query"] == "سوال 0"
    rows = outbox(engine)
    assert {r["status"] for r in rows.values()} == {"sent"} and all(r["sent_at"] for r in rows.values())
    assert {r["last_status"] for r in rows.values()} == {201}
    # Nothing due: a second run sends nothing.
    assert deliver_due(engine, client(users_server.url), "run-2", FAST).claimed == 0


def test_faults_are_retried_until_recorded_exactly_once(engine):
    script = {}

    def fault(key, attempt):
        return script.get(key, {}).get(attempt)

    ids = write_logs(engine, log_rows(6))
    keys = [f"query_result:{i}" for i in ids]
    script[keys[0]] = {1: "500", 2: "500"}
    script[keys[1]] = {1: "429"}
    script[keys[2]] = {1: "drop"}  # recorded, then the connection dropped: the retry gets 409
    script[keys[3]] = {1: "timeout"}  # recorded after the client gave up: 409 too
    with UsersServer(api_key="k", fault=fault, timeout_delay_s=1.5) as server:
        users = client(server.url, read_timeout_s=0.5)
        # No backoff here: the run claims the retries again as soon as they are due, until none is.
        report = deliver_due(engine, users, "run-1", FAST)
        assert (report.sent, report.retried, report.dead) == (6, 5, 0)
        assert (report.statuses["500"], report.statuses["429"], report.statuses["transport"]) == (2, 1, 2)
    assert set(server.records) == set(keys)
    assert server.attempts[keys[0]] == 3 and server.attempts[keys[2]] == 2
    rows = outbox(engine)
    assert {r["status"] for r in rows.values()} == {"sent"}
    assert rows[keys[2]]["last_status"] == 409 and rows[keys[0]]["attempts"] == 3


def test_non_retryable_answers_are_dead_lettered_with_the_reason(engine):
    write_logs(engine, log_rows(2, users=2))
    with UsersServer(api_key="k", reject=lambda path, body: "unknown user" if body["user_id"] == "user-1" else None) as server:
        report = deliver_due(engine, client(server.url), "run-1", FAST)
        assert (report.sent, report.dead) == (1, 1)
        dead = [r for r in outbox(engine).values() if r["status"] == "dead"]
        assert dead[0]["last_status"] == 422 and "unknown user" in dead[0]["last_error"]
        # A wrong API key is not deliverable either: every row dead at once, with the answer.
        write_logs(engine, log_rows(1, start=5))
        wrong = deliver_due(engine, client(server.url, api_key="wrong"), "run-2", FAST)
        assert wrong.dead == 1 and "401" in wrong.dead_examples[0]


def test_backoff_grows_with_jitter_and_gives_up_after_max_attempts(engine):
    write_logs(engine, log_rows(1))
    policy = DeliveryPolicy(max_attempts=3, batch_rows=10, concurrency=2, backoff_s=100, backoff_max_s=150, lease_s=60)
    rng = random.Random(1)
    assert all(50 <= policy.backoff(1, rng) <= 100 for _ in range(50))
    assert all(75 <= policy.backoff(5, rng) <= 150 for _ in range(50))  # capped
    with UsersServer(api_key="k", fault=lambda key, attempt: "500") as server:
        before = utcnow()
        deliver_due(engine, client(server.url), "run-1", policy)
        [row] = outbox(engine).values()
        assert row["status"] == "pending" and row["attempts"] == 1 and "HTTP 500" in row["last_error"]
        assert before + timedelta(seconds=49) <= as_utc(row["next_attempt_at"]) <= utcnow() + timedelta(seconds=101)
        for attempt in (2, 3):
            with engine.begin() as conn:  # the backoff has run out
                conn.execute(update(notification_outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            deliver_due(engine, client(server.url), f"run-{attempt}", policy)
    [row] = outbox(engine).values()
    assert row["status"] == "dead" and row["attempts"] == 3 and row["last_error"].startswith("gave up after 3 attempts: HTTP 500")


def test_a_killed_run_loses_nothing_and_delivers_nothing_twice(engine, users_server):
    ids = write_logs(engine, log_rows(30))
    policy = DeliveryPolicy(max_attempts=8, batch_rows=30, concurrency=4, backoff_s=0, backoff_max_s=0, lease_s=30)
    # Run A claimed every row and sent ten of them, then was killed before recording anything.
    claimed = claim(engine, "run-A", policy, utcnow())
    assert len(claimed) == 30
    users = client(users_server.url)
    for row in claimed[:10]:
        assert users.send(row["kind"], row["idempotency_key"], row["payload"]).outcome == "sent"
    # While A's lease holds, nothing is due: no other run sends them meanwhile.
    assert deliver_due(engine, users, "run-B", policy).claimed == 0
    # The lease runs out; run C sends all 30 again under the same keys.
    later = utcnow() + timedelta(seconds=31)
    with engine.begin() as conn:
        conn.execute(update(notification_outbox).values(next_attempt_at=later - timedelta(seconds=31)))
    report = deliver_due(engine, users, "run-C", policy)
    assert report.sent == 30
    assert set(users_server.records) == {f"query_result:{i}" for i in ids}
    assert users_server.answers[409] == 10  # the ten A had sent: delivered once in effect
    assert {r["status"] for r in outbox(engine).values()} == {"sent"}


def test_an_expired_lease_holder_cannot_overwrite_the_new_holder(engine, users_server):
    write_logs(engine, log_rows(1))
    policy = DeliveryPolicy(max_attempts=8, batch_rows=5, concurrency=1, backoff_s=0, backoff_max_s=0, lease_s=0)
    [stale] = claim(engine, "run-old", policy, utcnow())
    [fresh] = claim(engine, "run-new", policy, utcnow() + timedelta(seconds=1))
    from assets.rag.users.delivery import DeliveryReport, _record
    from resources.users_api import Delivery

    report = DeliveryReport()
    _record(engine, "run-old", [(stale, Delivery("dead", 400, "HTTP 400"))], policy, report, random.Random(0))
    assert report.lost_lease == 1
    [row] = outbox(engine).values()
    assert row["status"] == "pending" and row["lease_owner"] == "run-new" and row["attempts"] == 2


def test_replay_dead_rows_by_id_and_kind(engine, users_server):
    write_logs(engine, log_rows(3))
    with engine.begin() as conn:
        conn.execute(update(notification_outbox).values(status="dead", attempts=8, last_error="HTTP 422: x"))
        first_id = conn.execute(select(notification_outbox.c.id).order_by(notification_outbox.c.id)).scalars().first()
    assert len(replay_dead(engine, [first_id], None, dry_run=True)) == 1
    assert {r["status"] for r in outbox(engine).values()} == {"dead"}
    assert [r[0] for r in replay_dead(engine, [first_id], None, dry_run=False)] == [first_id]
    assert len(replay_dead(engine, [], "query_result", dry_run=False)) == 2
    report = deliver_due(engine, client(users_server.url), "run-1", FAST)
    assert report.sent == 3 and len(users_server.records) == 3


def test_reconcile_enqueues_rows_the_trigger_missed_and_prune_removes_old_deliveries(engine, users_server):
    ids = write_logs(engine, log_rows(4))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM notification_outbox WHERE idempotency_key = :k"), {"k": f"query_result:{ids[2]}"})
    assert enqueue_missing_query_results(engine, utcnow() - timedelta(days=1)) == 1
    assert enqueue_missing_query_results(engine, utcnow() - timedelta(days=1)) == 0
    deliver_due(engine, client(users_server.url), "run-1", FAST)
    assert len(users_server.records) == 4
    with engine.begin() as conn:
        conn.execute(update(notification_outbox).where(notification_outbox.c.idempotency_key == f"query_result:{ids[0]}")
                     .values(sent_at=utcnow() - timedelta(days=8)))
    deleted, errors = prune_delivered(engine, 7, batch_rows=2)
    assert (deleted, errors.count) == (1, 0)
    assert f"query_result:{ids[0]}" not in outbox(engine) and len(outbox(engine)) == 3


def test_a_lingering_run_delivers_rows_that_arrive_while_it_waits(engine, users_server):
    import threading
    import time

    write_logs(engine, log_rows(1))
    late = threading.Timer(0.6, lambda: write_logs(engine, log_rows(1, start=1)))
    late.start()
    started = time.perf_counter()
    report = deliver_due(engine, client(users_server.url), "run-1", FAST, linger_s=1.5, poll_s=0.1)
    late.join()
    assert report.sent == 2 and report.batches == 2 and len(users_server.records) == 2
    assert 2.0 <= time.perf_counter() - started < 10  # waited 1.5 s after the late row, then stopped


def test_concurrent_runs_claim_disjoint_rows_on_postgresql(pg_url, users_server):
    """Two delivery runs at once (a hand launch beside the sensor's): FOR UPDATE SKIP LOCKED gives each
    its own rows, so no row is sent twice."""
    import threading

    from appdb.engine import build_engine

    engine = build_engine(pg_url)
    ids = write_logs(engine, log_rows(400))
    policy = DeliveryPolicy(max_attempts=8, batch_rows=20, concurrency=4, backoff_s=0, backoff_max_s=0, lease_s=60)
    reports = {}
    runs = [threading.Thread(target=lambda o=o: reports.__setitem__(o, deliver_due(engine, client(users_server.url), o, policy)))
            for o in ("run-a", "run-b")]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert reports["run-a"].sent + reports["run-b"].sent == 400 and min(r.sent for r in reports.values()) > 0
    assert set(users_server.records) == {f"query_result:{i}" for i in ids}
    assert users_server.answers[409] == 0 and sum(users_server.attempts.values()) == 400
