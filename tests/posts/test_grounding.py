"""Grounding: a tag survives only when the post contains it (case-insensitively, after Unicode normalization)."""

import unicodedata

from assets.posts.grounding import NOT_IN_TEXT, OVER_MAX, data_hash, ground_tags, match_form, normalize_tag


def test_a_tag_absent_from_the_post_is_dropped_and_counted():
    text = "PostgreSQL 17 speeds up vacuum and bulk loading."
    result = ground_tags(["PostgreSQL", "databases", "vacuum", "MySQL"], text, max_tags=8)
    assert result.tags == ["postgresql", "vacuum"]
    assert result.rejected == [("databases", NOT_IN_TEXT), ("MySQL", NOT_IN_TEXT)]


def test_cyrillic_case_folding():
    text = "Всем ПРИВЕТ! Новогодняя ЁЛКА на площади."
    result = ground_tags(["привет", "Ёлка", "площади", "ПЛОЩАДЬ"], text, max_tags=8)
    assert result.tags == ["площади", "привет", "ёлка"]  # sorted by code point: ё comes after я
    assert result.rejected == [("ПЛОЩАДЬ", NOT_IN_TEXT)]


def test_yo_and_ye_are_the_same_letter_for_matching():
    # Russian texts write "елка" and "ёлка" alike: either spelling of the tag is found in either text.
    assert ground_tags(["елка"], "Ёлка в парке", 8).tags == ["елка"]
    assert ground_tags(["ёлка"], "Елка в парке", 8).tags == ["ёлка"]
    assert match_form("ЁЖ") == match_form("еж")


def test_unicode_normalization_composed_and_decomposed_forms_match():
    decomposed = unicodedata.normalize("NFD", "Café déjà vu, ёлка")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    assert ground_tags(["café", "ЁЛКА"], decomposed, 8).tags == ["café", "ёлка"]
    # Full-width letters and non-breaking spaces are folded by NFKC.
    assert ground_tags(["rust edition"], "Ｒｕｓｔ\u00a0edition is stable", 8).tags == ["rust edition"]


def test_tags_are_normalized_deduplicated_capped_and_sorted():
    text = "Kubernetes autoscaling and Rust, Kubernetes again; #python too"
    result = ground_tags(["Kubernetes", "  kubernetes ", "#Python", '"Rust"', "autoscaling", "again"], text, max_tags=3)
    assert result.tags == ["kubernetes", "python", "rust"]
    assert result.duplicates == 1
    assert result.rejected == [("autoscaling", OVER_MAX), ("again", OVER_MAX)]


def test_tags_hash_does_not_depend_on_the_order():
    text = "rust, go and python"
    first = ground_tags(["rust", "go", "python"], text, 8).tags
    second = ground_tags(["python", "rust", "go"], text, 8).tags
    assert data_hash({"tags": first}) == data_hash({"tags": second})


def test_non_strings_and_empty_tags_are_rejected_with_their_reason():
    result = ground_tags([None, 42, "", "  ", "ok"], "ok then", 8)
    assert result.tags == ["ok"]
    assert [reason for _, reason in result.rejected] == ["not_a_string", "not_a_string", "empty", "empty"]


def test_normalize_tag_keeps_names_with_dots_and_pluses():
    assert normalize_tag(".NET") == ".net"
    assert normalize_tag("C++") == "c++"
    assert normalize_tag("node.js.") == "node.js"
    assert normalize_tag("«Ёлка»") == "ёлка"
