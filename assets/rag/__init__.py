"""Seed 004's RAG core: the document index synced from the ingest system (`index/`) and the users
side, notifications, statistics, limits and cleanups (`users/`). See assets/rag/README.md."""

import dagster as dg

from assets.rag import index, users


def build_defs(settings) -> dg.Definitions:
    return dg.Definitions.merge(index.build_defs(settings), users.build_defs(settings))
