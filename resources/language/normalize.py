"""`normalize_text`: the one normalization applied to any text before it is hashed or embedded."""

from __future__ import annotations

import re
import unicodedata

from resources.language.persian import normalize_persian

_SPACES = re.compile(r"[^\S\n]+")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def normalize_text(text: str) -> str:
    """NFKC (presentation forms and compatibility characters to their letters), Persian variants
    where the text has Arabic script, runs of spaces to one, trimmed. Idempotent."""
    text = unicodedata.normalize("NFKC", text or "")
    if _ARABIC_SCRIPT.search(text):
        text = normalize_persian(text)
    return _SPACES.sub(" ", text).strip()
