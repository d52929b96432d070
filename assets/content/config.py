"""The content domain's settings as a resource (key `content`): classifier choice and thresholds,
retention, windows. Defaults and descriptions come from orchestration/settings.py."""

from __future__ import annotations

import dagster as dg

from assets.content.classifier import EXAMPLES, LocalClassifier, read_examples
from assets.content.llm_classifier import LLMTopicClassifier
from assets.content.taxonomy import Topic
from orchestration.settings import setting_field
from resources.embedders import TextEmbedderResource
from resources.llm import LLMResource

CLASSIFIERS = ("local", "llm")
EMBEDDINGS = ("auto", "on", "off")
WRITERS = ("library", "llm")


class ContentSettings(dg.ConfigurableResource):
    classifier: str = setting_field("TOPIC_CLASSIFIER")
    min_score: float = setting_field("TOPIC_MIN_SCORE", float)
    use_embeddings: str = setting_field("TOPIC_USE_EMBEDDINGS")
    examples: str = setting_field("TOPIC_EXAMPLES")
    retention_days: int = setting_field("CONTENT_RETENTION_DAYS", int)
    popular_window_hours: float = setting_field("POPULAR_WINDOW_HOURS", float)
    recommendations_per_user: int = setting_field("RECOMMENDATIONS_PER_USER", int)
    daily_writer: str = setting_field("DAILY_CONTENT_WRITER")

    @classmethod
    def from_settings(cls, settings) -> "ContentSettings":
        return cls(
            classifier=settings.get("TOPIC_CLASSIFIER").lower(),
            min_score=settings.get_float("TOPIC_MIN_SCORE"),
            use_embeddings=settings.get("TOPIC_USE_EMBEDDINGS").lower(),
            examples=settings.get("TOPIC_EXAMPLES"),
            retention_days=settings.get_int("CONTENT_RETENTION_DAYS"),
            popular_window_hours=settings.get_float("POPULAR_WINDOW_HOURS"),
            recommendations_per_user=settings.get_int("RECOMMENDATIONS_PER_USER"),
            daily_writer=settings.get("DAILY_CONTENT_WRITER").lower(),
        )

    def build_classifier(self, topics: list[Topic], text_embedder: TextEmbedderResource, llm: LLMResource):
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"TOPIC_CLASSIFIER={self.classifier!r} is not one of {CLASSIFIERS}")
        if self.use_embeddings not in EMBEDDINGS:
            raise ValueError(f"TOPIC_USE_EMBEDDINGS={self.use_embeddings!r} is not one of {EMBEDDINGS}")
        embed = self.use_embeddings == "on" or (self.use_embeddings == "auto" and bool(text_embedder.url))
        examples = [] if self.examples.strip().lower() == "none" else read_examples(self.examples.strip() or EXAMPLES)
        local = LocalClassifier(topics, examples, min_score=self.min_score, embedder=text_embedder if embed else None)
        if self.classifier == "llm":
            if not llm.configured:
                raise ValueError("TOPIC_CLASSIFIER=llm needs LLM_BASE_URL and LLM_MODEL to be set")
            return LLMTopicClassifier(llm.client(), local)
        return local

    def build_daily_writer(self, llm: LLMResource):
        """The chat model that writes daily content, or None (the library)."""
        if self.daily_writer not in WRITERS:
            raise ValueError(f"DAILY_CONTENT_WRITER={self.daily_writer!r} is not one of {WRITERS}")
        if self.daily_writer == "library":
            return None
        if not llm.configured:
            raise ValueError("DAILY_CONTENT_WRITER=llm needs LLM_BASE_URL and LLM_MODEL to be set")
        return llm.client()
