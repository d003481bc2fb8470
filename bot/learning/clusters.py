"""Grouping unanswered questions: incremental, deterministic leader clustering over the matcher's terms.

A question becomes a *signature*: the matcher's terms (spelling variants, typo fixes, cross-script
synonyms, stems), Devanagari words romanised and every word loosened (`bot.learning.transliterate`),
each weighted as the matcher weighs it: "kaise" and "how" little, "dark" and "mode" much. Questions
are taken in the order they were recorded; each joins the first-made cluster whose first question
(its seed) shares enough of the weight of the two, words within a typo of each other counting as
shared (rapidfuzz), or else it seeds a new cluster. The same questions in the same order always
give the same clusters, and adding questions never moves the earlier ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.learning.transliterate import loose
from bot.understanding.matcher import Matcher

SIMILAR = 0.6  # the share of the lighter signature's weight the two must have in common
SIMILAR_WORD = 0.75  # OSA similarity (a swap of two letters is one slip) at which two words are one misspelt
MIN_FUZZY_CHARS = 4
# Terms lighter than this share of the heaviest term never bring a cluster in as a candidate alone:
# every question has a "how" or a "nahi".
INDEXED_SHARE = 0.5
SEED_CHARS = 500
PLACEHOLDERS = frozenset({"phone", "email", "number"})  # what masking left in the text


@dataclass(frozen=True)
class Signature:
    weights: dict[str, float]  # loose term -> weight

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def encoded(self) -> str:
        """Stored as a cluster's seed: `term:weight` pairs, so the seed weighs the same later; the
        weightiest that fit in SEED_CHARS (a long message's seed keeps what it is about)."""
        pairs = sorted(self.weights.items(), key=lambda pair: (-pair[1], pair[0]))
        kept: list[str] = []
        length = 0
        for term, weight in pairs:
            pair = f"{term}:{weight:.3f}"
            if length + len(pair) + 1 > SEED_CHARS:
                break
            kept.append(pair)
            length += len(pair) + 1
        return " ".join(kept)

    @classmethod
    def decoded(cls, seed: str) -> Signature:
        pairs = (item.rpartition(":") for item in seed.split())
        return cls({term: float(weight) for term, _, weight in pairs})


def signature(matcher: Matcher, text: str) -> Signature:
    """The question's weighted loose terms."""
    weights: dict[str, float] = {}
    for term in matcher.terms(text):
        if term in PLACEHOLDERS:
            continue
        key = loose(term)
        weights[key] = max(weights.get(key, 0.0), matcher.term_weight(term))
    return Signature(weights)


def similarity(question: Signature, seed: Signature) -> float:
    """The weight the two share, over the lighter one's total (0..1)."""
    lighter = min(question.total, seed.total)
    if lighter <= 0:
        return 0.0
    shared = 0.0
    for term, weight in question.weights.items():
        if term in seed.weights:
            shared += min(weight, seed.weights[term])
        elif len(term) >= MIN_FUZZY_CHARS:
            close = [
                seed_weight
                for seed_term, seed_weight in seed.weights.items()
                if len(seed_term) >= MIN_FUZZY_CHARS and OSA.normalized_similarity(term, seed_term) >= SIMILAR_WORD
            ]
            if close:
                shared += min(weight, max(close))
    return shared / lighter


class Grouper:
    """Assigns questions to clusters one by one; clusters are known by their seeds' keys (ids, or new ones)."""

    def __init__(self, matcher: Matcher, seeds: list[tuple[int, str]]):
        """`seeds`: the existing clusters as (id, encoded seed), in the order they were made."""
        self._matcher = matcher
        self._seeds: list[tuple[int, Signature]] = []
        self._index: dict[str, list[int]] = defaultdict(list)  # term -> positions in _seeds
        self._decided: dict[tuple[str, ...], int] = {}  # a signature's terms -> its cluster key
        self._texts: dict[str, Signature] = {}
        self._next_new = -1  # new clusters get negative keys until they are saved
        for cluster_id, seed in seeds:
            self._add(cluster_id, Signature.decoded(seed))

    def _add(self, key: int, seed: Signature) -> None:
        position = len(self._seeds)
        self._seeds.append((key, seed))
        for term in _indexed(seed):
            self._index[term].append(position)

    def assign(self, text: str) -> tuple[int, Signature]:
        """The cluster key for the question (negative: a cluster made now) and its signature."""
        if text in self._texts:  # the same new question arrives hundreds of times, word for word
            found = self._texts[text]
        else:
            found = self._texts[text] = signature(self._matcher, text)
        terms = tuple(sorted(found.weights))
        if terms in self._decided:
            return self._decided[terms], found
        key = self._nearest(found)
        if key is None:
            key = self._next_new
            self._next_new -= 1
            self._add(key, found)
        self._decided[terms] = key
        return key, found

    def rename(self, saved: dict[int, int]) -> None:
        """New clusters' temporary keys replaced by the ids they were saved with."""
        self._seeds = [(saved.get(key, key), seed) for key, seed in self._seeds]
        self._decided = {terms: saved.get(key, key) for terms, key in self._decided.items()}

    def _nearest(self, question: Signature) -> int | None:
        """The earliest cluster similar enough, or None."""
        candidates = sorted({position for term in _indexed(question) for position in self._index.get(term, ())})
        for position in candidates:
            key, seed = self._seeds[position]
            if similarity(question, seed) >= SIMILAR:
                return key
        return None


def _indexed(found: Signature) -> list[str]:
    """The terms a signature is found by: its weighty ones."""
    if not found.weights:
        return []
    heaviest = max(found.weights.values())
    return [term for term, weight in found.weights.items() if weight >= INDEXED_SHARE * heaviest]
