"""Understanding: spelling, typos, scripts, confidence and abstention, and accuracy on labelled queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.evaluation import evaluate, read_queries
from bot.understanding.matcher import Calibration, Matcher

DATA = Path(__file__).resolve().parent.parent / "data"
SHARED_DEV = PROJECT_ROOT.parent / "shared" / "eval" / "queries-dev.jsonl"
LANGS = ("en", "hi", "hi-Latn")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("otp nahi aa raha", "registration.otp_not_received"),
        ("otp nhi aaya", "registration.otp_not_received"),
        ("OTP नहीं आ रहा", "registration.otp_not_received"),
        ("certificate kaise milega", "certificate.download"),
        ("certificate kese milega", "certificate.download"),
        ("certifcate not recieved", "certificate.not_generated"),
        ("forgot my pasword", "registration.forgot_password"),
        ("पासवर्ड भूल गया", "registration.forgot_password"),
        ("password yaad nahi", "registration.forgot_password"),
        ("mera status", "my_status"),
        ("STOP", "reminders_stop"),
        ("kisi insaan se baat karao", "human"),
    ],
)
def test_understands_spelling_variants_typos_and_scripts(brain, text, expected):
    assert brain.matcher.understand(text).match == expected


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [("nhi", "nahi"), ("nahin", "nahi"), ("kese", "kaise"), ("h", "hai"), ("kr", "kar")],
)
def test_spelling_variants_become_one_term(brain, variant, canonical):
    assert brain.matcher.terms(f"otp {variant}") == brain.matcher.terms(f"otp {canonical}")


@pytest.mark.parametrize(
    ("typo", "word"), [("recieved", "received"), ("pasword", "password"), ("certifcate", "certificate")]
)
def test_typos_in_english_words_are_corrected(brain, typo, word):
    assert brain.matcher.terms(typo) == brain.matcher.terms(word)


def test_one_concept_across_scripts(brain):
    terms = {tuple(brain.matcher.terms(text)) for text in ("certificate", "प्रमाणपत्र", "सर्टिफिकेट", "praman patra")}
    assert len(terms) == 1


def test_confidence_is_a_probability_like_score_with_alternatives(brain):
    understanding = brain.matcher.understand("how do I download my certificate")
    assert understanding.match == "certificate.download"
    assert 0.0 <= understanding.score <= 1.0
    assert understanding.match not in understanding.alternatives
    assert all(0.0 <= score <= 1.0 for _, score in understanding.candidates)


@pytest.mark.parametrize(
    "text", ["what is the price of petrol", "बिजली का बिल कैसे भरें", "gas cylinder booking kaise kare", "", "🙏"]
)
def test_out_of_scope_is_not_guessed(brain, text):
    assert brain.matcher.understand(text).match is None


def test_a_repeated_message_is_remembered_with_the_same_verdict(brain):
    text = "certificate kaise milega, course pura ho gaya"
    first = brain.matcher.understand(text)
    assert brain.matcher.understand(text) is first
    assert brain.matcher.understand_afresh(text) == first
    long = "otp nahi aa raha " * 100  # understood from its beginning, remembered by that beginning
    assert brain.matcher.understand(long) == brain.matcher.understand_afresh(long)


def test_two_close_candidates_abstain(brain):
    text = "certificate"
    ranked = brain.matcher.rank(text)
    gap = ranked[0][1] - ranked[1][1]
    strict = Matcher(brain.knowledge, Calibration(threshold=0.0, margin=gap + 0.01))
    lenient = Matcher(brain.knowledge, Calibration(threshold=0.0, margin=0.0))
    assert strict.understand(text).match is None
    assert strict.understand(text).alternatives[:2] == (ranked[0][0], ranked[1][0])
    assert lenient.understand(text).match == ranked[0][0]


def labelled_files():
    files = [DATA / "queries.jsonl", DATA / "queries-holdout.jsonl"]
    return files + ([SHARED_DEV] if SHARED_DEV.exists() else [])


@pytest.mark.parametrize("path", labelled_files(), ids=lambda path: path.name)
def test_accuracy_on_labelled_queries(brain, path):
    report = evaluate(brain.matcher, read_queries(path))
    misses = "\n".join(f"{q.lang} {q.text!r}: {q.expect} -> {got}" for q, got, _ in report.misses)
    assert report.accuracy >= 0.95, misses
    for lang in LANGS:
        assert report.lang_accuracy(lang) >= 0.90, (lang, misses)
    abstained, out_of_scope = report.out_of_scope
    assert abstained / out_of_scope >= 0.85, misses


def test_labelled_sets_cover_every_id_in_every_writing(brain):
    queries = read_queries(DATA / "queries.jsonl")
    assert len(queries) >= 300
    covered = {(query.expect, query.lang) for query in queries}
    for label in (*brain.knowledge.faqs, *brain.knowledge.intents):
        for lang in LANGS:
            assert (label, lang) in covered
    assert sum(query.expect is None for query in queries) >= 30
