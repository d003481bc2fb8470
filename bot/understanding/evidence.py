"""Which id a message's words point at, taken together: a multinomial naive Bayes over the examples.

The nearest example (`bot.understanding.matcher`) judges how a message is *phrased*; one example
that happens to share two rare words can win on its own. The evidence here weighs every word of
the message against all the examples of each id, so "karma points not received" leans towards the
id whose examples keep talking about points not arriving, not towards the one with the closest
single sentence. The matcher blends both; where they disagree, neither is confident enough to answer.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable


class TermEvidence:
    """log P(term | id) for every term of the examples, smoothed; a posterior over ids for a message."""

    def __init__(self, labelled_terms: Iterable[tuple[str, list[str]]], *, smoothing: float):
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for label, terms in labelled_terms:
            counts[label].update(set(terms))  # a word said twice in one example is still one sighting
        vocabulary = {term for seen in counts.values() for term in seen}
        size = len(vocabulary)
        # Unseen-in-this-id terms cost log(smoothing / denominator); a seen one adds its lift over that.
        self._unseen: dict[str, float] = {}
        self._lift: dict[str, dict[str, float]] = defaultdict(dict)
        for label, seen in counts.items():
            denominator = sum(seen.values()) + smoothing * size
            self._unseen[label] = math.log(smoothing / denominator)
            for term, count in seen.items():
                self._lift[term][label] = math.log((count + smoothing) / smoothing)

    def posterior(self, terms: Iterable[str], temperature: float) -> dict[str, float]:
        """P(id | the message's known terms), flattened by `temperature` (naive Bayes is overconfident)."""
        known = [term for term in set(terms) if term in self._lift]
        if not known:
            return {}
        scores = {label: len(known) * unseen for label, unseen in self._unseen.items()}
        for term in known:
            for label, lift in self._lift[term].items():
                scores[label] += lift
        top = max(scores.values())
        weights = {label: math.exp((score - top) / temperature) for label, score in scores.items()}
        total = sum(weights.values())
        return {label: weight / total for label, weight in weights.items()}
