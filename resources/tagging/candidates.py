"""Tag candidates of a post: noun phrases in any of their forms, keyed by lemmas.

Words are runs of letters/digits with inner `-.'+#` ("e-visa", "node.js", "c++"); a phrase never
crosses punctuation or a link. Russian words are parsed by pymorphy3 (resources.language.russian):
a candidate is a noun, optionally after up to two agreeing adjectives/participles ("ключевую ставку"),
optionally followed by a noun in the genitive ("курс доллара", "служба безопасности"). Function words
(prepositions, conjunctions, particles, pronouns), verbs, adverbs and the stop words of
`stopwords.py` never enter a phrase. Words in another script (Latin names, English or Persian posts)
form phrases of up to three words with no stop word in them, as before the Russian analysis existed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from resources.language.russian import analyzer, is_cyrillic, lemma
from resources.tagging.stopwords import STOPWORDS

MAX_WORDS = 3
MAX_CANDIDATE_CHARS = 64
_WORD = re.compile(r"[^\W_](?:[\w.+#'’-]*[\w+#])?")
_LINK = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://\S+|\bwww\.\S+")
# Anything of these between two words ends a phrase.
_BREAK = re.compile(r"[.,;:!?()\[\]{}«»\"“”„—–\-/|…\n\r\t@]")
_NUMBER = re.compile(r"[\d.,+#'’-]+")
_SENTENCE_END = re.compile(r"[.!?…\n]")
_ADJECTIVE = {"ADJF", "PRTF"}


@dataclass
class Word:
    text: str
    start: int
    end: int
    index: int  # position among the post's words
    lemma: str
    kind: str  # "noun", "adj", "other" (another script: names, English, Persian), "skip"
    case: str | None = None
    number: str | None = None
    genitive: bool = False
    is_name: bool = False


@dataclass
class Candidate:
    key: tuple[str, ...]  # lemmas
    text: str  # the surface form stored as the tag (from the post)
    first_word: int
    count: int = 1
    is_name: bool = False
    nominative: bool = False


@dataclass
class PostStats:
    lemma_counts: Counter = field(default_factory=Counter)  # content words' lemmas
    words: int = 0


def _looks_like_name(text: str, start: int, token: str) -> bool:
    if any(ch.isupper() for ch in token[1:]):
        return True
    if not token[0].isupper():
        return False
    before = text[:start].rstrip()
    return bool(before) and not _SENTENCE_END.search(before[-1:])


def _russian(word: Word) -> Word:
    parses = analyzer().parse(word.text.lower())
    best = parses[0]
    pos = best.tag.POS
    word.lemma = lemma(word.text)
    if pos == "NOUN":
        word.kind = "noun"
    elif pos in _ADJECTIVE:
        word.kind = "adj"
    word.case, word.number = best.tag.case, best.tag.number
    word.genitive = any(p.tag.POS == "NOUN" and p.tag.case == "gent" for p in parses[:3])
    return word


def _words(text: str) -> list[list[Word]]:
    """Clauses: runs of words with nothing but spaces between them (links removed)."""
    links = [m.span() for m in _LINK.finditer(text)]
    clauses: list[list[Word]] = []
    current: list[Word] = []
    previous_end, index = 0, 0
    for match in _WORD.finditer(text):
        token = match.group()
        if any(start <= match.start() < end for start, end in links):
            if current:
                clauses.append(current)
            current, previous_end = [], match.end()
            continue
        if current and _BREAK.search(text, previous_end, match.start()):
            clauses.append(current)
            current = []
        word = Word(token, match.start(), match.end(), index, token.casefold().replace("ё", "е"), "skip")
        word.is_name = _looks_like_name(text, match.start(), token)
        if _NUMBER.fullmatch(token) or token.casefold() in STOPWORDS:
            pass
        elif is_cyrillic(token):
            _russian(word)
        elif len(token) >= 3 or (len(token) == 2 and any(ch.isupper() for ch in token)):
            word.kind = "other"
        current.append(word)
        previous_end, index = match.end(), index + 1
    if current:
        clauses.append(current)
    return clauses


def _agrees(adjective: Word, noun: Word) -> bool:
    if noun.number == "plur" or adjective.number == "plur":
        return adjective.number == noun.number
    return adjective.case == noun.case


def _phrases(clause: list[Word]) -> list[list[Word]]:
    """Noun phrases (Russian) and stop-word-free runs (other scripts) of one clause."""
    found: list[list[Word]] = []
    for i, word in enumerate(clause):
        if word.kind == "other":
            for size in range(1, MAX_WORDS + 1):
                run = clause[i : i + size]
                if len(run) < size or any(w.kind != "other" for w in run):
                    break
                found.append(run)
        if word.kind != "noun":
            continue
        heads = [[word]]
        for size in (1, 2):  # agreeing adjectives before the noun
            before = clause[max(0, i - size) : i]
            if len(before) == size and all(w.kind == "adj" and _agrees(w, word) for w in before):
                heads.append(before + [word])
        found.extend(heads)
        following = clause[i + 1] if i + 1 < len(clause) else None
        if following is not None and following.kind == "noun" and following.genitive:
            found.extend(head + [following] for head in heads if len(head) < MAX_WORDS)
    return found


def candidates(text: str) -> tuple[list[Candidate], PostStats]:
    """Distinct candidates (by lemmas) with their counts, and the post's lemma statistics."""
    stats = PostStats()
    found: dict[tuple[str, ...], Candidate] = {}
    for clause in _words(text):
        stats.words += len(clause)
        stats.lemma_counts.update(w.lemma for w in clause if w.kind != "skip")
        for phrase in _phrases(clause):
            surface = " ".join(text[phrase[0].start : phrase[-1].end].split())
            if len(surface) > MAX_CANDIDATE_CHARS:
                continue
            key = tuple(w.lemma for w in phrase)
            head = next(w for w in phrase if w.kind != "adj")
            nominative = head.kind == "other" or head.case == "nomn"
            is_name = any(w.is_name for w in phrase)
            candidate = found.get(key)
            if candidate is None:
                found[key] = Candidate(key, surface, phrase[0].index, is_name=is_name, nominative=nominative)
                continue
            candidate.count += 1
            candidate.is_name = candidate.is_name or is_name
            if nominative and not candidate.nominative:  # prefer the form nearest the normal form
                candidate.text, candidate.nominative = surface, True
    return list(found.values()), stats
