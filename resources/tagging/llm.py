"""The LLM tagger: one chat-completions call per post, asking for strict JSON `{"tags": [...]}`.

The answer is used only when it is exactly that: not JSON, another shape, a refusal or a truncated
answer fails that post with the reason, and the other posts go on. After `breaker` consecutive
transport/HTTP failures (retries included) the endpoint is taken as down and the remaining posts of
the batch fail fast with `llm_unavailable` instead of each waiting through its retries.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from resources.llm import HTTP_ERROR, TRANSPORT, ChatCompletionsClient, LLMError
from resources.tagging.base import TagOutcome

INVALID_JSON = "invalid_json"
BAD_SCHEMA = "bad_schema"
LLM_UNAVAILABLE = "llm_unavailable"

SYSTEM_PROMPT = (
    "You tag posts from news and blog channels (Russian or English). "
    'Answer with ONLY a JSON object of the form {{"tags": ["...", "..."]}} and nothing else. '
    "Give at most {max_tags} tags, most relevant first. Every tag MUST be copied verbatim from the post: "
    "a word or a short phrase (1 to 3 words) that occurs in the post exactly as written, in the post's "
    "language. No hashtags, translations, synonyms, summaries or explanations. "
    'If nothing fits, answer {{"tags": []}}.'
)


def parse_tags(content: str) -> list:
    """The raw tags of a strict-JSON answer, or `LLMError(invalid_json|bad_schema)`."""
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise LLMError(INVALID_JSON, f"{exc}; answer starts {content[:80]!r}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tags"), list):
        raise LLMError(BAD_SCHEMA, f'expected {{"tags": [...]}}, got {content[:80]!r}')
    return data["tags"]


class LLMTagger:
    def __init__(
        self,
        client: ChatCompletionsClient,
        max_tags: int,
        *,
        concurrency: int = 4,
        max_answer_tokens: int = 256,
        breaker: int = 5,
    ):
        self.client = client
        self.max_tags = max_tags
        self.concurrency = max(1, concurrency)
        self.max_answer_tokens = max_answer_tokens
        self.breaker = max(1, breaker)
        self.name = f"llm:{client.model}:max{max_tags}"
        self._lock = threading.Lock()
        self._consecutive_failures = 0

    def _messages(self, text: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": SYSTEM_PROMPT.format(max_tags=self.max_tags)},
            {"role": "user", "content": text},
        ]

    def _tag_one(self, text: str) -> TagOutcome:
        with self._lock:
            if self._consecutive_failures >= self.breaker:
                return TagOutcome(
                    failure=LLM_UNAVAILABLE, detail=f"{self._consecutive_failures} consecutive transport/HTTP failures"
                )
        try:
            answer = self.client.complete(self._messages(text), max_tokens=self.max_answer_tokens)
        except LLMError as exc:
            with self._lock:
                if exc.reason in (TRANSPORT, HTTP_ERROR):
                    self._consecutive_failures += 1
            return TagOutcome(failure=exc.reason, detail=exc.detail)
        with self._lock:
            self._consecutive_failures = 0
        try:
            return TagOutcome(tags=parse_tags(answer.content), usage=answer.usage)
        except LLMError as exc:
            return TagOutcome(failure=exc.reason, detail=exc.detail, usage=answer.usage)

    def tag(self, texts: list[str]) -> list[TagOutcome]:
        if self.concurrency == 1 or len(texts) <= 1:
            return [self._tag_one(text) for text in texts]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="llm-tagger") as pool:
            return list(pool.map(self._tag_one, texts))
