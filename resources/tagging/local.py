"""The local extractive tagger: no tokens spent, nothing leaves the machine.

Candidates are words and phrases of up to three words taken from the post itself (Russian, English,
any script: a word is a run of letters/digits, with inner `-.'+#` as in "e-visa", "node.js", "c++"),
never crossing punctuation or a link, never starting or ending with a function word. Each candidate is
scored by the cosine similarity of its embedding to the post's embedding, and the tags are chosen
greedily by Maximal Marginal Relevance (relevant, but not near-duplicates of tags already chosen).

Cost: the post goes through the model ONCE. A candidate's embedding is the mean of the post's own
contextual token vectors over the candidate's characters (the same mean pooling the model uses for the
whole text), so scoring candidates is a few vector operations, not one forward pass per candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from resources.tagging.base import TagOutcome
from resources.tagging.stopwords import STOPWORDS

MAX_WORDS = 3
MAX_CANDIDATE_CHARS = 64
_WORD = re.compile(r"[^\W_](?:[\w.+#'’-]*[\w+#])?")
_LINK = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://\S+|\bwww\.\S+")
# Anything of these between two words ends a phrase.
_BREAK = re.compile(r"[.,;:!?()\[\]{}«»\"“”„—–\-/|…\n\r\t@]")
_NUMBER = re.compile(r"[\d.,+#'’-]+")


# Small priors added to the similarity: a phrase the post repeats, or a name (capitalized inside a
# sentence, or mixed case / an acronym: "Kubernetes", "PostgreSQL", "NFC"), is more likely its topic.
REPEAT_BONUS = 0.04
NAME_BONUS = 0.04
_SENTENCE_END = re.compile(r"[.!?…\n]")


@dataclass
class Candidate:
    text: str  # as written in the post (first occurrence, whitespace collapsed)
    spans: list[tuple[int, int]] = field(default_factory=list)
    is_name: bool = False

    @property
    def prior(self) -> float:
        return REPEAT_BONUS * min(len(self.spans) - 1, 2) + NAME_BONUS * self.is_name


def _looks_like_name(text: str, word: re.Match) -> bool:
    token = word.group()
    if any(ch.isupper() for ch in token[1:]):
        return True
    if not token[0].isupper():
        return False
    before = text[: word.start()].rstrip()
    return bool(before) and not _SENTENCE_END.search(before[-1:])


def _clauses(text: str) -> list[list[re.Match]]:
    """Runs of words with nothing but spaces between them (links removed)."""
    links = [m.span() for m in _LINK.finditer(text)]
    clauses: list[list[re.Match]] = []
    current: list[re.Match] = []
    previous_end = 0
    for word in _WORD.finditer(text):
        if any(start <= word.start() < end for start, end in links):
            if current:
                clauses.append(current)
            current, previous_end = [], word.end()
            continue
        if current and _BREAK.search(text, previous_end, word.start()):
            clauses.append(current)
            current = []
        current.append(word)
        previous_end = word.end()
    if current:
        clauses.append(current)
    return clauses


def _is_stopword(word: str) -> bool:
    return word.casefold() in STOPWORDS


def _word_ok(word: str) -> bool:
    if _NUMBER.fullmatch(word):
        return False
    return len(word) >= 3 or (len(word) == 2 and any(ch.isupper() for ch in word))


def candidates(text: str) -> list[Candidate]:
    """Distinct candidate phrases (case-insensitively), with every place each occurs."""
    found: dict[str, Candidate] = {}
    for clause in _clauses(text):
        for size in range(1, MAX_WORDS + 1):
            for i in range(len(clause) - size + 1):
                words = clause[i : i + size]
                tokens = [w.group() for w in words]
                if any(_is_stopword(t) for t in tokens):
                    continue
                if size == 1 and not _word_ok(tokens[0]):
                    continue
                if size > 1 and all(_NUMBER.fullmatch(t) for t in tokens):
                    continue
                if _NUMBER.fullmatch(tokens[0]):  # "17 speeds" is not a tag; "PostgreSQL 17" is
                    continue
                phrase = " ".join(text[words[0].start() : words[-1].end()].split())
                if len(phrase) > MAX_CANDIDATE_CHARS:
                    continue
                key = " ".join(tokens).casefold()
                candidate = found.get(key)
                if candidate is None:
                    candidate = found[key] = Candidate(phrase)
                candidate.spans.append((words[0].start(), words[-1].end()))
                candidate.is_name = candidate.is_name or any(_looks_like_name(text, w) for w in words)
    return list(found.values())


def span_vectors(tokens: np.ndarray, offsets: np.ndarray, cands: list[Candidate]) -> tuple[np.ndarray, list[int]]:
    """Normalized mean of the token vectors inside each candidate's spans; the indexes of the candidates
    that have any (a candidate beyond a truncated text has none)."""
    real = offsets[:, 1] > offsets[:, 0]  # special tokens have empty spans
    vectors, starts, ends = tokens[real], offsets[real, 0], offsets[real, 1]
    if len(vectors) == 0:
        return np.zeros((0, tokens.shape[1]), dtype=np.float32), []
    cumulative = np.vstack([np.zeros((1, vectors.shape[1]), dtype=np.float64), np.cumsum(vectors, axis=0, dtype=np.float64)])
    rows, kept = [], []
    for index, candidate in enumerate(cands):
        total = np.zeros(vectors.shape[1], dtype=np.float64)
        count = 0
        for start, end in candidate.spans:
            lo = int(np.searchsorted(starts, start, side="left"))
            hi = int(np.searchsorted(ends, end, side="right"))
            if hi > lo:
                total += cumulative[hi] - cumulative[lo]
                count += hi - lo
        if count:
            rows.append(total / count)
            kept.append(index)
    if not rows:
        return np.zeros((0, tokens.shape[1]), dtype=np.float32), []
    matrix = np.asarray(rows, dtype=np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix, kept


def mmr(doc: np.ndarray, vectors: np.ndarray, k: int, diversity: float, prior: np.ndarray | None = None) -> list[int]:
    """Maximal Marginal Relevance: indexes of up to k rows, each maximizing
    (1 - diversity) * (sim(row, doc) + prior) - diversity * max sim(row, already chosen)."""
    if len(vectors) == 0 or k <= 0:
        return []
    relevance = vectors @ doc
    if prior is not None:
        relevance = relevance + prior
    pool = np.argsort(-relevance)[: max(5 * k, 30)]  # the rest cannot win against these
    relevance, vectors = relevance[pool], vectors[pool]
    chosen = [0]
    redundancy = vectors @ vectors[0]
    while len(chosen) < min(k, len(pool)):
        score = (1.0 - diversity) * relevance - diversity * redundancy
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return [int(pool[i]) for i in chosen]


class TokenEmbedder:
    """What the local tagger needs from the text embedder (resources.embedders.TextEmbedderResource)."""

    model_name: str

    def encode_tokens(self, texts: list[str]) -> list: ...


class LocalTagger:
    def __init__(self, embedder: TokenEmbedder, max_tags: int, diversity: float = 0.5):
        if not 0.0 <= diversity <= 1.0:
            raise ValueError(f"tagger diversity must be within 0..1, not {diversity}")
        self.embedder = embedder
        self.max_tags = max_tags
        self.diversity = diversity
        self.name = f"local:{embedder.model_name}:mmr{diversity:g}:max{max_tags}"

    def tag(self, texts: list[str]) -> list[TagOutcome]:
        if not texts:
            return []
        encoded = self.embedder.encode_tokens(list(texts))
        outcomes = []
        for text, vectors in zip(texts, encoded):
            cands = candidates(text)
            matrix, kept = span_vectors(vectors.tokens, vectors.offsets, cands)
            prior = np.array([cands[i].prior for i in kept], dtype=np.float32)
            picked = mmr(vectors.sentence, matrix, self.max_tags, self.diversity, prior)
            outcomes.append(TagOutcome(tags=[cands[kept[i]].text for i in picked]))
        return outcomes
