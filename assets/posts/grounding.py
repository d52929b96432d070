"""The tag rules every tagger's output goes through: grounded in the post, normalized, bounded, sorted.

A tag is kept only when it occurs in the post as a case-insensitive substring after Unicode
normalization (NFKC, case folding, ё = е, whitespace collapsed): an LLM's invented tag is dropped and
counted, whatever the model said. The kept tags are deduplicated, cut to `max_tags` (in the tagger's
order of relevance) and sorted, so their hash depends only on the set.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

MAX_TAG_CHARS = 64
_SPACES = re.compile(r"\s+")
# Quotes, hashes and punctuation a model (or a hashtag) puts around a tag; not part of the tag.
_EDGE = "\"'`«»“”„‘’#,;:!?()[]{}<>*_|/\\-–—… \t\r\n"

NOT_A_STRING = "not_a_string"
EMPTY = "empty"
TOO_LONG = "too_long"
NOT_IN_TEXT = "not_in_text"
OVER_MAX = "over_max"


def normalize_tag(raw: str) -> str:
    """The stored form of a tag: NFKC, case-folded, whitespace collapsed, edge punctuation stripped."""
    text = unicodedata.normalize("NFKC", raw).casefold()
    text = unicodedata.normalize("NFKC", text)
    # A trailing full stop is sentence punctuation; a leading one is part of a name (".net").
    return _SPACES.sub(" ", text).strip(_EDGE).rstrip(".…").strip(_EDGE)


def match_form(text: str) -> str:
    """The form in which tags are looked up in a post: like `normalize_tag`, and ё = е (Russian texts
    write either), without stripping anything."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return _SPACES.sub(" ", text.replace("ё", "е")).strip()


@dataclass
class Grounded:
    tags: list[str]
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (raw tag, reason)
    duplicates: int = 0


def ground_tags(raw_tags: list, text: str, max_tags: int) -> Grounded:
    """Keep the tags that occur in `text`; at most `max_tags` of them (the first ones); sorted."""
    haystack = match_form(text)
    kept: list[str] = []
    seen: set[str] = set()
    result = Grounded(tags=[])
    for raw in raw_tags:
        if not isinstance(raw, str):
            result.rejected.append((repr(raw)[:MAX_TAG_CHARS], NOT_A_STRING))
            continue
        tag = normalize_tag(raw)
        if not tag:
            result.rejected.append((raw, EMPTY))
        elif len(tag) > MAX_TAG_CHARS:
            result.rejected.append((raw[:MAX_TAG_CHARS], TOO_LONG))
        elif match_form(tag) not in haystack:
            result.rejected.append((raw, NOT_IN_TEXT))
        elif tag in seen:
            result.duplicates += 1
        elif len(kept) >= max_tags:
            result.rejected.append((raw, OVER_MAX))
        else:
            seen.add(tag)
            kept.append(tag)
    result.tags = sorted(kept)
    return result


def canonical_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def data_hash(data) -> str:
    """The hash stored in post_enrichment.data_hash: of the canonical JSON of the data."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
