"""`/metrics`: the instance as Prometheus sees it, from one GraphQL request per refresh.

Cost does not grow with the number of runs in the instance: run totals per status are `count`s
(SQL COUNT in the run storage), runs in progress are listed (few), and finished runs and
materializations are read incrementally (only those updated since the last refresh). Counters
(`*_total`, the duration histogram) count what finished since the API started, as every Prometheus
client does; `rate()`/`increase()` handle restarts. A refresh happens at most every
OPS_METRICS_CACHE_SECONDS; scrapes in between (and concurrent ones) share it. Asset states (freshness,
latest check results) cost a little per asset and change at most as often as the daemon evaluates
freshness (30 s): they are asked for at most every ASSET_STATES_S (0 with OPS_METRICS_CACHE_SECONDS=0).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from opsapi.dagster import DagsterApi
from opsapi.errors import ApiError

log = logging.getLogger("opsapi.metrics")

RUN_STATUSES = ("QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELING", "CANCELED")
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
IN_PROGRESS = ("STARTING", "STARTED", "CANCELING")
FRESHNESS_STATES = ("PASS", "WARN", "FAIL", "UNKNOWN")
# GraphQL reports freshness as an asset-health status; the policy's own words are PASS/WARN/FAIL.
FRESHNESS_OF_HEALTH = {"HEALTHY": "PASS", "WARNING": "WARN", "DEGRADED": "FAIL", "UNKNOWN": "UNKNOWN"}
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
LATE_COMMIT_S = 10.0  # re-read runs/events updated this long before the last refresh (commit lag)
REMEMBER_S = 300.0  # counted ids kept this long, so a re-read never counts twice
PAGE = 1000
ASSET_STATES_S = 30.0
ASSETS_QUERY = """
{ assetNodes { assetKey { path } freshnessStatusInfo { freshnessStatus }
  assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { evaluation { severity success } } } } } } }
"""


@dataclass(frozen=True)
class SeedCounter:
    """A seed 001 counter: per label value, the metadata key(s) of an asset's materializations summed."""

    name: str
    help: str
    asset: str
    by_status: dict[str, tuple[str, ...]]


# Seed 001's worker counters, from the posts assets' materialization metadata (assets/posts/*.py).
SEED_COUNTERS = (
    SeedCounter("tagging_processed", "Posts the tagging step handled (seed 001 tagging_task): success = tagged, skipped = text unchanged, failed.",
                "post_tags", {"success": ("posts_tagged",), "skipped": ("posts_unchanged",), "failed": ("posts_failed",)}),
    SeedCounter("tags_persisted", "Tag rows of post_enrichment (seed 001 tag_persistence_task): success = inserted or updated, unchanged = already right.",
                "post_tags", {"success": ("rows_inserted", "rows_updated"), "unchanged": ("rows_unchanged",)}),
    SeedCounter("tags_rejected", "Tags dropped because they do not occur in the post (grounding rule).", "post_tags", {"rejected": ("tags_rejected",)}),
    SeedCounter("enrichment_processed", "Posts whose links were crawled (seed 001 enrichment_task): success = crawled, skipped = links unchanged.",
                "post_link_enrichments", {"success": ("posts_crawled",), "skipped": ("posts_unchanged",)}),
    SeedCounter("enrichment_urls", "Linked URLs fetched by the enrichment step, by outcome.", "post_link_enrichments",
                {"success": ("urls_read",), "failed": ("urls_failed",)}),
    SeedCounter("indexing_points", "Post vectors written to Qdrant (seed 001 indexing_task), by outcome.", "post_vectors",
                {"created": ("points_created",), "updated": ("points_updated",), "unchanged": ("points_unchanged",)}),
)
SEED_ASSETS = sorted({c.asset for c in SEED_COUNTERS})


def _alias(asset: str) -> str:
    return "m_" + "".join(ch if ch.isalnum() else "_" for ch in asset)


def snapshot_query() -> str:
    counts = "\n".join(f"  c_{s}: runsOrError(filter: {{statuses: [{s}]}}) {{ ... on Runs {{ count }} }}" for s in RUN_STATUSES)
    materializations = "\n".join(
        f'  {_alias(a)}: assetOrError(assetKey: {{path: ["{a}"]}}) {{ ... on Asset {{ assetMaterializations(afterTimestampMillis: $after, limit: {PAGE}) '
        "{ runId timestamp metadataEntries { label ... on IntMetadataEntry { intValue } ... on FloatMetadataEntry { floatValue } } } } }"
        for a in SEED_ASSETS
    )
    return f"""
query ($finished: RunsFilter, $after: String) {{
{counts}
  inProgress: runsOrError(filter: {{statuses: [{", ".join(IN_PROGRESS)}]}}, limit: {PAGE}) {{ ... on Runs {{ results {{ jobName }} }} }}
  finished: runsOrError(filter: $finished, limit: {PAGE}) {{ ... on Runs {{ results {{ runId jobName status startTime endTime }} }} }}
  instance {{ daemonHealth {{ allDaemonStatuses {{ daemonType healthy lastHeartbeatTime }} }} }}
{materializations}
}}"""


class _Gauges:
    """The gauges of the last snapshot, handed to prometheus_client at scrape time."""

    def __init__(self) -> None:
        self.families: list[GaugeMetricFamily] = []

    def collect(self):
        return list(self.families)


class MetricsCollector:
    def __init__(self, api: DagsterApi, cache_s: float):
        self.api, self.cache_s = api, cache_s
        self.query = snapshot_query()
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._refreshed = 0.0
        self._asset_states_s = ASSET_STATES_S if cache_s > 0 else 0.0
        self._assets: list[dict] = []
        self._assets_at = 0.0
        self._watermark = self.started_at  # finished runs / materializations after this are counted
        self._counted_runs: dict[str, float] = {}
        self._counted_materializations: dict[tuple[str, str], float] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self._gauges = _Gauges()
        self.registry.register(self._gauges)
        self.runs_finished = Counter("dagster_runs_finished", "Runs that finished since the API started, by job and status.", ["job", "status"], registry=self.registry)
        self.run_duration = Histogram("dagster_run_duration_seconds", "Duration (start to end) of the runs that finished since the API started.", ["job"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.seed = {c.name: Counter(c.name, c.help, ["status"], registry=self.registry) for c in SEED_COUNTERS}
        for counter in SEED_COUNTERS:  # every series exists from the start: `... == 0` in an alert rule needs a 0, not nothing
            for status in counter.by_status:
                self.seed[counter.name].labels(status)
        self.refresh_errors = Counter("opsapi_metrics_refresh_errors", "Refreshes that could not reach Dagster.", registry=self.registry)

    def render(self) -> bytes:
        with self._lock:
            if time.monotonic() - self._refreshed >= self.cache_s or not self._refreshed:
                self._refresh()
                self._refreshed = time.monotonic()
            return generate_latest(self.registry)

    def _refresh(self) -> None:
        started = time.perf_counter()
        now = time.time()
        since = self._watermark if self._watermark == self.started_at else self._watermark - LATE_COMMIT_S
        try:
            data = self.api.query(self.query, {
                "finished": {"statuses": list(FINISHED), "updatedAfter": since},
                "after": str(int(since * 1000)),
            })
            if not self._assets_at or time.monotonic() - self._assets_at >= self._asset_states_s:
                self._assets = self.api.query(ASSETS_QUERY)["assetNodes"]
                self._assets_at = time.monotonic()
        except ApiError as exc:
            log.warning("metrics refresh failed: %s", exc.message)
            self.refresh_errors.inc()
            self._gauges.families = self._families_down(time.perf_counter() - started)
            return
        data["assetNodes"] = self._assets
        self._count_finished(data["finished"].get("results") or [])
        self._count_seed(data)
        self._watermark = now
        self._gauges.families = self._families(data, now, time.perf_counter() - started)

    def _count_finished(self, runs: list[dict]) -> None:
        for run in runs:
            if run["runId"] in self._counted_runs or not run["endTime"] or run["endTime"] < self.started_at:
                continue
            self._counted_runs[run["runId"]] = run["endTime"]
            self.runs_finished.labels(run["jobName"], run["status"]).inc()
            if run["startTime"]:
                self.run_duration.labels(run["jobName"]).observe(max(0.0, run["endTime"] - run["startTime"]))
        horizon = time.time() - REMEMBER_S
        self._counted_runs = {k: t for k, t in self._counted_runs.items() if t >= horizon}

    def _count_seed(self, data: dict) -> None:
        for asset in SEED_ASSETS:
            events = (data.get(_alias(asset)) or {}).get("assetMaterializations") or []
            for event in events:
                stamp = float(event["timestamp"]) / 1000
                # A range run materializes each partition with the same metadata: count the run once.
                if (asset, event["runId"]) in self._counted_materializations or stamp < self.started_at:
                    continue
                self._counted_materializations[(asset, event["runId"])] = stamp
                values = {e["label"]: e.get("intValue", e.get("floatValue")) for e in event["metadataEntries"]}
                for counter in SEED_COUNTERS:
                    if counter.asset != asset:
                        continue
                    for status, keys in counter.by_status.items():
                        total = sum(values.get(k) or 0 for k in keys)
                        if total:
                            self.seed[counter.name].labels(status).inc(total)
        horizon = time.time() - REMEMBER_S
        self._counted_materializations = {k: t for k, t in self._counted_materializations.items() if t >= horizon}

    def _families(self, data: dict, now: float, seconds: float) -> list[GaugeMetricFamily]:
        up = GaugeMetricFamily("opsapi_dagster_up", "1 when the last refresh reached dagster-webserver.", value=1)
        refresh = GaugeMetricFamily("opsapi_metrics_refresh_seconds", "Duration of the last refresh from Dagster.", value=round(seconds, 4))
        runs = GaugeMetricFamily("dagster_runs", "Runs in the instance by status.", labels=["status"])
        for status in RUN_STATUSES:
            runs.add_metric([status], data[f"c_{status}"].get("count") or 0)
        queue = GaugeMetricFamily("dagster_run_queue_length", "Runs waiting in the run queue (QUEUED).", value=data["c_QUEUED"].get("count") or 0)
        by_job: dict[str, int] = {}
        for run in data["inProgress"].get("results") or []:
            by_job[run["jobName"]] = by_job.get(run["jobName"], 0) + 1
        in_progress = GaugeMetricFamily("dagster_runs_in_progress", "Runs starting, running or canceling, by job.", labels=["job"])
        for job, count in sorted(by_job.items()):
            in_progress.add_metric([job], count)
        age = GaugeMetricFamily("dagster_daemon_heartbeat_age_seconds", "Seconds since each daemon's last heartbeat.", labels=["daemon"])
        healthy = GaugeMetricFamily("dagster_daemon_healthy", "1 when Dagster considers the daemon healthy.", labels=["daemon"])
        for daemon in data["instance"]["daemonHealth"]["allDaemonStatuses"]:
            if daemon["lastHeartbeatTime"]:
                age.add_metric([daemon["daemonType"]], round(now - daemon["lastHeartbeatTime"], 3))
            healthy.add_metric([daemon["daemonType"]], 1 if daemon["healthy"] else 0)
        freshness = GaugeMetricFamily("dagster_asset_freshness_state", "1 for the asset's current freshness state (assets with a freshness policy).", labels=["asset", "state"])
        checks = GaugeMetricFamily("dagster_asset_check_passed", "Latest evaluation of each asset check: 1 passed, 0 failed.", labels=["asset", "check", "severity"])
        for node in data["assetNodes"]:
            asset = "/".join(node["assetKey"]["path"])
            state = FRESHNESS_OF_HEALTH.get((node.get("freshnessStatusInfo") or {}).get("freshnessStatus"))
            if state:
                for candidate in FRESHNESS_STATES:
                    freshness.add_metric([asset, candidate], 1 if candidate == state else 0)
            for check in (node.get("assetChecksOrError") or {}).get("checks") or []:
                evaluation = (check.get("executionForLatestMaterialization") or {}).get("evaluation")
                if evaluation:
                    checks.add_metric([asset, check["name"], evaluation["severity"]], 1 if evaluation["success"] else 0)
        return [up, refresh, runs, queue, in_progress, age, healthy, freshness, checks]

    def _families_down(self, seconds: float) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily("opsapi_dagster_up", "1 when the last refresh reached dagster-webserver.", value=0),
            GaugeMetricFamily("opsapi_metrics_refresh_seconds", "Duration of the last refresh from Dagster.", value=round(seconds, 4)),
        ]
