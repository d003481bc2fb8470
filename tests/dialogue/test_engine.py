"""The conversation engine, read as dialog tables: (user says, the bot's reply contains)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.brain import Brain
from bot.config import Settings
from bot.db import create_db_engine
from bot.dialogue import Engine
from bot.messages import Incoming
from bot.models import Conversation, Ticket
from bot.understanding.matcher import Calibration, Matcher


def say(
    engine: Engine,
    text: str = "",
    *,
    user: str = "+919800000001",
    choice: str | None = None,
    lang_hint: str | None = None,
    phone: str | None = None,
):
    return engine.handle(
        Incoming(channel="console", user_key=user, text=text, choice=choice, lang_hint=lang_hint, verified_phone=phone)
    )


def shown(replies) -> str:
    return "\n".join([reply.text for reply in replies] + [o.label for r in replies for o in r.options])


def run_dialogue(
    engine: Engine, table: list[tuple[str, str]], user: str = "+919800000001", lang_hint: str | None = None
) -> None:
    for said, expected in table:
        seen = shown(say(engine, said, user=user, lang_hint=lang_hint))
        assert expected in seen, f"after {said!r} expected {expected!r} in:\n{seen}"


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
        ("नमस्कार", "मेरे कोर्स का स्टेटस"),
    ],
    "menu and thanks": [
        ("menu", "Talk to a person"),
        ("thank you", "You are welcome"),
        ("dhanyavad", "कोई बात नहीं!"),
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
        ("xqzt blorf wibble", "Sorry, I did not understand that."),
        ("reset password", "Forgot password"),
        ("कखग घङच", "माफ़ कीजिए, मैं आपकी बात समझ नहीं पाया"),
    ],
    # Off-topic questions: said plainly whom to ask, and never a ticket however many in a row.
    "off-topic in English, no ticket": [
        ("how do I apply for casual leave", "For salary, leave, transfers and other office matters"),
        ("when will my salary be credited", "please ask your office"),
        ("my transfer order is not issued yet", "please ask your office"),
        ("how to post in the discuss forum", "I have no answer about that part of iGOT Karmayogi"),
        ("how to post in the discuss forum", "Talk to a person"),
    ],
    "off-topic in Hindi, no ticket": [
        ("वेतन कब आएगा", "वेतन, छुट्टी, तबादले और दफ़्तर के दूसरे कामों के लिए अपने दफ़्तर से पूछें।"),
        ("ayushman card download karna hai", "अपने दफ़्तर से पूछें"),
        ("mera transfer order kab aayega", "अपने दफ़्तर से पूछें"),
        ("mdo portal me user approve kaise kare", "इसमें हेल्पडेस्क कर्मचारी आपकी मदद कर सकते हैं"),
    ],
    # Chat commands: /start greets in the user's language and opts nobody back in to reminders.
    "commands in Hindi": [
        ("/stop", "रिमाइंडर नहीं भेजे जाएंगे"),
        ("/start", "नमस्ते! मैं iGOT कर्मयोगी हेल्पडेस्क सहायक हूँ।"),
        ("/start", "रिमाइंडर चालू करें"),  # still opted out: the menu offers to start them
        ("/help", "अपना सवाल अपने शब्दों में लिखें"),
        ("/language", "आप किस भाषा में बात करना चाहेंगे?"),
    ],
    "commands in English": [
        ("english", "From now on I will reply in English."),
        ("/stop@IgotHelpdeskBot", "you will not get course reminders any more"),
        ("/start ref-campaign", "Namaste! I am the iGOT Karmayogi helpdesk assistant."),
        ("/start", "Start reminders"),
        ("/help", "Type your question in your own words"),
        ("/settings", "Type your question in your own words"),  # an unknown command shows the menu
    ],
    # A number picks an option only while options are on screen.
    "digits without options in English": [
        ("english", "From now on I will reply in English."),
        ("3", "That number does not match anything on the screen."),
        ("reset password", "Did this help?"),
        ("2", "Would you like to ask a helpdesk person?"),
        ("2", "Type your question in your own words"),
        ("7", "That number does not match anything on the screen."),
    ],
    "digits without options in Hindi": [
        ("1", "इस नंबर का कोई विकल्प अभी स्क्रीन पर नहीं है।"),
        ("पासवर्ड भूल गया", "क्या इससे मदद मिली?"),
        ("२", "क्या आप हेल्पडेस्क कर्मचारी से बात करना चाहेंगे?"),  # Devanagari digits pick options too
    ],
    # Digits int() cannot read are text: a polite request for words, never "something went wrong".
    "unicode digits in Hindi": [
        ("፪", "कृपया अपना सवाल शब्दों में लिखें"),
        ("पासवर्ड भूल गया", "क्या इससे मदद मिली?"),
        ("❹", "कृपया अपना सवाल शब्दों में लिखें"),
        ("④", "इस नंबर का कोई विकल्प अभी स्क्रीन पर नहीं है।"),  # circled 4 is 4 to NFKC: there is no 4th
    ],
    "unicode digits in English": [
        ("english", "From now on I will reply in English."),
        ("❹", "Please type your question in words"),
        ("፪፪", "Please type your question in words"),
    ],
    # Emoji: 🙏 greets a new conversation and thanks later; 👍 answers "Did this help?".
    "emoji in Hindi": [
        ("🙏", "नमस्ते! मैं iGOT कर्मयोगी हेल्पडेस्क सहायक हूँ।"),
        ("otp nahi aa raha", "क्या इससे मदद मिली?"),
        ("👍", "खुशी हुई कि मदद मिली!"),
        ("🙏🙏", "कोई बात नहीं!"),
    ],
    "emoji in English": [
        ("english", "From now on I will reply in English."),
        ("👋", "Namaste! I am the iGOT Karmayogi helpdesk assistant."),
        ("reset password", "Did this help?"),
        ("👎", "Would you like to ask a helpdesk person?"),
        ("🙏🏽", "You are welcome!"),
    ],
}


@pytest.mark.parametrize("name", DIALOGUES)
def test_dialogue(engine, name):
    run_dialogue(engine, DIALOGUES[name])


@pytest.mark.parametrize(
    ("default", "hint", "greeting"),
    [
        ("en", "hi", "नमस्ते! मैं iGOT कर्मयोगी हेल्पडेस्क सहायक हूँ।"),
        ("hi", "en-GB", "Namaste! I am the iGOT Karmayogi helpdesk assistant."),
        ("hi", "ta", "नमस्ते! मैं iGOT कर्मयोगी हेल्पडेस्क सहायक हूँ।"),  # a language the bot does not speak
    ],
)
def test_start_greets_in_the_language_the_app_is_set_to(brain, db_engine, default, hint, greeting):
    settings = Settings(_env_file=None, default_language=default)
    engine = Engine(brain=brain, db=db_engine, settings=settings)
    assert greeting in shown(say(engine, "/start", lang_hint=hint))


def test_start_never_opts_a_user_back_in_to_reminders(engine, db_engine):
    say(engine, "STOP")
    say(engine, "/start")
    say(engine, "start")  # Telegram's button sends "/start"; a typed word is a request
    with Session(db_engine) as session:
        assert session.exec(select(Conversation.reminders_opted_out)).one() is False
    say(engine, "/stop")
    say(engine, "/start")
    with Session(db_engine) as session:
        assert session.exec(select(Conversation.reminders_opted_out)).one() is True


def test_off_topic_questions_never_open_a_ticket(engine, db_engine):
    say(engine, "english")
    for text in ["when will my salary come", "pension not credited", "how to apply for casual leave", "gpf balance"]:
        assert "please ask your office" in shown(say(engine, text)), text
    with Session(db_engine) as session:
        assert session.exec(select(Ticket)).all() == []
        assert session.exec(select(Conversation.unclear_streak)).one() == 0


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_no_answer_points_below_at_nothing(brain, db_engine, settings, lang):
    question = {"en": "who is my mdo admin", "hi": "मेरा एमडीओ एडमिन कौन है"}[lang]
    bare = shown(say(Engine(brain=brain, db=db_engine, settings=settings), question, user="+919800000031"))
    assert "below" not in bare and "नीचे" not in bare
    settings.state_helpdesk_en = "Chhattisgarh nodal officers: igot-help@cg.gov.in"
    settings.state_helpdesk_hi = "छत्तीसगढ़ के नोडल अधिकारी: igot-help@cg.gov.in"
    configured = shown(say(Engine(brain=brain, db=db_engine, settings=settings), question, user="+919800000032"))
    assert "igot-help@cg.gov.in" in configured


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


APOLOGY = ("Sorry, something went wrong", "माफ़ कीजिए, हमारी तरफ़ से कुछ गड़बड़ हो गई")
# What field staff send besides words: digits of every script, emoji, symbols, commands, mixed scripts.
MESSAGES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4),
    st.text(alphabet=st.characters(categories=["So", "Sk", "Mn", "Cf", "Zs"]), min_size=1, max_size=6),
    st.builds(
        lambda name, rest: f"/{name}{rest}",
        st.sampled_from(["start", "help", "stop", "language", "x"]),
        st.text(max_size=20),
    ),
    st.sampled_from(
        ["otp nahi aa raha", "पासवर्ड भूल गया", "mera status", "talk to a person", "menu", "haan", "no", "2"]
    ),
)


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(MESSAGES, min_size=50, max_size=50))
def test_ten_thousand_messages_get_a_reply_and_never_an_apology(engine, texts):
    # 200 batches of 50 messages from five users: 10,000 messages, each handled in its batch's one
    # transaction; a failure would fall back to one-by-one handling and show up as an apology.
    users = [f"+91980000009{index}" for index in range(5)]
    incoming = [Incoming(channel="console", user_key=users[index % 5], text=text) for index, text in enumerate(texts)]
    for replies in engine.handle_many(incoming):
        assert replies and all(reply.text.strip() for reply in replies)
        assert not any(reply.text.startswith(APOLOGY) for reply in replies)
