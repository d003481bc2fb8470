"""Understanding: spelling, typos, scripts, confidence and abstention, and accuracy on labelled queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.evaluation import evaluate, read_queries
from bot.understanding.matcher import Calibration, Matcher

DATA = Path(__file__).resolve().parent.parent / "data"
SHARED_EVAL = PROJECT_ROOT.parent / "shared" / "eval"
SHARED_DEV = (SHARED_EVAL / "queries-dev.jsonl", SHARED_EVAL / "queries-dev-2.jsonl")
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


@pytest.mark.parametrize(
    ("text", "refer"),
    [
        # Questions the first release answered confidently and wrongly (issue 12).
        ("how do I apply for casual leave", "office"),
        ("ayushman card download karna hai", "office"),
        ("mera transfer order kab aayega", "office"),
        ("वेतन कब आएगा", "office"),
        ("how to post in the discuss forum", "helpdesk"),
        ("mdo portal me user approve kaise kare", "helpdesk"),
    ],
)
def test_off_topic_questions_abstain_and_say_whom_to_ask(brain, text, refer):
    understanding = brain.matcher.understand(text)
    assert (understanding.match, understanding.off_topic) == (None, refer)
    assert not any(label.startswith("off_topic.") for label in understanding.alternatives)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Real questions without a topic in the first release, then answered with the wrong one.
        ("how is the leaderboard ranked", "course.leaderboard"),
        ("how to rate a course", "course.rating"),
        ("profile photo not uploading", "profile.photo"),
        ("how to join a live event", "course.events"),
        ("can i learn offline", "course.offline"),
    ],
)
def test_the_new_topics_take_their_questions(brain, text, expected):
    assert brain.matcher.understand(text).match == expected


def test_an_faq_answer_must_explain_an_off_topic_word(brain):
    # "close my account" is a topic; "close my GPF account" is not, whatever else matches.
    assert brain.matcher.understand("how to close my igot account").match == "registration.close_account"
    assert brain.matcher.understand("how to close my gpf account").off_topic == "office"


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


# (file, overall, each writing form, out-of-scope abstained, in-scope answered wrongly at most)
TUNING = (DATA / "queries.jsonl", 0.96, 0.94, 0.95, 0.01)
# Written before any tuning and never tuned on: the honest figure.
HELD_OUT = (DATA / "queries-holdout.jsonl", 0.96, 0.94, 0.95, 0.01)
SHARED = [(path, 0.97, 0.95, 1.0, 1.0) for path in SHARED_DEV if path.exists()]


@pytest.mark.parametrize(
    ("path", "overall", "per_form", "abstained", "wrong"),
    [TUNING, HELD_OUT, *SHARED],
    ids=lambda value: getattr(value, "name", ""),
)
def test_accuracy_on_labelled_queries(brain, path, overall, per_form, abstained, wrong):
    report = evaluate(brain.matcher, read_queries(path))
    misses = "\n".join(f"{q.lang} {q.text!r}: {q.expect} -> {got}" for q, got, _ in report.misses)
    assert report.accuracy >= overall, misses
    for lang in LANGS:
        assert report.lang_accuracy(lang) >= per_form, (lang, misses)
    assert report.abstention is not None and report.abstention >= abstained, misses
    assert report.wrong_rate is not None and report.wrong_rate <= wrong, misses


@pytest.mark.parametrize("path", [TUNING[0], HELD_OUT[0]], ids=lambda path: path.name)
def test_labelled_sets_cover_every_topic_and_off_topic_questions_in_every_writing(brain, path):
    queries = read_queries(path)
    covered = {(query.expect, query.lang) for query in queries}
    labels = (*brain.knowledge.faqs, *brain.knowledge.intents) if path == TUNING[0] else brain.knowledge.faqs
    for label in labels:
        for lang in LANGS:
            assert (label, lang) in covered, (label, lang)
    off_topic = [query for query in queries if query.expect is None]
    assert len(off_topic) >= 100
    for lang in LANGS:
        assert sum(query.lang == lang for query in off_topic) >= 30, lang
