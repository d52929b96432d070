"""Russian morphology: words and their normal forms (lemmas) with pymorphy3 and its bundled
dictionary (offline). The analyzer is loaded once per process, on first use (about 15 MB)."""

from __future__ import annotations

import functools
import re

WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def analyzer():
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


def is_cyrillic(word: str) -> bool:
    return bool(_CYRILLIC.search(word))


@functools.lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The normal form of one word, lower case ("вкладам" -> "вклад"); non-Cyrillic words lower-cased."""
    lowered = word.lower().replace("ё", "е")
    if not is_cyrillic(lowered):
        return lowered
    return analyzer().parse(lowered)[0].normal_form.replace("ё", "е")


def words(text: str) -> list[str]:
    """The words of a text, in order (letters and inner hyphens; digits and punctuation dropped)."""
    return WORD.findall(text or "")


def lemmas(text: str) -> list[str]:
    """The lemma of every word of a text, in order."""
    return [lemma(word) for word in words(text)]
