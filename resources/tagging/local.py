"""The local extractive tagger: no tokens spent, nothing leaves the machine.

1. Candidates (`candidates.py`): noun phrases of the post itself, found with pymorphy3 for Russian
   ("ключевую ставку", "службы безопасности", "ипотека") and names / stop-word-free phrases for Latin
   script ("PostgreSQL", "Lada Iskra", "frying pan"); every form of a phrase is one candidate, keyed by
   its lemmas ("ключевая ставка" = "ключевой ставке").
2. Statistics: how often the post uses the candidate's lemmas (in any form), how early, whether it is
   a name; a two-word phrase is preferred to its own words.
3. Meaning: the post is embedded once as a document and the best `RERANK_POOL` candidates as queries
   (TEXT_MODEL through `encode` / `encode_queries`; a phrase already embedded in this run is not
   embedded again); the cosine similarity, standardized within the post, is added to the standardized
   statistics score.
4. Selection: best first, skipping a candidate that shares a lemma with a chosen tag, stopping at
   `max_tags` or when the score falls below `MIN_RELATIVE` of the best one's margin.

Stored tags are surface forms from the post (the grounding rule: every tag a substring of the post);
the form chosen is the one nearest the normal form (a nominative occurrence when there is one).
The lemma is not stored beside it: `resources.language.russian.lemmas(tag)` derives it.
"""

from __future__ import annotations

import math

import numpy as np

from resources.tagging.base import TagOutcome
from resources.tagging.candidates import Candidate, candidates

RERANK_POOL = 12  # candidates embedded per post (the rest cannot win: measured in bench_08)
PHRASE_CACHE = 8192  # candidate phrase vectors kept per tagger (about 12 MB at 384 dimensions)
SIMILARITY_WEIGHT = 1.0  # weight of the standardized similarity against the standardized statistics
MIN_RELATIVE = 0.35  # a tag's score must reach this share of the best score above the pool's worst
PHRASE_BONUS = 0.25  # per extra word of a noun phrase
NAME_BONUS = 0.3
POSITION_WEIGHT = 0.5


def statistics_score(candidate: Candidate, lemma_counts: dict[str, int], words: int) -> float:
    """Frequency of the candidate's lemmas in the post (any form), earliness and name-ness."""
    frequency = sum(1.0 + math.log(lemma_counts.get(lemma, 1)) for lemma in candidate.key) / len(candidate.key)
    earliness = 1.0 - candidate.first_word / max(words, 1)
    score = frequency * (1.0 + POSITION_WEIGHT * earliness)
    score *= 1.0 + PHRASE_BONUS * (len(candidate.key) - 1) + 0.5 * (candidate.count - 1)
    return score + NAME_BONUS * candidate.is_name


def _standardized(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


def select(cands: list[Candidate], scores: np.ndarray, max_tags: int) -> list[Candidate]:
    """Best first; a candidate sharing a lemma with a chosen tag is a near-duplicate and skipped."""
    order = np.argsort(-scores, kind="stable")
    if len(order) == 0:
        return []
    best, worst = float(scores[order[0]]), float(scores[order[-1]])
    floor = worst + MIN_RELATIVE * (best - worst)
    chosen: list[Candidate] = []
    used: set[str] = set()
    for index in order:
        if len(chosen) >= max_tags or (chosen and scores[index] < floor):
            break
        candidate = cands[index]
        if used.intersection(candidate.key):
            continue
        chosen.append(candidate)
        used.update(candidate.key)
    return chosen


class SentenceEmbedder:
    """What the local tagger needs from the text embedder (resources.embedders.TextEmbedderResource)."""

    model_name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


class LocalTagger:
    def __init__(self, embedder: SentenceEmbedder | None, max_tags: int, similarity_weight: float = SIMILARITY_WEIGHT):
        if similarity_weight < 0:
            raise ValueError(f"tagger similarity weight must be >= 0, not {similarity_weight}")
        self.embedder = embedder if similarity_weight > 0 else None
        self.max_tags = max_tags
        self.similarity_weight = similarity_weight
        ranked = f"{embedder.model_name}:sim{similarity_weight:g}" if self.embedder is not None else "stats"
        self.name = f"local-np:{ranked}:max{max_tags}"
        self._phrases: dict[str, np.ndarray] = {}

    def tag(self, texts: list[str]) -> list[TagOutcome]:
        if not texts:
            return []
        found = [candidates(text) for text in texts]
        scored = []
        for cands, stats in found:
            scores = np.array([statistics_score(c, stats.lemma_counts, stats.words) for c in cands], dtype=np.float64)
            pool = np.argsort(-scores, kind="stable")[:RERANK_POOL]
            scored.append(([cands[i] for i in pool], scores[pool]))
        if self.embedder is not None:
            self._add_similarity(list(texts), scored)
        return [TagOutcome(tags=[c.text for c in select(cands, scores, self.max_tags)]) for cands, scores in scored]

    def _phrase_vectors(self, phrases: list[str]) -> dict[str, np.ndarray]:
        """Query vectors of the phrases: each distinct phrase embedded once per tagger (a run), as the
        same names and topics recur across a channel's posts; the cache is bounded (PHRASE_CACHE)."""
        missing = list(dict.fromkeys(p for p in phrases if p not in self._phrases))
        if missing:
            for phrase, vector in zip(missing, self.embedder.encode_queries(missing)):
                if len(self._phrases) >= PHRASE_CACHE:
                    self._phrases.pop(next(iter(self._phrases)))  # the oldest
                self._phrases[phrase] = vector
        return {p: self._phrases[p] for p in phrases}

    def _add_similarity(self, texts: list[str], scored: list[tuple[list[Candidate], np.ndarray]]) -> None:
        """One batch for the posts (documents), one for the distinct candidate phrases not seen yet (queries)."""
        phrases = [c.text for cands, _ in scored for c in cands]
        if not phrases:
            return
        posts = self.embedder.encode(texts)
        vectors = self._phrase_vectors(phrases)
        for index, (cands, scores) in enumerate(scored):
            if not cands:
                continue
            similarity = np.array([vectors[c.text] for c in cands]) @ posts[index]
            scores[:] = _standardized(scores) + self.similarity_weight * _standardized(similarity.astype(np.float64))
