"""The local classifier: trained on the taxonomy and the example messages, measured on hand-labelled
sets written apart from the examples (no example repeats or nearly repeats an evaluation message),
and on input that is not a normal Russian message."""

import difflib
import json
from collections import Counter
from pathlib import Path

import pytest

from assets.content.classifier import EXAMPLES, MAX_WORDS, Example, LocalClassifier, read_examples
from assets.content.taxonomy import Topic, demo_taxonomy

DATA = Path(__file__).resolve().parents[2] / "assets" / "content" / "data"
EVALUATION_SETS = ("labelled_messages.jsonl", "holdout_messages.jsonl", "eval_messages.jsonl")


@pytest.fixture(scope="module")
def classifier():
    return LocalClassifier(demo_taxonomy(), read_examples())


def rows_of(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", EVALUATION_SETS)
def test_each_evaluation_set_covers_every_topic_and_is_not_the_keywords(name):
    rows = rows_of(name)
    topics = {t.slug for t in demo_taxonomy()}
    per_topic = Counter(r["topic"] for r in rows)
    assert set(per_topic) == topics | {None}
    assert min(per_topic.values()) >= 3
    keywords = {k.lower() for t in demo_taxonomy() for k in t.keywords}
    assert not [r["text"] for r in rows if r["text"].lower() in keywords]


def test_no_example_repeats_or_nearly_repeats_an_evaluation_message():
    def close(a, b):  # difflib's ratio depends a little on the order: either order counts
        for x, y in ((a, b), (b, a)):
            matcher = difflib.SequenceMatcher(None, x, y)
            if matcher.real_quick_ratio() >= 0.7 and matcher.quick_ratio() >= 0.7 and matcher.ratio() >= 0.7:
                return True
        return False

    examples = [e.text.lower() for e in read_examples()]
    evaluation = [r["text"].lower() for name in EVALUATION_SETS for r in rows_of(name)]
    pairs = [(text, example) for text in evaluation for example in examples if close(text, example)]
    assert not pairs, pairs[:5]


def test_accuracy_on_the_evaluation_sets_is_at_least_0_8(classifier):
    rows = [r for name in EVALUATION_SETS for r in rows_of(name)]
    assert len(rows) >= 300
    verdicts = classifier.classify_many([r["text"] for r in rows])
    correct = sum(v.topic == r["topic"] for v, r in zip(verdicts, rows))
    assert correct / len(rows) >= 0.8, f"{correct}/{len(rows)}"
    assert {v.method for v in verdicts} == {"local"}


def test_the_seed_example_and_inflected_forms(classifier):
    assert classifier.classify("Я чувствую стресс на работе").topic == "stress"
    assert classifier.classify("Очень тревожусь последние дни").topic == "anxiety"
    assert classifier.classify("Не высыпаюсь, просыпаюсь в пять утра и лежу до будильника").topic == "sleep"


def test_a_greeting_is_none_and_scores_order_clear_and_vague_messages(classifier):
    assert classifier.classify("Добрый вечер, спасибо за ответ!").topic is None
    clear = classifier.classify("Бессонница: не сплю ночами, просыпаюсь от кошмаров")
    vague = classifier.classify("Ночью думал о разном")
    assert clear.topic == "sleep" and 0 < clear.score < 1
    assert vague.score < clear.score


@pytest.mark.parametrize(
    "text, flag",
    [("", "empty"), ("   \n\t ", "empty"), ("😀😀🙏🏽🔥", "no_words"), ("12345 !!! ???", "no_words")],
)
def test_messages_without_words_get_none_and_a_flag(classifier, text, flag):
    verdict = classifier.classify(text)
    assert (verdict.topic, verdict.score, verdict.flag) == (None, 0.0, flag)


def test_a_100_kb_message_is_classified_by_its_beginning(classifier):
    text = "Не могу уснуть, ворочаюсь до утра. " + "бла " * 30000
    assert len(text.encode()) > 100_000
    verdict = classifier.classify(text)
    assert (verdict.topic, verdict.flag) == ("sleep", "truncated")
    assert MAX_WORDS < 30000


def test_non_russian_messages_get_a_topic_or_none_and_are_flagged(classifier):
    english = classifier.classify("I feel so stressed and anxious at work lately")
    farsi = classifier.classify("من خیلی خسته هستم")
    assert english.flag == farsi.flag == "non_russian"
    assert english.topic is None or english.topic in {t.slug for t in demo_taxonomy()}
    assert farsi.topic is None or farsi.topic in {t.slug for t in demo_taxonomy()}


def test_an_empty_taxonomy_or_a_single_answer_is_a_clear_error():
    with pytest.raises(ValueError, match="taxonomy is empty"):
        LocalClassifier([])
    with pytest.raises(ValueError, match="has only 'sleep'.*TOPIC_EXAMPLES"):
        LocalClassifier([Topic("sleep", "Сон", "Бессонница")])
    single = LocalClassifier([Topic("sleep", "Сон", "Бессонница")], [Example("Привет!", None), Example("Спасибо", None)])
    assert single.classify("Бессонница замучила").topic == "sleep"


def test_a_topic_without_examples_is_learned_from_the_taxonomy_and_foreign_examples_are_skipped():
    topics = demo_taxonomy() + [Topic("money", "Деньги", "Долги, кредиты, зарплата и нехватка денег.", ("долг", "кредит", "зарплата"))]
    examples = read_examples() + [Example("Мой хомяк грустит", "hamsters")]
    classifier = LocalClassifier(topics, examples)
    assert classifier.examples_skipped == 1 and classifier.examples_used == len(examples) - 1
    assert classifier.classify("Кредит душит, до зарплаты неделя, а долг растёт").topic == "money"


def test_unreadable_examples_name_the_file_and_the_line(tmp_path):
    bad = tmp_path / "examples.jsonl"
    bad.write_text('{"text": "Не сплю", "topic": "sleep"}\n{"topic": "sleep"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"examples\.jsonl.*line 2"):
        read_examples(bad)
    with pytest.raises(ValueError, match="TOPIC_EXAMPLES='/nowhere/x.jsonl' cannot be read"):
        read_examples("/nowhere/x.jsonl")
    assert EXAMPLES.exists()


def test_the_text_model_places_a_message_its_words_cannot():
    import numpy as np

    topics = [Topic("anger", "Гнев", "Злость и раздражение."), Topic("sleep", "Сон", "Бессонница и кошмары.")]

    class Embedder:  # deterministic vectors: a direction for anger (the topic and the message), one for the rest
        model_name = "fake"

        def encode_queries(self, texts):
            return np.array([[1.0, 0.0] if ("Гнев" in t or "довёл" in t) else [0.0, 1.0] for t in texts])

    message = "Коллега опять довёл меня"  # no word of it is in the taxonomy
    with_model = LocalClassifier(topics, embedder=Embedder(), min_score=0.0).classify(message)
    without = LocalClassifier(topics, min_score=0.0).classify(message)
    assert (with_model.topic, with_model.method, without.method) == ("anger", "local+model", "local")
    assert with_model.score > 0.6 and with_model.score > without.score
