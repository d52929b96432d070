"""Russian morphology (resources.language.russian): lemmas from pymorphy3's bundled dictionary."""

from __future__ import annotations

from resources.language.russian import is_cyrillic, lemma, lemmas, words


def test_inflected_forms_have_one_lemma():
    assert {lemma(w) for w in ("вклад", "вкладам", "вкладов", "Вклады")} == {"вклад"}
    assert lemmas("Ключевую ставку повысили") == ["ключевой", "ставка", "повысить"]
    assert lemmas("ипотеки, ипотекой; ИПОТЕКУ") == ["ипотека"] * 3
    assert lemma("жильё") == lemma("жилье") == "жилье"  # ё = е


def test_words_and_other_scripts():
    assert words("Курс доллара — 90,5 рубля; Wi-Fi и юго-запад!") == ["Курс", "доллара", "рубля", "Wi-Fi", "и", "юго-запад"]
    assert lemmas("PostgreSQL Kubernetes") == ["postgresql", "kubernetes"]
    assert is_cyrillic("Сбер") and not is_cyrillic("Sber")
