"""The conversation engine, read as dialog tables: (user says, the bot's reply contains)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.brain import Brain
from bot.db import create_db_engine
from bot.dialogue import Engine
from bot.messages import Incoming
from bot.models import Conversation
from bot.understanding.matcher import Calibration, Matcher


def say(engine: Engine, text: str = "", *, user: str = "+919800000001", choice: str | None = None):
    return engine.handle(Incoming(channel="console", user_key=user, text=text, choice=choice))


def run_dialogue(engine: Engine, table: list[tuple[str, str]], user: str = "+919800000001") -> None:
    for said, expected in table:
        replies = say(engine, said, user=user)
        shown = "\n".join([reply.text for reply in replies] + [o.label for r in replies for o in r.options])
        assert expected in shown, f"after {said!r} expected {expected!r} in:\n{shown}"


DIALOGUES = {
    "hinglish otp, helped": [
        ("otp nahi aa raha", "ओटीपी"),
        ("otp nahi aa raha", "क्या इससे मदद मिली?"),
        ("haan", "खुशी हुई"),
    ],
    "english certificate, not helped, asks for a person": [
        ("how do I download my certificate", "View Certificate"),
        ("no", "Would you like to ask a helpdesk person?"),
        ("yes", "Your reference is HD-000001"),
    ],
    "devanagari password, picked by number": [
        ("पासवर्ड भूल गया", "Forgot password"),
        ("2", "हेल्पडेस्क कर्मचारी से बात करना चाहेंगे?"),
        ("2", "अपना सवाल अपने शब्दों में लिखें"),
    ],
    "greeting in three writings": [
        ("hello", "Namaste! I am the iGOT Karmayogi helpdesk assistant"),
        ("namaste", "नमस्ते! मैं iGOT कर्मयोगी हेल्पडेस्क सहायक हूँ"),
        ("नमस्कार", "मेरे कोर्स की स्थिति"),
    ],
    "menu and thanks": [
        ("menu", "Talk to a person"),
        ("thank you", "You are welcome"),
        ("dhanyavad", "आपका स्वागत है"),
    ],
    "language switch sticks": [
        ("english", "From now on I will reply in English."),
        ("पासवर्ड भूल गया", "Forgot password"),
        ("पासवर्ड भूल गया", "Did this help?"),
        ("hindi me baat karo", "अब से मैं हिंदी में जवाब दूँगा।"),
        ("reset password", "क्या इससे मदद मिली?"),
    ],
    "language without a target asks": [
        ("change language", "Which language would you like?"),
        ("2", "अब से मैं हिंदी में जवाब दूँगा।"),
    ],
    "reminders off and on": [
        ("reminder band karo", "रिमाइंडर नहीं भेजे जाएंगे"),
        ("menu", "रिमाइंडर चालू करें"),
        ("start reminders", "you will get reminders about your pending courses again"),
    ],
    "out of scope gets the menu, not a guess": [
        ("what is the price of petrol", "Sorry, I did not understand that."),
        ("reset password", "Forgot password"),
        ("gas cylinder booking kaise kare", "माफ़ कीजिए, मैं आपकी बात समझ नहीं पाया"),
    ],
}


@pytest.mark.parametrize("name", DIALOGUES)
def test_dialogue(engine, name):
    run_dialogue(engine, DIALOGUES[name])


def test_an_answer_marked_for_escalation_offers_a_person(engine):
    replies = say(engine, "otp nahi aa raha")
    assert [option.key for option in replies[-1].options] == ["yes", "no", "intent:human"]


def test_state_answer_gets_the_configured_state_contact(brain, db_engine, settings):
    settings.state_helpdesk_en = "Chhattisgarh helpdesk: igot-help@cg.gov.in"
    engine = Engine(brain=brain, db=db_engine, settings=settings)
    replies = say(engine, "how to contact the helpdesk")
    assert "igot-help@cg.gov.in" in replies[0].text


def test_unsure_match_offers_the_candidates(brain, db_engine, settings):
    # A matcher that is never sure turns every question into "did you mean".
    doubtful = Brain(brain.knowledge, Matcher(brain.knowledge, Calibration(threshold=1.01)), brain.texts)
    engine = Engine(brain=doubtful, db=db_engine, settings=settings)
    replies = say(engine, "how do I download my certificate")
    assert replies[0].text == "I am not sure I understood. Did you mean:"
    keys = [option.key for option in replies[0].options]
    assert keys[0] == "topic:certificate.download" and keys[-1] == "none"
    assert replies[0].options[0].label == brain.knowledge.title("certificate.download", "en")
    chosen = say(engine, "1")
    assert chosen[0].text.startswith(brain.knowledge.faqs["certificate.download"].answer["en"])
    offered = say(engine, "how do I download my certificate")[0].options
    assert "Sorry, I did not understand" in say(engine, str(len(offered)))[0].text  # "None of these"


def test_a_tapped_button_works_without_text(engine, brain):
    replies = say(engine, choice="topic:certificate.download")
    assert replies[0].text.startswith(brain.knowledge.faqs["certificate.download"].answer["hi"][:30])


def test_state_lives_in_the_database_so_two_workers_share_it(brain, db_engine, settings):
    first = Engine(brain=brain, db=db_engine, settings=settings)
    second = Engine(brain=brain, db=db_engine, settings=settings)
    say(first, "english")
    say(second, "पासवर्ड भूल गया")  # English, because the first worker stored the choice
    replies = say(first, "2")  # "No", the option the second worker offered
    assert "Would you like to ask a helpdesk person?" in replies[0].text
    with Session(db_engine) as session:
        conversation = session.exec(select(Conversation)).one()
    assert (conversation.lang, conversation.lang_chosen) == ("en", True)


def test_users_do_not_share_state(engine):
    say(engine, "english", user="+919800000011")
    replies = say(engine, "पासवर्ड भूल गया", user="+919800000012")
    assert "Forgot password" in replies[0].text and "क्या इससे मदद मिली?" in replies[0].text


BAD_INPUT = [
    "",
    "   ",
    "🙏🙏🙏",
    "x" * 10_000,
    "otp " * 3000,
    "\x00\x07\x1b[2J\u202e",
    "'; DROP TABLE conversation; --",
    "காலை வணக்கம்",
    "Привет, как дела?",
    "🙂 otp nahi aaya 🙂",
]


@pytest.mark.parametrize("text", BAD_INPUT)
def test_bad_input_gets_a_polite_reply(engine, text):
    replies = say(engine, text)
    assert replies and all(reply.text.strip() for reply in replies)
    assert "Traceback" not in replies[0].text
    assert say(engine, "otp nahi aa raha")[0].text.startswith("ओटीपी")  # and the bot still works


def test_a_broken_database_gets_an_apology_not_a_crash(brain, settings, tmp_path):
    broken = create_db_engine(f"sqlite:///{tmp_path}/missing-dir/none.db")
    replies = Engine(brain=brain, db=broken, settings=settings).handle(
        Incoming(channel="console", user_key="x", text="otp nahi aa raha")
    )
    assert replies[0].text.startswith("माफ़ कीजिए, हमारी तरफ़ से कुछ गड़बड़ हो गई")


def test_message_text_and_phone_never_reach_the_log(engine, caplog):
    caplog.set_level("INFO")
    say(engine, "mera email ramesh.kumar@up.gov.in hai otp nahi aaya", user="+919876543210")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ramesh" not in logged and "9876543210" not in logged and "nahi aaya" not in logged
    assert "+91******3210" in logged


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_unicode_gets_a_reply(engine, text):
    replies = say(engine, text, user="+919800000099")
    assert replies and all(reply.text for reply in replies)
