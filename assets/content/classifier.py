"""The local topic classifier: a linear model over Russian words, trained at run start, no tokens spent.

What it learns from:
- the taxonomy (the `topic` table): each topic's name with its description, and each keyword, as a
  short document of that topic, so a topic the chat app adds is known without examples;
- example messages per topic (`TOPIC_EXAMPLES`, by default the bundled `data/topic_examples.jsonl`,
  written apart from the evaluation sets), including messages that fit no topic (`"topic": null`),
  which teach the model its "none" answer. Examples of a topic that is not in the taxonomy are skipped.

Features: TF-IDF over the message's lemmas (pymorphy3, every likely normal form, stop words dropped)
and over character 3-5-grams (inflections, typos, slang the lemmas miss), and with a text embedder
(`TOPIC_USE_EMBEDDINGS`) the multilingual model's query vector. A multinomial logistic regression
(scikit-learn) gives each topic a probability; the answer is the most probable topic, or "none" when
that is the none class or its probability is below `min_score`. Bench_11 measures it on hand-labelled
sets that share no message with the examples (tests/content check that).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from assets.content.taxonomy import Topic
from resources.language import normalize_text
from resources.language.russian import analyzer, is_cyrillic, lemma, words

EXAMPLES = Path(__file__).resolve().parent / "data" / "topic_examples.jsonl"
NONE = "none"
# Words that carry no topic: prepositions, conjunctions, pronouns, particles, the commonest verbs.
STOP = frozenset(
    "и в во на с со о об от до по за из к ко у а но или что как это я ты он она оно мы вы они себя свой "
    "мой твой наш весь так же бы ли уже еще быть который такой тот этот там тут здесь когда если чтобы "
    "для при без под над про через между даже только вот ну да то".split()
)
# At most this many words (and characters for the n-grams) of a message are read: a 100 KB message is
# classified by its beginning.
MAX_WORDS = 400
MAX_CHARS = 4000
# Character n-grams weigh half as much as lemmas; the regularization of the logistic regression.
CHAR_WEIGHT = 0.5
C = 10.0


class Embedder(Protocol):
    def encode_queries(self, texts: Sequence[str]): ...


@dataclass(frozen=True)
class Verdict:
    topic: str | None  # None: nothing in the taxonomy fits
    score: float
    method: str
    flag: str = ""  # empty, no_words, non_russian, truncated: counted by the run


@dataclass(frozen=True)
class Example:
    text: str
    topic: str | None


def read_examples(path: str | Path = EXAMPLES) -> list[Example]:
    """Labelled example messages, one JSON object per line: {"text": ..., "topic": slug or null}."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"TOPIC_EXAMPLES={str(path)!r} cannot be read: {exc.strerror or exc}") from exc
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            examples.append(Example(str(row["text"]), row["topic"] or None))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"TOPIC_EXAMPLES={str(path)!r} line {number} is not {{\"text\": ..., \"topic\": ...}}: {exc}") from exc
    return examples


def taxonomy_documents(topics: Sequence[Topic]) -> list[Example]:
    """Each topic's name with its description, and each keyword, as a short document of that topic."""
    docs = []
    for t in topics:
        docs.append(Example(f"{t.name}. {t.description}".strip(), t.slug))
        docs.extend(Example(k, t.slug) for k in t.keywords)
    return docs


class LocalClassifier:
    """Trained once per run (well under a second without a model); `classify_many` is thread-safe."""

    def __init__(self, topics: Sequence[Topic], examples: Sequence[Example] = (), *, min_score: float = 0.2, embedder: Embedder | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if not topics:
            raise ValueError("the taxonomy is empty: the topic table has no rows")
        self.topics = list(topics)
        self.min_score = min_score
        self.embedder = embedder
        self.method = "local+model" if embedder is not None else "local"
        slugs = {t.slug for t in self.topics}
        used = [e for e in examples if e.topic is None or e.topic in slugs]
        self.examples_used = len(used)
        self.examples_skipped = len(examples) - len(used)  # their topic is not in the taxonomy
        training = taxonomy_documents(self.topics) + used
        labels = [e.topic or NONE for e in training]
        if len(set(labels)) < 2:
            raise ValueError(
                f"the local classifier needs two answers to choose between, and has only {labels[0]!r}: "
                "add a topic, or examples of messages that fit none (TOPIC_EXAMPLES)"
            )
        texts = [e.text for e in training]
        self._words = TfidfVectorizer(analyzer=_features_of, sublinear_tf=True)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                      min_df=2 if len(texts) >= 100 else 1, preprocessor=_plain)  # n-grams seen once are noise
        self._words.fit(texts)
        self._chars.fit(texts)
        self._model = LogisticRegression(C=C, solver="newton-cg", max_iter=1000)
        self._model.fit(self._features(texts), labels)

    def _features(self, texts: Sequence[str]):
        from scipy.sparse import csr_matrix, hstack

        parts = [self._words.transform(texts), self._chars.transform(texts) * CHAR_WEIGHT]
        if self.embedder is not None:
            parts.append(csr_matrix(np.asarray(self.embedder.encode_queries([normalize_text(t or "")[:MAX_CHARS] for t in texts]), dtype=np.float32)))
        return hstack(parts).tocsr()

    def classify(self, text: str) -> Verdict:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Verdict]:
        flags = [_flag(t) for t in texts]
        readable = [i for i, (flag, _) in enumerate(flags) if flag not in ("empty", "no_words")]
        verdicts = [Verdict(None, 0.0, self.method, flag) for flag, _ in flags]
        if not readable:
            return verdicts
        probabilities = self._model.predict_proba(self._features([flags[i][1] for i in readable]))
        classes = self._model.classes_
        for i, row in zip(readable, probabilities):
            best = int(row.argmax())
            topic, score = str(classes[best]), round(float(row[best]), 4)
            if topic == NONE or score < self.min_score:
                topic = None
            verdicts[i] = Verdict(topic, score, self.method, flags[i][0])
        return verdicts


def _plain(text: str) -> str:
    return normalize_text(text or "")[:MAX_CHARS].lower().replace("ё", "е")


def _features_of(text: str) -> list[str]:
    return [form for w in words(text)[:MAX_WORDS] for form in lemma_variants(w) if form not in STOP]


def _flag(text: str) -> tuple[str, str]:
    """What was odd about a message (empty, no_words, truncated, non_russian or "") and its readable part."""
    clean = normalize_text(text or "")
    if not clean:
        return "empty", ""
    found = words(clean)
    if not found:
        return "no_words", ""  # emoji, digits or punctuation only
    flag = "truncated" if len(found) > MAX_WORDS or len(clean) > MAX_CHARS else ""
    if not any(any("а" <= ch <= "я" or ch == "ё" for ch in w.lower()) for w in found[:MAX_WORDS]):
        flag = "non_russian"
    return flag, clean[:MAX_CHARS]


@functools.lru_cache(maxsize=200_000)
def lemma_variants(word: str) -> tuple[str, ...]:
    """Every likely normal form of a message word: "плачу" is плакать as well as платить, and the
    message gets the benefit of the doubt (a topic term matches any of them)."""
    lowered = word.lower().replace("ё", "е")
    if not is_cyrillic(lowered):
        return (lowered,)
    forms = {p.normal_form.replace("ё", "е") for p in analyzer().parse(lowered) if p.score >= 0.1}
    return tuple(sorted(forms)) or (lemma(lowered),)
