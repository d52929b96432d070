"""`assistant_documents`: one knowledge document per catalog entity in `assistant_document`."""

import time
from datetime import timedelta
from typing import Optional

import dagster as dg
from pydantic import Field

from assets.assistant.documents import sync_documents
from assets.assistant.errors import retry_transport
from assets.metadata import md_table, timings_md
from resources.database import DatabaseResource

RETRIES = 3  # the seed's autoretry: 3 tries more, ASSISTANT_RETRY_DELAY_SECONDS apart


class DocumentsConfig(dg.Config):
    entities: Optional[list[str]] = Field(
        default=None,
        description="Changed entities ('option:12', 'product:3', ...): re-render only the documents they touch. "
        "Empty: every document (and retire those of entities that are gone).",
    )


def build_assistant_documents(retry_delay_s: float) -> dg.AssetsDefinition:
    @dg.asset(
        name="assistant_documents",
        group_name="assistant",
        kinds={"sql"},
        description=(
            "One knowledge document per entity of the configurator catalog (presets with their options and total "
            "price, options with category, price, stock, incompatibilities and price adjustments, categories with "
            "their options, every rule in words) in table assistant_document, content-hashed; documents of "
            "deleted or deactivated entities become tombstones for the index. Replaces seed 002's index "
            "service rendering."
        ),
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)),
        tags={"dagster/max_runtime": "1800"},
    )
    def assistant_documents(
        context: dg.AssetExecutionContext, config: DocumentsConfig, assistant_database: DatabaseResource
    ) -> dg.MaterializeResult:
        started = time.perf_counter()
        try:
            report = sync_documents(assistant_database.engine, config.entities)
        except Exception as exc:
            retry_transport(exc, "the configurator database did not answer", RETRIES, retry_delay_s)
            raise
        if report.problems:
            context.log.warning(f"{len(report.problems)} documents rendered with problems: " + "; ".join(
                f"{key}: {', '.join(problems)}" for key, problems in list(report.problems.items())[:20]))
        return dg.MaterializeResult(
            metadata={
                "mode": report.mode,
                "entities_requested": report.requested,
                "documents_rendered": report.rendered,
                "documents_created": report.created,
                "documents_updated": report.updated,
                "documents_unchanged": report.unchanged,
                "documents_retired": report.retired,
                "by_entity_type": dg.MetadataValue.json(dict(sorted(report.by_type.items()))),
                "documents_with_problems": len(report.problems),
                "problems": md_table(["document", "problem"], [[key, "; ".join(found)] for key, found in sorted(report.problems.items())]),
                "timings": timings_md(report.timings, time.perf_counter() - started),
            }
        )

    return assistant_documents
