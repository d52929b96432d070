"""An OpenAI-compatible chat-completions API as a resource (OpenAI, OpenRouter, a GigaChat gateway, vLLM...).

`POST {LLM_BASE_URL}/chat/completions` with a bearer key. Transport trouble (connection errors,
timeouts, 5xx, 429) is retried with exponential backoff and jitter; an answer that cannot be used is
an `LLMError` with a short reason, never a silent empty result:

- `transport`: still failing after the retries;     - `http_error`: a 4xx (bad key, unknown model...);
- `refused`: the model declined (`refusal`, `content_filter`, no content);
- `truncated`: `finish_reason` is `length` (a cut JSON must not be half-used);
- `invalid_response`: the body is not a chat-completions answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import requests
from pydantic import Field

from orchestration.settings import setting_field

from resources.http_retry import JSONPoster, TransientHTTPError

TRANSPORT = "transport"
HTTP_ERROR = "http_error"
REFUSED = "refused"
TRUNCATED = "truncated"
INVALID_RESPONSE = "invalid_response"


class LLMError(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class ChatAnswer:
    content: str
    finish_reason: str
    usage: dict[str, int] = field(default_factory=dict)


class ChatCompletionsClient:
    """One model behind one OpenAI-compatible endpoint; thread-safe (one `requests.Session` per thread)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        *,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        attempts: int = 4,
        retry_max_wait_s: float = 30.0,
        retry_multiplier_s: float = 0.5,
    ):
        if not base_url or not model:
            raise ValueError("the LLM needs LLM_BASE_URL and LLM_MODEL")
        self.model = model
        self._endpoint = JSONPoster(
            base_url.rstrip("/") + "/chat/completions", api_key, connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s, attempts=attempts, retry_max_wait_s=retry_max_wait_s,
            retry_multiplier_s=retry_multiplier_s,
        )

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        json_mode: bool = True,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> ChatAnswer:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        try:
            response = self._endpoint.post(body)
        except (requests.RequestException, TransientHTTPError, OSError) as exc:  # retries exhausted
            raise LLMError(TRANSPORT, f"{exc.__class__.__name__}: {exc}"[:300]) from exc
        if response.status_code >= 400:
            raise LLMError(HTTP_ERROR, f"HTTP {response.status_code}: {response.text[:200]}")
        return parse_answer(response)


def parse_answer(response: requests.Response) -> ChatAnswer:
    try:
        payload = response.json()
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        finish_reason = choice.get("finish_reason") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMError(INVALID_RESPONSE, f"not a chat-completions answer: {response.text[:200]!r}") from exc
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    usage = {k: int(v) for k, v in usage.items() if isinstance(v, int)}
    if message.get("refusal"):
        raise LLMError(REFUSED, str(message["refusal"])[:200])
    if finish_reason == "content_filter":
        raise LLMError(REFUSED, "finish_reason=content_filter")
    if finish_reason == "length":
        raise LLMError(TRUNCATED, f"finish_reason=length after {usage.get('completion_tokens', '?')} tokens")
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise LLMError(REFUSED, "the answer has no content")
    return ChatAnswer(content=content, finish_reason=finish_reason, usage=usage)


class LLMResource(dg.ConfigurableResource):
    """The chat model: LLM_BASE_URL, LLM_API_KEY (secret), LLM_MODEL."""

    base_url: str = setting_field("LLM_BASE_URL")
    api_key: str = setting_field("LLM_API_KEY")
    model: str = setting_field("LLM_MODEL")
    connect_timeout_s: float = Field(default=10.0, description="Connect timeout per request, seconds.")
    read_timeout_s: float = setting_field("LLM_TIMEOUT_SECONDS", float)
    attempts: int = Field(default=4, description="Tries per request on transport errors (connection, timeout, 5xx, 429).")
    retry_max_wait_s: float = Field(default=30.0, description="Longest wait between two tries, seconds.")
    retry_multiplier_s: float = Field(default=0.5, description="Backoff base: waits are random in 0..min(max, base*2^n).")

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    def client(self) -> ChatCompletionsClient:
        if not self.configured:
            raise ValueError("TAGGER=llm needs LLM_BASE_URL and LLM_MODEL to be set")
        return ChatCompletionsClient(
            self.base_url,
            self.model,
            self.api_key,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
            attempts=self.attempts,
            retry_max_wait_s=self.retry_max_wait_s,
            retry_multiplier_s=self.retry_multiplier_s,
        )
