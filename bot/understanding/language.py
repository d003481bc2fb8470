"""Telling English, Hindi in Devanagari and Hindi in Latin letters (hi-Latn) apart."""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable

from bot.knowledge import Knowledge
from bot.understanding.normalise import is_devanagari, normalise

EN, HI, HI_LATN = "en", "hi", "hi-Latn"
# A cue word from the lexicon weighs as much as this many sightings in the examples.
_CUE_WEIGHT = 20
# Without evidence either way a Latin-script message is taken as English.
_PRIOR_HINGLISH = math.log(0.45 / 0.55)


class LanguageDetector:
    """Script first; within Latin script, a naive Bayes vote of the words against the examples."""

    def __init__(self, knowledge: Knowledge, canonical_spelling: dict[str, str]):
        self._spelling = canonical_spelling
        hinglish = Counter(self._words(_examples(knowledge, HI_LATN)))
        english = Counter(self._words(_examples(knowledge, EN)))
        for word in knowledge.lexicon.hinglish_words:
            hinglish[self._spelling.get(word, word)] += _CUE_WEIGHT
        for word in knowledge.lexicon.english_words:
            english[self._spelling.get(word, word)] += _CUE_WEIGHT
        vocabulary = hinglish.keys() | english.keys()
        hinglish_total = sum(hinglish.values()) + len(vocabulary)
        english_total = sum(english.values()) + len(vocabulary)
        self._log_ratio = {
            word: math.log((hinglish[word] + 1) / hinglish_total) - math.log((english[word] + 1) / english_total)
            for word in vocabulary
        }

    def _words(self, texts: Iterable[str]) -> Iterable[str]:
        for text in texts:
            for word in normalise(text).split():
                yield self._spelling.get(word, word)

    def detect(self, normalised: str) -> str | None:
        """`en`, `hi` or `hi-Latn`; None for text with no letters or in a script the bot does not read."""
        letters = [char for char in normalised if unicodedata.category(char)[0] == "L"]
        if not letters:
            return None
        devanagari = sum(1 for char in letters if is_devanagari(char))
        latin = sum(1 for char in letters if char.isascii())
        if devanagari + latin < len(letters) / 2:
            return None
        if devanagari:
            return HI  # Hindi writers mix in English words in Latin letters, never the other way round
        score = _PRIOR_HINGLISH
        for word in normalised.split():
            score += self._log_ratio.get(self._spelling.get(word, word), 0.0)
        return HI_LATN if score > 0 else EN


def _examples(knowledge: Knowledge, form: str) -> Iterable[str]:
    for faq in knowledge.faqs.values():
        yield from faq.examples[form]
    for intent in knowledge.intents.values():
        yield from intent.examples[form]
