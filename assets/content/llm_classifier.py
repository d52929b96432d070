"""TOPIC_CLASSIFIER=llm: the OpenAI-compatible chat model picks the topic, constrained to the taxonomy.

The prompt lists the taxonomy's slugs and names and asks for `{"topic": "<slug>" | "none"}`. An answer
outside the taxonomy (an invented topic, prose, broken JSON) or a failed call is rejected and counted
by reason, and the local classifier's answer is used for that message (method `local(llm_rejected)`),
so a misbehaving model never writes a topic the frontend does not know. Once a call fails for
transport after its retries, the rest of the run uses the local answers without asking (`llm_down`).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from assets.content.classifier import LocalClassifier, Verdict
from assets.content.taxonomy import Topic
from resources.language import normalize_text
from resources.llm import TRANSPORT, ChatCompletionsClient, LLMError

OUTSIDE_TAXONOMY = "outside_taxonomy"
INVALID_JSON = "invalid_json"
# After a call failed for transport (still, after its retries), the rest of the run is not asked.
LLM_DOWN = "llm_down"
# The model reads at most this much of a message.
MAX_CHARS = 4000
LLM_SCORE = 0.9


def system_prompt(topics: Sequence[Topic]) -> str:
    listing = "\n".join(f"- {t.slug}: {t.name} — {t.description}" for t in topics)
    return (
        "Ты классифицируешь сообщения пользователей чата психологической поддержки по темам. "
        "Выбери ровно одну тему из списка (её идентификатор) или none, если ни одна не подходит.\n"
        f"Темы:\n{listing}\n"
        'Ответь только JSON: {"topic": "<идентификатор>"} или {"topic": "none"}.'
    )


class LLMTopicClassifier:
    method = "llm"

    def __init__(self, client: ChatCompletionsClient, fallback: LocalClassifier, *, threads: int = 4):
        self.client = client
        self.fallback = fallback
        self.slugs = {t.slug for t in fallback.topics}
        self.prompt = system_prompt(fallback.topics)
        self.threads = threads
        self.rejected: Counter = Counter()
        self.usage: Counter = Counter()
        self._down = False

    def classify_many(self, texts: Sequence[str]) -> list[Verdict]:
        local = self.fallback.classify_many(texts)
        with ThreadPoolExecutor(self.threads) as pool:
            answers = list(pool.map(self._ask, texts, local))
        return answers

    def _ask(self, text: str, local: Verdict) -> Verdict:
        flag = local.flag
        if flag in ("empty", "no_words"):
            return local  # nothing to ask about (empty, emoji only): no tokens spent
        if self._down:
            return self._reject(LLM_DOWN, local)
        try:
            answer = self.client.complete(
                [{"role": "system", "content": self.prompt}, {"role": "user", "content": normalize_text(text)[:MAX_CHARS]}],
                max_tokens=40,
            )
        except LLMError as exc:
            self._down = self._down or exc.reason == TRANSPORT
            return self._reject(exc.reason, local)
        self.usage.update(answer.usage)
        try:
            chosen = json.loads(answer.content).get("topic")
        except (ValueError, AttributeError):
            return self._reject(INVALID_JSON, local)
        if chosen == "none" or chosen is None:
            return Verdict(None, LLM_SCORE, self.method, flag)
        if not isinstance(chosen, str) or chosen not in self.slugs:
            return self._reject(OUTSIDE_TAXONOMY, local)
        return Verdict(chosen, LLM_SCORE, self.method, flag)

    def _reject(self, reason: str, local: Verdict) -> Verdict:
        self.rejected[reason] += 1
        return Verdict(local.topic, local.score, f"{local.method}(llm_rejected)", local.flag)
