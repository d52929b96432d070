"""Persian (and Arabic-script) normalization: one spelling for letters, digits and joiners.

The same Persian word reaches the platform typed on Arabic keyboards (ي, ك), with Arabic-Indic or
Persian digits, and with zero-width joiners written in several ways; unnormalized, each variant is
another hash (a needless re-embed) and another token (a missed search).
"""

from __future__ import annotations

import re

_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH
        "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
        "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
        "\u06be": "\u0647",  # HEH DOACHASHMEE (Urdu keyboards) -> HEH
        "\u0640": None,  # TATWEEL (kashida): decoration only
    }
)
# Arabic-Indic (U+0660..) and Extended Arabic-Indic / Persian (U+06F0..) digits -> ASCII.
_DIGITS = str.maketrans({**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)}})
# Harakat and other combining marks that change no word's identity in practice.
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")
ZWNJ = "\u200c"
_ARABIC_LETTER = "[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff]"
# ZWJ, soft hyphen, zero-width space and friends typed in place of ZWNJ next to a Persian letter (elsewhere,
# e.g. inside an emoji sequence, a ZWJ means something else and is left alone).
_JOINERS = "[\u200c\u200d\u200b\u00ad\u2060\ufeff]+"
_JOINER_VARIANTS = re.compile(f"(?<={_ARABIC_LETTER}){_JOINERS}|{_JOINERS}(?={_ARABIC_LETTER})")
# A ZWNJ joins two letters; anywhere else (word edges, beside a space or digit) it joins nothing.
_STRAY_JOINER = re.compile(f"{ZWNJ}(?!{_ARABIC_LETTER})|(?<!{_ARABIC_LETTER}){ZWNJ}")


def normalize_persian(text: str) -> str:
    """Persian spelling variants to one form: Farsi yeh and keheh, ASCII digits, no tatweel or
    harakat, one ZWNJ where any zero-width joiner (or a run of them) stood beside a Persian letter,
    none that joins nothing (word edges, next to a space). Idempotent."""
    text = text.translate(_LETTERS).translate(_DIGITS)
    text = _DIACRITICS.sub("", text)
    text = _JOINER_VARIANTS.sub(ZWNJ, text)
    return _STRAY_JOINER.sub("", text)
