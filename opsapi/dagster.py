"""Dagster through its GraphQL API only: our own small queries over HTTP (httpx, pooled connections)
for reads, `dagster_graphql.DagsterGraphQLClient` for launching and terminating runs."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import requests
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from opsapi.errors import ApiError, DagsterUnavailable

JOBS_QUERY = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
  ... on PythonError { message } } }
"""
JOBS_TTL_S = 30.0


@dataclass(frozen=True)
class JobLocation:
    location: str
    repository: str


class DagsterApi:
    def __init__(self, graphql_url: str, timeout_s: float = 30.0):
        self.url = graphql_url
        self._http = httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=8))
        parts = urlsplit(graphql_url)
        prefix = parts.path.rsplit("/graphql", 1)[0].rstrip("/")
        self._client = DagsterGraphQLClient(
            parts.hostname or "127.0.0.1", port_number=parts.port, use_https=parts.scheme == "https",
            timeout=int(timeout_s), path_prefix=prefix,
        )
        self._client_lock = threading.Lock()  # gql's sync client holds one connection: one call at a time
        self._jobs: dict[str, JobLocation] = {}
        self._jobs_at = 0.0
        self._jobs_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def query(self, document: str, variables: dict | None = None) -> dict:
        """The `data` of a GraphQL query; 503 when the webserver cannot be reached or answers 5xx."""
        try:
            response = self._http.post(self.url, json={"query": document, "variables": variables or {}})
        except httpx.HTTPError as exc:
            raise DagsterUnavailable(f"dagster-webserver unreachable at {self.url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise DagsterUnavailable(f"dagster-webserver at {self.url} answered HTTP {response.status_code}")
        body = response.json()
        if body.get("errors"):
            messages = "; ".join(e.get("message", "?") for e in body["errors"])[:500]
            raise ApiError(502, "dagster_error", f"dagster-webserver refused the query: {messages}")
        return body["data"]

    def job_location(self, job: str) -> JobLocation | None:
        """Where `job` is loaded (cached for 30 s; looked up again once when it is not there)."""
        with self._jobs_lock:
            if job not in self._jobs or time.monotonic() - self._jobs_at > JOBS_TTL_S:
                data = self.query(JOBS_QUERY)["repositoriesOrError"]
                if data["__typename"] != "RepositoryConnection":
                    raise DagsterUnavailable(f"dagster-webserver cannot list its code locations: {data.get('message', '')[:300]}")
                self._jobs = {
                    j["name"]: JobLocation(node["location"]["name"], node["name"]) for node in data["nodes"] for j in node["jobs"]
                }
                self._jobs_at = time.monotonic()
            return self._jobs.get(job)

    def launch(self, job: str, run_config: dict, tags: dict[str, str]) -> str:
        where = self.job_location(job)
        if where is None:
            raise ApiError(503, "job_not_loaded", f"job {job} is not loaded in any code location of {self.url} (deployment behind?)")
        try:
            with self._client_lock:
                return self._client.submit_job_execution(
                    job, repository_location_name=where.location, repository_name=where.repository,
                    run_config=run_config, tags=tags,
                )
        except DagsterGraphQLClientError as exc:
            raise self._translate(exc, job) from None

    def terminate(self, run_id: str) -> None:
        try:
            with self._client_lock:
                self._client.terminate_run(run_id)
        except DagsterGraphQLClientError as exc:
            raise self._translate(exc, run_id) from None

    def _translate(self, exc: DagsterGraphQLClientError, subject: str) -> ApiError:
        kind = exc.args[0] if exc.args else ""
        detail = exc.args[1] if len(exc.args) > 1 else None
        if isinstance(exc.__cause__, requests.exceptions.ConnectionError) or "Error when connecting" in str(kind):
            return DagsterUnavailable(f"dagster-webserver unreachable at {self.url}")
        if kind in ("RunConfigValidationInvalid", "PipelineConfigValidationInvalid"):
            problems = [e.get("message") for e in detail or [] if isinstance(e, dict)]
            return ApiError(400, "invalid_run_config", f"the run config does not fit job {subject}", problems)
        if kind in ("PipelineNotFoundError", "JobNotFoundError"):
            return ApiError(503, "job_not_loaded", f"job {subject} is not loaded in the code location")
        if kind == "RunNotFoundError":
            return ApiError(404, "run_not_found", f"no run {subject}")
        if kind == "TerminateRunFailure":
            return ApiError(409, "not_terminable", f"run {subject} cannot be terminated: {detail}")
        return ApiError(502, "dagster_error", f"dagster-webserver answered {kind}: {str(detail)[:300]}")
