"""Resources for the current environment: the same keys everywhere, targets from the settings."""

from __future__ import annotations

from assets.content.config import ContentSettings
from orchestration.settings import Settings
from resources.alerts import AlertWebhookResource
from resources.cache import CacheResource
from resources.commerce import CommerceSettings
from resources.database import DatabaseResource
from resources.embedders import ImageEmbedderResource, TextEmbedderResource
from resources.ingest import IngestResource
from resources.llm import LLMResource
from resources.maintenance import MaintenanceSettings
from resources.media import MediaResource
from resources.posts import PostsSettings
from resources.rag_index import RagIndexSettings
from resources.rates import RatesResource
from resources.recsys import RecsysSettings
from resources.step_io import DatabaseStepIOManager
from resources.tagging import TaggerResource
from resources.vectors import VectorStoreResource
from resources.web import WebFetcherResource
from resources.users_api import UsersApiResource


# Resource key of each domain database -> its URL variable.
DOMAIN_DATABASES = {
    "assistant_database": "ASSISTANT_DATABASE_URL",
    "content_database": "CONTENT_DATABASE_URL",
    "rag_database": "RAG_DATABASE_URL",
}


def build_resources(settings: Settings) -> dict:
    database = DatabaseResource(url=settings.secret("DATABASE_URL"), pool_size=settings.get_int("DB_POOL_SIZE"))
    return {
        "database": database,
        # Seeds 002-004: each application's own database (the same one as DATABASE_URL unless set).
        **{
            key: DatabaseResource(url=settings.database_secret(variable), pool_size=settings.get_int("DB_POOL_SIZE"))
            for key, variable in DOMAIN_DATABASES.items()
        },
        # Values that steps hand to each other, readable from any process (Celery workers, run containers).
        "step_io_manager": DatabaseStepIOManager(database=database),
        "media": MediaResource(
            root=settings.get("MEDIA_ROOT"),
            s3_bucket=settings.get("MEDIA_S3_BUCKET"),
            s3_endpoint_url=settings.get("MEDIA_S3_ENDPOINT_URL"),
        ),
        "rates": RatesResource(provider=settings.get("RATES_PROVIDER"), url=settings.get("RATES_URL")),
        "vectors": VectorStoreResource(
            path=settings.get("QDRANT_PATH"), url=settings.get("QDRANT_URL"), api_key=settings.secret("QDRANT_API_KEY")
        ),
        "text_embedder": TextEmbedderResource(
            model=settings.get("TEXT_MODEL"), device=settings.get("EMBED_DEVICE"), url=settings.get("TEXT_EMBED_URL"),
            api_key=settings.secret("TEXT_EMBED_API_KEY"), timeout_s=settings.get_float("TEXT_EMBED_TIMEOUT_SECONDS"),
        ),
        "image_embedder": ImageEmbedderResource(
            model=settings.get("IMAGE_MODEL"), pretrained=settings.get("IMAGE_PRETRAINED"), device=settings.get("EMBED_DEVICE")
        ),
        "cache": CacheResource(url=settings.secret("REDIS_URL")),
        "recsys": RecsysSettings(
            collection=settings.get("QDRANT_COLLECTION"),
            similar_cache_pattern=settings.get("SIMILAR_CACHE_PATTERN"),
        ),
        "commerce": CommerceSettings(
            store_currency=settings.get("STORE_CURRENCY").upper(),
            required_currencies=settings.get_list("RATES_CURRENCIES"),
            max_daily_change=settings.get_float("RATES_MAX_DAILY_CHANGE"),
            max_rate_age_days=settings.get_int("RATES_MAX_AGE_DAYS"),
            reprice_chunk_rows=settings.get_int("REPRICE_CHUNK_ROWS"),
        ),
        "maintenance": MaintenanceSettings.from_settings(settings),
        "llm": LLMResource(
            base_url=settings.get("LLM_BASE_URL"), api_key=settings.secret("LLM_API_KEY"), model=settings.get("LLM_MODEL"),
            read_timeout_s=settings.get_float("LLM_TIMEOUT_SECONDS"),
        ),
        "tagger": TaggerResource(kind=settings.get("TAGGER").lower(), max_tags=settings.get_int("TAGS_MAX")),
        "web": WebFetcherResource.from_settings(settings),
        "posts": PostsSettings(
            collection=settings.get("POSTS_COLLECTION"), ttl_days=settings.get_int("POST_TTL_DAYS"),
            cleanup_batch=settings.get_int("POSTS_CLEANUP_BATCH"),
        ),
        # Seed 003 wellbeing chat (issue 16): classifier, windows, retention.
        "content": ContentSettings.from_settings(settings),
        # Seed 004 RAG core, document index (issue 14).
        "ingest": IngestResource(
            url=settings.get("INGEST_URL"), api_key=settings.secret("INGEST_API_KEY"),
            batch=settings.get_int("RAG_SYNC_BATCH"), read_timeout_s=settings.get_float("INGEST_TIMEOUT_SECONDS"),
        ),
        "rag_index": RagIndexSettings(collection=settings.get("RAG_COLLECTION")),
        "alerts": AlertWebhookResource(
            webhook_url=settings.secret("ALERT_WEBHOOK_URL"), webserver_url=settings.get("DAGSTER_WEBSERVER_URL")
        ),
        # Seed 004 users side (issue 15): the users system's API and the domain's defaults.
        "users_api": UsersApiResource(
            url=settings.get("USERS_URL"), api_key=settings.secret("USERS_API_KEY"),
            read_timeout_s=settings.get_float("NOTIFY_TIMEOUT_SECONDS"),
        ),
        "rag_users": _rag_users_settings(settings),
    }


def _rag_users_settings(settings: Settings):
    from assets.rag.users.config import RagUsersSettings  # the domain's own resource (issue 15)

    return RagUsersSettings.from_settings(settings)
