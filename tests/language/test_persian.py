"""Persian normalization (resources.language): one spelling per word before hashing and embedding."""

from __future__ import annotations

import pytest

from resources.language import normalize_text
from resources.language.persian import ZWNJ, normalize_persian

ZWJ, ZWSP, SOFT_HYPHEN = "\u200d", "\u200b", "\u00ad"


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("كتاب", "کتاب"),  # Arabic kaf -> keheh
        ("ياد", "یاد"),  # Arabic yeh -> Farsi yeh
        ("موسى", "موسی"),  # alef maksura -> Farsi yeh
        ("ھمه", "همه"),  # heh doachashmee -> heh
        ("سال ۱۴۰۳", "سال 1403"),  # Persian digits
        ("شماره ٤٥٦", "شماره 456"),  # Arabic-Indic digits
        ("كـــتاب", "کتاب"),  # tatweel (kashida) is decoration
        ("كِتَابٌ", "کتاب"),  # harakat
        (f"می{ZWJ}خواهم", f"می{ZWNJ}خواهم"),  # ZWJ typed for ZWNJ
        (f"می{ZWNJ}{ZWNJ}{ZWSP}خواهم", f"می{ZWNJ}خواهم"),  # a run of joiners -> one
        (f"کتاب{SOFT_HYPHEN}ها", f"کتاب{ZWNJ}ها"),
        (f"{ZWNJ}کتاب{ZWNJ} خوب", "کتاب خوب"),  # joiners at word edges join nothing
    ],
)
def test_persian_variants_become_one_spelling(typed, expected):
    assert normalize_text(typed) == expected
    assert normalize_text(expected) == expected  # idempotent


def test_presentation_forms_and_spaces_are_normalized_too():
    # U+FEDB..: presentation forms of kaf (as PDFs extract them): NFKC gives the Arabic kaf, then keheh.
    assert normalize_text("\ufedb\ufe98\ufe8e\ufe8f  ي") == "کتاب ی"
    assert normalize_text(" سلام   دنیا \n خوب ") == "سلام دنیا \n خوب"


def test_other_scripts_are_left_alone():
    family = f"👨{ZWJ}👩{ZWJ}👧"
    assert normalize_text(f"Привет {family}, ёлка 12") == f"Привет {family}, ёлка 12"
    assert normalize_persian(f"{family} کتاب") == f"{family} کتاب"
    assert normalize_text("") == "" and normalize_text(None) == ""
