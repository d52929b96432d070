"""The tagger as a resource: `TAGGER=local` (default: noun phrases of the post, lemmatized and ranked by
statistics and TEXT_MODEL similarity, no tokens spent) or `TAGGER=llm` (an OpenAI-compatible chat API). Which one is configuration, looked up in `BUILDERS`."""

from __future__ import annotations

from typing import Callable

import dagster as dg
from pydantic import Field

from orchestration.settings import setting_field
from resources.tagging.base import TagOutcome, Tagger

__all__ = ["TaggerResource", "TagOutcome", "Tagger", "BUILDERS"]


def _local(resource: "TaggerResource", embedder, llm) -> Tagger:
    from resources.tagging.local import LocalTagger

    return LocalTagger(embedder, resource.max_tags, resource.similarity_weight)


def _llm(resource: "TaggerResource", embedder, llm) -> Tagger:
    from resources.tagging.llm import LLMTagger

    return LLMTagger(llm.client(), resource.max_tags, concurrency=resource.llm_concurrency)


BUILDERS: dict[str, Callable[..., Tagger]] = {"local": _local, "llm": _llm}


class TaggerResource(dg.ConfigurableResource):
    """Which tagger tags the posts, and its limits."""

    kind: str = setting_field("TAGGER")
    max_tags: int = setting_field("TAGS_MAX", int)
    similarity_weight: float = Field(
        default=1.0,
        description="Local tagger: weight of the candidate's similarity to the post against its statistics; 0 = statistics only (no model).",
    )
    llm_concurrency: int = Field(default=4, description="LLM tagger: requests in flight at once.")
    batch_size: int = Field(default=64, description="Posts handed to the tagger at once (and persisted per transaction).")

    @property
    def uses_local_model(self) -> bool:
        return self.kind == "local"

    def build(self, embedder, llm) -> Tagger:
        """The configured tagger; `embedder` is the TextEmbedderResource, `llm` the LLMResource."""
        builder = BUILDERS.get(self.kind)
        if builder is None:
            raise ValueError(f"TAGGER={self.kind!r} is not one of {', '.join(sorted(BUILDERS))}")
        if self.max_tags < 1:
            raise ValueError(f"TAGS_MAX={self.max_tags} must be at least 1")
        return builder(self, embedder, llm)
