"""Every kind of unanswered question is recorded with the reply, masked, and nothing is recorded for answers."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.dialogue import Engine
from bot.learning.gaps import masked_question
from bot.models import GapKind, UnansweredQuestion
from tests.dialogue.test_engine import say


def recorded(engine: Engine) -> list[UnansweredQuestion]:
    with Session(engine.db) as session:
        return list(session.exec(select(UnansweredQuestion).order_by(col(UnansweredQuestion.id))))


def test_an_abstention_is_recorded_with_language_channel_and_candidates(engine: Engine) -> None:
    say(engine, "dark mode kaise lagaye")
    [question] = recorded(engine)
    assert (question.kind, question.text, question.lang, question.channel) == (
        GapKind.ABSTAINED,
        "dark mode kaise lagaye",
        "hi-Latn",
        "console",
    )
    assert question.candidates and "course.offline" in question.candidates
    assert question.cluster_id is None


def test_the_second_unclear_message_opens_a_ticket_and_is_recorded_as_such(engine: Engine) -> None:
    say(engine, "dark mode kaise lagaye")
    replies = say(engine, "how to turn on dark mode")
    assert "HD-000001" in replies[0].text
    assert [(q.kind, q.text) for q in recorded(engine)] == [
        (GapKind.ABSTAINED, "dark mode kaise lagaye"),
        (GapKind.TICKET, "how to turn on dark mode"),
    ]


def test_none_of_these_records_the_question_the_offers_missed(engine: Engine) -> None:
    replies = say(engine, "course")
    offered = [option.key for option in replies[-1].options]
    assert "none" in offered
    say(engine, choice="none")
    kinds = [(q.kind, q.text) for q in recorded(engine)]
    assert kinds == [(GapKind.ABSTAINED, "course"), (GapKind.NONE_OF_THESE, "course")]
    assert recorded(engine)[1].candidates == [key.partition(":")[2] for key in offered if key != "none"]


def test_did_this_help_no_records_the_question_answered_whether_tapped_or_typed(engine: Engine) -> None:
    say(engine, "how do I download my certificate", user="+919800000001")
    say(engine, choice="no", user="+919800000001")
    say(engine, "certificate kaise download kare", user="+919800000002")
    say(engine, "no", user="+919800000002")
    assert [(q.kind, q.text, q.lang, q.candidates) for q in recorded(engine)] == [
        (GapKind.NOT_HELPED, "how do I download my certificate", "en", ["certificate.download"]),
        (GapKind.NOT_HELPED, "certificate kaise download kare", "hi-Latn", ["certificate.download"]),
    ]


def test_answers_and_yes_record_nothing(engine: Engine) -> None:
    say(engine, "otp nahi aa raha")
    say(engine, choice="yes")
    say(engine, "hello")
    assert recorded(engine) == []


def test_phones_emails_and_numbers_are_masked_before_they_are_stored(engine: Engine) -> None:
    say(engine, "dark mode for 98765 43210 and ravi.k@gov.in, id ४५६७८९ step 7 kaise")
    [question] = recorded(engine)
    assert question.text == "dark mode for [phone] and [email], id [number] step 7 kaise"


def test_masking_keeps_short_numbers_and_masks_every_phone_form() -> None:
    assert masked_question("form 16 aur 7th pay") == "form 16 aur 7th pay"
    assert masked_question("call +91-98765-43210 or 09876543210") == "call [phone] or [phone]"
    assert masked_question("certificate no 2024-1187") == "certificate no [number]"
    assert masked_question("x" * 900) == "x" * 500
