"""Matching a message against the FAQ and intent examples, with a confidence and abstention.

A message becomes *terms*: words after spelling variants, typo correction against the known
vocabulary (rapidfuzz), cross-script synonyms and light stemming. Each example is scored by how
much of the message's weighted terms it explains and how much of itself the message covers (a
lexical index), blended with rapidfuzz's token-sort similarity. An id's score blends its best two
examples with the evidence of all its examples' words (`bot.understanding.evidence`): the phrasing
and the vocabulary must agree. The bot answers only when the best id clears a calibrated threshold
and leads the runner-up by a margin.

Off-topic examples (salary, leave, the Discuss forum, ...) are ids like the others, learnt only to
abstain: when one of them comes first the message is not answered, and the user is told whom to ask.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.knowledge import Knowledge
from bot.understanding.evidence import TermEvidence
from bot.understanding.language import LanguageDetector
from bot.understanding.normalise import normalise, stem

MAX_CHARS = 500  # longer messages are understood from their beginning
MAX_PHRASE_WORDS = 3
# A term in at least this many examples of one off-topic id, and in no answerable example, marks a
# message off-topic whatever else it says.
FOREIGN_TERM_USES = 3
# Which examples are scored: those sharing the message's SEARCH_TERMS weightiest terms, or a term
# found in at most SELECTIVE_SHARE of the examples; "nahi" or "how" alone make no candidate.
SEARCH_TERMS = 1
SELECTIVE_SHARE = 0.03
MIN_IDENTIFIER_DIGITS = 5
# The ids ranked exactly: enough for the answer, its runner-up and three "did you mean" offers.
RANKED_KEPT = 5
# Examples per id whose similarity is computed: the best two by their words, and one spare.
EXAMPLES_KEPT = 3
UNDERSTOOD_KEPT = 20_000  # distinct recent messages whose verdict is kept (at most 10 MB)


@dataclass(frozen=True)
class Calibration:
    """The knobs that trade answering against abstaining; tuned on tests/data/queries.jsonl."""

    threshold: float = 0.35
    margin: float = 0.05
    floor: float = 0.2  # below this an id is not even offered as "did you mean"
    fuzzy_share: float = 0.2
    unknown_word_weight: float = 1.3  # relative to the rarest known word
    function_word_factor: float = 0.35
    long_message_terms: float = 4.0
    # An id's score: (best example + second_example * second best + evidence * P(id | words)) / total.
    second_example: float = 0.2
    evidence: float = 0.5
    evidence_temperature: float = 2.0
    evidence_smoothing: float = 0.3


@dataclass(frozen=True)
class Understanding:
    """What the bot makes of one message."""

    lang: str | None
    match: str | None
    score: float
    alternatives: tuple[str, ...]
    candidates: tuple[tuple[str, float], ...]
    # Set when the message is most like the off-topic examples: whom to refer the user to
    # ("office", "helpdesk" or "none"); `match` is then None.
    off_topic: str | None = None


@dataclass(frozen=True)
class _Example:
    label: str
    terms: frozenset[str]
    total: float
    sorted_terms: str  # its terms in sorted order: token-sort similarity without sorting on every message


class Matcher:
    """Understands messages against one loaded Knowledge."""

    def __init__(self, knowledge: Knowledge, calibration: Calibration | None = None):
        self.calibration = calibration or Calibration()
        lexicon = knowledge.lexicon
        self._variants = lexicon.variants
        self._synonyms = {form: concept for form, concept in lexicon.synonyms.items() if " " not in form}
        self._phrases = {tuple(form.split()): concept for form, concept in lexicon.synonyms.items() if " " in form}
        self._function_terms = {self._term(word) for word in lexicon.function_words}
        self.detector = LanguageDetector(knowledge, self._variants)
        self._refer = {group.id: group.refer for group in knowledge.off_topic.values()}

        labelled = list(knowledge.labelled_examples())
        self._counts = Counter(word for _, text in labelled for word in normalise(text).split())
        self._trusted = set(self._variants) | set(self._synonyms) | set(lexicon.function_words)
        # Known words by their first letter: a typo is looked for only among words that start alike.
        self._known_by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(set(self._counts) | self._trusted):
            self._known_by_initial[word[0]].append(word)
        self._correct = lru_cache(maxsize=65536)(self._spelling)
        # The same few questions arrive over and over in a campaign's rush ("certificate kaise milega",
        # "mera status"): remembering recent verdicts spares the ranking, which is pure given the content.
        self._understood = lru_cache(maxsize=UNDERSTOOD_KEPT)(self.understand_afresh)

        term_lists = [(label, self.terms(text)) for label, text in labelled]
        self._faq_ids = frozenset(knowledge.faqs)
        self._foreign = _foreign_terms(term_lists, self._refer)
        self._evidence = TermEvidence(term_lists, smoothing=self.calibration.evidence_smoothing)
        labels_with_term: dict[str, set[str]] = defaultdict(set)
        for label, terms in term_lists:
            for term in terms:
                labels_with_term[term].add(label)
        label_count = len({label for label, _ in labelled})
        self._weight = {
            term: self._scaled(term, math.log(1 + label_count / len(labels)))
            for term, labels in labels_with_term.items()
        }
        self._unknown_weight = math.log(1 + label_count) * self.calibration.unknown_word_weight

        self._examples: list[_Example] = []
        self._index: dict[str, list[int]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for label, terms in term_lists:
            canonical = " ".join(terms)
            if not terms or (label, canonical) in seen:
                continue
            seen.add((label, canonical))
            for term in terms:
                self._index[term].append(len(self._examples))
            total = sum(self._weight[term] for term in terms)
            self._examples.append(_Example(label, frozenset(terms), total, " ".join(sorted(terms))))
        self._postings = {term: frozenset(positions) for term, positions in self._index.items()}
        self._totals = [example.total for example in self._examples]
        self._labels = [example.label for example in self._examples]
        self._selective_postings = max(1, int(len(self._examples) * SELECTIVE_SHARE))

    def _scaled(self, term: str, weight: float) -> float:
        return weight * self.calibration.function_word_factor if term in self._function_terms else weight

    def _term(self, word: str) -> str:
        word = self._variants.get(word, word)
        if concept := self._synonyms.get(word):
            return concept
        stemmed = stem(word)
        return self._synonyms.get(stemmed, stemmed)  # "कोर्सों" is "कोर्स" is "course"

    def _spelling(self, word: str) -> str:
        """The word, or the far more common spelling it is a typo of (in a message or an example)."""
        # Short words are too close to each other to guess at ("paid" is not "pad", "chai" not "bhai").
        if len(word) < 5 or word.isdigit() or word in self._trusted:
            return word
        count = self._counts[word]
        allowed = 1 if len(word) < 8 else 2
        # Typing slips rarely hit the first letter: "election" is not "rejection", "gmail" not "email".
        alike = self._known_by_initial.get(word[0], [])
        candidates = process.extract(word, alike, scorer=OSA.distance, score_cutoff=allowed, limit=8)
        common = [
            (self._frequency(candidate), candidate)
            for candidate, _, _ in candidates
            if candidate != word and self._frequency(candidate) >= max(1, 5 * count)
        ]
        return max(common)[1] if common else word

    def _frequency(self, word: str) -> int:
        # Lexicon forms are spellings someone vouched for: as good as a common word.
        return max(self._counts[word], 10 if word in self._trusted else 0)

    def terms(self, text: str) -> list[str]:
        """The message as the matcher sees it: canonical terms in order, without repeats.

        Long numbers (a phone, a ticket or certificate number) say nothing about the question.
        """
        words = [self._correct(word) for word in normalise(text).split() if not _identifier(word)]
        words = [self._variants.get(word, word) for word in words]
        terms: list[str] = []
        position = 0
        while position < len(words):
            for size in range(min(MAX_PHRASE_WORDS, len(words) - position), 1, -1):
                concept = self._phrases.get(tuple(words[position : position + size]))
                if concept:
                    terms.append(concept)
                    position += size
                    break
            else:
                terms.append(self._term(words[position]))
                position += 1
        return list(dict.fromkeys(terms))

    def term_weight(self, term: str) -> float:
        """What a term of `terms` says about a message: rare terms much, common ones little, unknown ones most."""
        return self._weight.get(term, self._unknown_weight)

    def understand(self, text: str) -> Understanding:
        """Language, the confident match (or None), its score and the runners-up."""
        return self._understood(text[:MAX_CHARS])

    def understand_afresh(self, text: str) -> Understanding:
        """`understand` without the memory of recent messages (for measuring)."""
        text = text[:MAX_CHARS]
        lang = self.detector.detect(normalise(text))
        terms = self.terms(text)
        ranked = self._rank_terms(terms)
        calibration = self.calibration
        best_id, best_score = ranked[0] if ranked else (None, 0.0)
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        refer = self._refer.get(best_id or "")
        if refer is None and best_id in self._faq_ids:
            # An answer must explain the message's words: "gpf" or "salary" is never in an FAQ example.
            refer = next((self._refer[self._foreign[term]] for term in terms if term in self._foreign), None)
        if refer is not None:  # learnt only to abstain: never answered, never offered
            return Understanding(
                lang=lang,
                match=None,
                score=round(best_score, 4),
                alternatives=(),
                candidates=self._answerable(ranked),
                off_topic=refer if best_score >= calibration.floor else None,
            )
        confident = best_score >= calibration.threshold and best_score - runner_up >= calibration.margin
        offered = [label for label, score in ranked[:3] if score >= calibration.floor and label not in self._refer]
        return Understanding(
            lang=lang,
            match=best_id if confident else None,
            score=round(best_score, 4),
            alternatives=tuple(label for label in offered if not (confident and label == best_id)),
            candidates=self._answerable(ranked),
        )

    def _answerable(self, ranked: list[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
        """The best three FAQ topics and intents, with their scores."""
        answerable = [(label, score) for label, score in ranked if label not in self._refer][:3]
        return tuple((label, round(score, 4)) for label, score in answerable)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """The best ids the message touches (RANKED_KEPT of them), best first, with blended scores (0..1)."""
        return self._rank_terms(self.terms(text))

    def _rank_terms(self, terms: list[str]) -> list[tuple[str, float]]:
        """The RANKED_KEPT best ids, each scored exactly; ids that cannot reach them are not scored."""
        if not terms:
            return []
        query = {term: self._weight.get(term, self._unknown_weight) for term in terms}
        lexical = self._lexical_by_id(query, self._overlap(query))
        if not lexical:
            return []
        calibration = self.calibration
        evidence = self._evidence.posterior(terms, calibration.evidence_temperature)
        fuzzy, second, weight = calibration.fuzzy_share, calibration.second_example, calibration.evidence
        total = 1 + second + weight

        sorted_terms = " ".join(sorted(terms))
        # Each id's score if its examples were perfectly similar: ids that cannot reach the best
        # RANKED_KEPT are never scored exactly (the similarity is the costly part).
        bounds = []
        for label, kept in lexical.items():
            runner_up = (1 - fuzzy) * kept[1][0] + fuzzy if len(kept) > 1 else 0.0
            limit = ((1 - fuzzy) * kept[0][0] + fuzzy + second * runner_up + weight * evidence.get(label, 0.0)) / total
            bounds.append((limit, label))
        bounds.sort(reverse=True)
        ranked: list[tuple[str, float]] = []
        for limit, label in bounds:
            if len(ranked) >= RANKED_KEPT and limit <= ranked[-1][1]:
                break
            best, runner_up = self._best_two(sorted_terms, lexical[label])
            ranked.append((label, (best + second * runner_up + weight * evidence.get(label, 0.0)) / total))
            ranked.sort(key=lambda item: item[1], reverse=True)
            del ranked[RANKED_KEPT:]
        return ranked

    def _overlap(self, query: dict[str, float]) -> dict[int, float]:
        """The weight each worthwhile example shares with the message.

        Worthwhile: sharing the message's weightiest term, or a rare one. An example that
        shares only "nahi" or "kaise" with the message cannot be its nearest; such common words are
        added only to the examples found through the others, which spares walking most of the index.
        """
        known = [term for term in query if term in self._index]
        weightiest = set(sorted(known, key=query.__getitem__, reverse=True)[:SEARCH_TERMS])
        overlap: dict[int, float] = defaultdict(float)
        common: dict[str, float] = {}
        for term in known:
            positions = self._index[term]
            if term not in weightiest and len(positions) > self._selective_postings:
                common[term] = query[term]
                continue
            for position in positions:
                overlap[position] += query[term]
        for term, weight in common.items():
            # The intersection runs in C over the examples found (a few hundred), not over the postings.
            for position in self._postings[term].intersection(overlap):
                overlap[position] += weight
        return overlap

    def _lexical_by_id(self, query: dict[str, float], overlap: dict[int, float]) -> dict[str, list[tuple[float, int]]]:
        """Per id, its few examples that explain the most of the message (and it of them), best first."""
        query_total = sum(query.values())
        # A long message tells its story around the question: judge it more by how much of an
        # example it contains than by how much of it the example explains (an F-beta, beta > 1).
        beta2 = max(1.0, len(query) / self.calibration.long_message_terms)
        # F-beta of the coverages shared/query_total and shared/total, simplified (the shared weight cancels).
        totals, labels = self._totals, self._labels
        scored = [
            ((1 + beta2) * shared / (beta2 * totals[position] + query_total), position)
            for position, shared in overlap.items()
        ]
        scored.sort(reverse=True)
        kept: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for lexical, position in scored:
            best = kept[labels[position]]
            if len(best) < EXAMPLES_KEPT:
                best.append((lexical, position))
        return kept

    def _best_two(self, sorted_terms: str, lexical: list[tuple[float, int]]) -> tuple[float, float]:
        """The id's two best example scores: the lexical score blended with token-sort similarity."""
        fuzzy = self.calibration.fuzzy_share
        examples = self._examples
        # token_sort_ratio on both sides' sorted terms, which are sorted already.
        scores = [
            (1 - fuzzy) * value + fuzzy * fuzz.ratio(sorted_terms, examples[position].sorted_terms) / 100
            for value, position in lexical
        ]
        scores.sort(reverse=True)
        return scores[0], scores[1] if len(scores) > 1 else 0.0


def _identifier(word: str) -> bool:
    return len(word) >= MIN_IDENTIFIER_DIGITS and word.isdecimal()


def _foreign_terms(term_lists: list[tuple[str, list[str]]], refer: dict[str, str]) -> dict[str, str]:
    """Terms that the examples of one off-topic id use again and again and no answerable example
    ever does ("gpf" -> off_topic.gpf). Numbers are not words of a topic ("form 16", "7th pay")."""
    answerable = {term for label, terms in term_lists if label not in refer for term in terms}
    uses: dict[str, Counter[str]] = defaultdict(Counter)
    for label, terms in term_lists:
        if label in refer:
            for term in set(terms) - answerable:
                uses[term][label] += 1
    foreign = {}
    for term, labels in uses.items():
        label, count = labels.most_common(1)[0]
        if count >= FOREIGN_TERM_USES and not term.isdigit():
            foreign[term] = label
    return foreign
