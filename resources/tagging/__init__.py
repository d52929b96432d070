"""The tagger as a resource: `TAGGER=local` (default: extractive, embedding-ranked, no tokens spent) or
`TAGGER=llm` (an OpenAI-compatible chat API). Which one is configuration, looked up in `BUILDERS`."""

from __future__ import annotations

from typing import Callable

import dagster as dg
from pydantic import Field

from resources.tagging.base import TagOutcome, Tagger

__all__ = ["TaggerResource", "TagOutcome", "Tagger", "BUILDERS"]


def _local(resource: "TaggerResource", embedder, llm) -> Tagger:
    from resources.tagging.local import LocalTagger

    return LocalTagger(embedder, resource.max_tags, resource.diversity)


def _llm(resource: "TaggerResource", embedder, llm) -> Tagger:
    from resources.tagging.llm import LLMTagger

    return LLMTagger(llm.client(), resource.max_tags, concurrency=resource.llm_concurrency)


BUILDERS: dict[str, Callable[..., Tagger]] = {"local": _local, "llm": _llm}


class TaggerResource(dg.ConfigurableResource):
    """Which tagger tags the posts, and its limits."""

    kind: str = Field(default="local", description="TAGGER: local (extractive, no tokens) or llm (LLM_* variables).")
    max_tags: int = Field(default=8, description="TAGS_MAX: at most this many tags per post.")
    diversity: float = Field(
        default=0.5, description="Local tagger: 0 = most similar to the post only, 1 = most different from each other (MMR)."
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
