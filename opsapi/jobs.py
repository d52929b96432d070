"""The jobs the API may launch: one dict, trigger name -> job. Nothing outside it can be started here.

`POST /api/v1/tasks/trigger/{name}` accepts every name below; the seeds' dedicated endpoints
(full sync, document delete, assistant rebuild) use their entries. A listed job that the code
location does not load answers 503 `job_not_loaded`.
"""

TRIGGERS: dict[str, str] = {
    # seed 004: POST /api/v1/tasks/trigger/{name}
    "cleanup-cache": "rag_cache_cleanup_job",
    "reset-daily-limits": "reset_daily_limits_job",
    "send-statistics": "usage_statistics_job",
    # seed 004: POST /api/v1/sync/trigger-full-sync, DELETE /api/v1/sync/document/{id}
    "full-sync": "rag_full_sync_job",
    "delete-document": "rag_delete_document_job",
    # seed 002: the admin-only rebuild of the assistant's knowledge index
    "assistant-rebuild": "assistant_rebuild_job",
}


def delete_document_config(document_id: str) -> dict:
    return {"ops": {"rag_delete_document": {"config": {"document_id": document_id}}}}
