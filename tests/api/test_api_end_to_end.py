"""The operations API against a real dagster-webserver and daemon (one pair for the module, see
conftest): triggers, statuses, revoke, keys and scopes, idempotency, bad input, /metrics, and the
health alerts (a failed ERROR check and a freshness FAIL, each posted once)."""

import logging
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import wait_status
from tests.support.daemon import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def samples(text: str) -> dict[tuple, float]:
    """{(name, sorted labels...): value} of a /metrics answer, parsed by prometheus_client."""
    return {
        (s.name, *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_trigger_then_status_until_success(platform, caplog):
    api = platform.client()
    # The quickly_stale asset goes stale a minute after this run: the freshness test (last) waits for it.
    stale = api.post("/api/v1/tasks/trigger/stale", headers=platform.headers())
    with caplog.at_level(logging.INFO, logger="opsapi.audit"):
        response = api.post("/api/v1/tasks/trigger/sleep", headers=platform.headers("launcher"),
                            json={"run_config": {"ops": {"sleep_op": {"config": {"seconds": 0.5}}}}})  # fmt: skip
    assert response.status_code == 202, response.text
    run_id = response.json()["task_id"]
    assert response.json() == {"task_id": run_id, "status": "PENDING", "job": "ops_api_sleep_job", "trigger": "sleep", "created": True}
    assert f"trigger job=ops_api_sleep_job run={run_id} key=launcher" in caplog.text

    body = wait_status(api, platform.headers("reader"), run_id, {"SUCCESS", "FAILURE"})
    assert body["status"] == "SUCCESS" and body["dagster_status"] == "SUCCESS"
    assert body["error"] is None and body["traceback"] is None
    assert body["result"]["job"] == "ops_api_sleep_job" and body["result"]["duration_seconds"] >= 0.5
    assert body["run_url"] == f"http://ui.example/runs/{run_id}"
    # Seed 003's path answers the same.
    assert api.get(f"/task/{run_id}/status", headers=platform.headers("reader")).json()["status"] == "SUCCESS"
    assert stale.status_code == 202
    wait_status(api, platform.headers(), stale.json()["task_id"], {"SUCCESS"})


def test_failed_run_reports_the_steps_error(platform):
    api = platform.client()
    run_id = api.post("/api/v1/tasks/trigger/fail", headers=platform.headers()).json()["task_id"]
    body = wait_status(api, platform.headers(), run_id, {"SUCCESS", "FAILURE"})
    assert body["status"] == "FAILURE" and body["result"] is None
    assert body["error"] == "broken_op: ValueError: the source table is empty"
    assert "raise ValueError" in body["traceback"]


def test_revoke_stops_a_running_run_only_with_terminate(platform, caplog):
    api = platform.client()
    run_id = api.post("/api/v1/tasks/trigger/sleep", headers=platform.headers(),
                      json={"run_config": {"ops": {"sleep_op": {"config": {"seconds": 300}}}}}).json()["task_id"]  # fmt: skip
    wait_status(api, platform.headers(), run_id, {"STARTED"})
    listed = api.get("/api/v1/tasks/list", headers=platform.headers("reader")).json()
    assert [t["task_id"] for t in listed["active"]] == [run_id] and listed["active"][0]["triggered_by"] == "admin"
    [scheduled] = listed["scheduled"]
    assert scheduled["name"] == "ops_api_sleep_job" and scheduled["schedule"] == "ops_api_yearly_schedule" and scheduled["eta"] > time.time()

    refused = api.post(f"/api/v1/tasks/revoke/{run_id}", headers=platform.headers())
    assert refused.status_code == 409 and refused.json()["error"] == "run_started"
    assert api.post(f"/api/v1/tasks/revoke/{run_id}?terminate=true", headers=platform.headers("launcher")).status_code == 403

    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="opsapi.audit"):
        done = api.post(f"/api/v1/tasks/revoke/{run_id}?terminate=true", headers=platform.headers())
    assert done.status_code == 200
    assert done.json() == {"status": "success", "message": f"Task {run_id} revoked", "task_id": run_id, "terminate": True, "was": "STARTED"}
    assert f"revoke run={run_id} job=ops_api_sleep_job was=STARTED terminate=True key=admin" in caplog.text
    body = wait_status(api, platform.headers(), run_id, {"CANCELED"}, timeout=90)
    assert body["status"] == "REVOKED" and time.monotonic() - started < 90  # long before the 300 s sleep ends
    again = api.post(f"/api/v1/tasks/revoke/{run_id}?terminate=true", headers=platform.headers())
    assert again.status_code == 409 and again.json()["error"] == "run_finished"


def test_the_seeds_dedicated_endpoints(platform):
    api = platform.client()
    deleted = api.delete("/api/v1/sync/document/doc-42", headers=platform.headers("launcher"))
    assert deleted.status_code == 202 and deleted.json()["document_id"] == "doc-42" and deleted.json()["job"] == "rag_delete_document_job"
    wait_status(api, platform.headers(), deleted.json()["task_id"], {"SUCCESS"})  # the run config fits the job
    for response in (api.post("/api/v1/sync/trigger-full-sync", headers=platform.headers()),
                     api.post("/api/v1/assistant/rebuild-index", headers=platform.headers())):  # fmt: skip
        # Their jobs come from other domains; this code location does not load them.
        assert response.status_code == 503 and response.json()["error"] == "job_not_loaded", response.text


def test_keys_and_scopes(platform):
    api = platform.client()
    assert api.get("/api/v1/tasks/list").status_code == 401
    wrong = api.get("/api/v1/tasks/list", headers={"X-API-Key": platform.keys["admin"] + "x"})
    assert wrong.status_code == 401 and wrong.json() == {"error": "unauthorized", "message": "unknown API key"}
    forbidden = api.post("/api/v1/tasks/trigger/sleep", headers=platform.headers("reader"))
    assert forbidden.status_code == 403 and "lacks scope 'trigger'" in forbidden.json()["message"]
    assert api.post("/api/v1/sync/trigger-full-sync", headers=platform.headers("reader")).status_code == 403
    assert api.post("/api/v1/tasks/revoke/x", headers=platform.headers("launcher")).status_code == 403
    workers = api.get("/api/v1/tasks/workers", headers=platform.headers("reader")).json()
    assert workers["status"] == "success" and workers["total_workers"] == len(workers["workers"])
    daemons = {w["name"]: w["stats"] for w in workers["workers"]}
    assert daemons["dagster-daemon/QUEUED_RUN_COORDINATOR"]["healthy"] is True
    assert 0 <= daemons["dagster-daemon/SENSOR"]["heartbeat_age_seconds"] < 120
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers=platform.headers("reader")).status_code == 200
    assert api.get("/metrics", headers={"Authorization": f"Bearer {platform.keys['reader']}"}).status_code == 200  # Prometheus' way
    assert platform.client(metrics_public=True).get("/metrics").status_code == 200


def test_idempotency_key_gives_the_same_run_across_api_restarts(platform):
    first = platform.client().post("/api/v1/tasks/trigger/sleep", headers=platform.headers(**{"Idempotency-Key": "nightly-2026-12-03"}))
    assert first.status_code == 202
    restarted = platform.client()  # a new process's state: the key is found on the run's tag
    again = restarted.post("/api/v1/tasks/trigger/sleep", headers=platform.headers(**{"Idempotency-Key": "nightly-2026-12-03"}))
    assert again.status_code == 200
    assert again.json()["task_id"] == first.json()["task_id"] and again.json()["created"] is False
    assert again.json()["status"] in {"PENDING", "STARTED", "SUCCESS"}  # that run's status now
    other_job = restarted.post("/api/v1/tasks/trigger/fail", headers=platform.headers(**{"Idempotency-Key": "nightly-2026-12-03"}))
    assert other_job.status_code == 409 and other_job.json()["error"] == "idempotency_key_reused"
    bad = restarted.post("/api/v1/tasks/trigger/sleep", headers=platform.headers(**{"Idempotency-Key": "a b"}))
    assert bad.status_code == 400 and bad.json()["error"] == "bad_idempotency_key"
    different = restarted.post("/api/v1/tasks/trigger/sleep", headers=platform.headers(**{"Idempotency-Key": "nightly-2026-12-04"}))
    assert different.json()["task_id"] != first.json()["task_id"]
    wait_status(restarted, platform.headers(), different.json()["task_id"], {"SUCCESS"})


def test_bad_input_answers_json_errors(platform):
    api = platform.client()
    h = platform.headers()
    unknown = api.post("/api/v1/tasks/trigger/drop-database", headers=h)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_trigger"
    missing = api.post("/api/v1/tasks/trigger/not-loaded", headers=h)
    assert missing.status_code == 503 and missing.json()["error"] == "job_not_loaded" and "rag_full_sync_job" in missing.json()["message"]
    bad_config = api.post("/api/v1/tasks/trigger/sleep", headers=h, json={"run_config": {"ops": {"sleep_op": {"config": {"seconds": "soon"}}}}})
    assert bad_config.status_code == 400 and bad_config.json()["error"] == "invalid_run_config"
    assert "sleep_op:config:seconds" in bad_config.json()["detail"][0]
    not_object = api.post("/api/v1/tasks/trigger/sleep", headers=h, json={"run_config": [1, 2]})
    assert not_object.status_code == 400 and not_object.json()["error"] == "bad_request"
    run = api.get("/api/v1/tasks/status/00000000-0000-0000-0000-000000000000", headers=h)
    assert run.status_code == 404 and run.json()["error"] == "run_not_found"
    assert api.post("/api/v1/tasks/revoke/00000000-0000-0000-0000-000000000000", headers=h).status_code == 404

    down = platform.client(graphql_url="http://127.0.0.1:9/graphql")  # nothing listens on port 9
    for response in (down.get("/api/v1/tasks/status/x", headers=h), down.post("/api/v1/tasks/trigger/sleep", headers=h)):
        assert response.status_code == 503 and response.json()["error"] == "dagster_unavailable"
        assert "Traceback" not in response.text
    metrics = samples(down.get("/metrics", headers=h).text)
    assert metrics[("opsapi_dagster_up",)] == 0 and metrics[("opsapi_metrics_refresh_errors_total",)] == 1


def test_metrics_parse_and_change_after_a_run(platform):
    api = platform.client()  # metrics_cache_s=0: every scrape asks Dagster
    before = samples(api.get("/metrics", headers=platform.headers()).text)
    assert before[("opsapi_dagster_up",)] == 1
    assert before[("dagster_runs", ("status", "SUCCESS"))] >= 2
    assert ("dagster_runs_finished_total", ("job", "ops_api_sleep_job"), ("status", "SUCCESS")) not in before
    assert before[("dagster_daemon_heartbeat_age_seconds", ("daemon", "QUEUED_RUN_COORDINATOR"))] < 120
    assert before[("tags_persisted_total", ("status", "success"))] == 0  # the series exists before anything happened

    run_id = api.post("/api/v1/tasks/trigger/sleep", headers=platform.headers()).json()["task_id"]
    posts_run = api.post("/api/v1/tasks/trigger/posts", headers=platform.headers()).json()["task_id"]
    wait_status(api, platform.headers(), run_id, {"SUCCESS"})
    wait_status(api, platform.headers(), posts_run, {"SUCCESS"})
    after = samples(api.get("/metrics", headers=platform.headers()).text)
    assert after[("dagster_runs", ("status", "SUCCESS"))] == before[("dagster_runs", ("status", "SUCCESS"))] + 2
    assert after[("dagster_runs_finished_total", ("job", "ops_api_sleep_job"), ("status", "SUCCESS"))] == 1
    assert after[("dagster_runs_finished_total", ("job", "ops_api_posts_job"), ("status", "SUCCESS"))] == 1
    assert after[("dagster_run_duration_seconds_count", ("job", "ops_api_sleep_job"))] == 1
    assert after[("dagster_run_queue_length",)] == 0
    # Seed 001's counters from the post_tags materialization's metadata.
    seed = {("tagging_processed_total", "success"): 5, ("tagging_processed_total", "skipped"): 2, ("tagging_processed_total", "failed"): 1,
            ("tags_persisted_total", "success"): 4, ("tags_persisted_total", "unchanged"): 1, ("tags_rejected_total", "rejected"): 4}  # fmt: skip
    for (name, status), value in seed.items():
        assert after[(name, ("status", status))] == value, name
    # The next scrape does not count the same runs and materializations again.
    again = samples(api.get("/metrics", headers=platform.headers()).text)
    assert again[("dagster_runs_finished_total", ("job", "ops_api_sleep_job"), ("status", "SUCCESS"))] == 1
    assert again[("tagging_processed_total", ("status", "success"))] == 5


def test_a_failed_error_check_posts_one_alert(platform):
    api = platform.client()
    for _ in range(2):  # the check fails twice: one transition, one alert
        run_id = api.post("/api/v1/tasks/trigger/checked", headers=platform.headers()).json()["task_id"]
        wait_status(api, platform.headers(), run_id, {"SUCCESS"})
    wait_for(lambda: platform.alerts("asset_check_failed"), 60, 0.5, "the check alert")
    time.sleep(6)  # several more sensor ticks (every 2 s)
    [alert] = platform.alerts("asset_check_failed")
    assert alert["asset"] == "checked_rows" and alert["check"] == "rows_sane"
    assert alert["text"].startswith("Asset check failed: checked_rows / rows_sane")
    metrics = samples(api.get("/metrics", headers=platform.headers()).text)
    assert metrics[("dagster_asset_check_passed", ("asset", "checked_rows"), ("check", "rows_sane"), ("severity", "ERROR"))] == 0


def test_an_asset_turning_stale_posts_one_alert(platform):
    # quickly_stale was materialized by the first test; its fail window is one minute.
    wait_for(lambda: platform.alerts("freshness_failed"), 150, 1.0, "the freshness alert")
    time.sleep(6)
    [alert] = platform.alerts("freshness_failed")
    assert alert["asset"] == "quickly_stale" and alert["previous_state"] == "PASS"
    metrics = samples(platform.client().get("/metrics", headers=platform.headers()).text)
    assert metrics[("dagster_asset_freshness_state", ("asset", "quickly_stale"), ("state", "FAIL"))] == 1
    assert metrics[("dagster_asset_freshness_state", ("asset", "quickly_stale"), ("state", "PASS"))] == 0
