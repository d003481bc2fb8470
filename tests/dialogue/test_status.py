"""Own course status through the conversation, and that nobody ever sees another employee's records."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.dialogue import Engine
from bot.messages import Incoming
from bot.models import Conversation, Course, Employee, Enrolment

TODAY = date(2026, 11, 24)
SUNITA = "+919876500001"
RAMESH = "+919876500002"
SHARED = "+919876500005"


@pytest.fixture
def records(db_engine):
    """Sunita and Ramesh with distinctive courses; two more employees sharing one phone."""
    with Session(db_engine) as session:
        people = [
            Employee(name="Sunita Sahu", phone=SUNITA, external_id="CG-HLT-1", email="sunita@cg.gov.in"),
            Employee(name="Ramesh Yadav", phone=RAMESH, external_id="UP-POL-2"),
            Employee(name="Twin One", phone=SHARED, external_id="T-1"),
            Employee(name="Twin Two", phone=SHARED, external_id="T-2"),
        ]
        courses = [
            Course(name="Induction for ASHA Workers", name_hi="आशा कार्यकर्ताओं के लिए प्रवेश कार्यक्रम"),
            Course(name="Community Policing Secrets", name_hi="सामुदायिक पुलिसिंग"),
            Course(name="Twin Course"),
        ]
        session.add_all(people + courses)
        session.flush()
        session.add_all([
            Enrolment(employee_id=people[0].id, course_id=courses[0].id, status="in-progress", progress=40,
                      mandatory=True, batch_end_date=date(2026, 11, 29)),
            Enrolment(employee_id=people[1].id, course_id=courses[1].id, status="completed", progress=100,
                      completed_on=date(2026, 11, 1), certificate_generated=False, mandatory=True),
            Enrolment(employee_id=people[2].id, course_id=courses[2].id, status="in-progress", progress=5),
            Enrolment(employee_id=people[3].id, course_id=courses[2].id, status="in-progress", progress=6),
        ])  # fmt: skip
        session.commit()
    return db_engine


@pytest.fixture
def engine(brain, records, settings) -> Engine:
    return Engine(brain=brain, db=records, settings=settings, today=lambda: TODAY)


def say(engine: Engine, text: str, *, user: str, phone: str | None = None, channel: str = "console") -> str:
    replies = engine.handle(Incoming(channel=channel, user_key=user, text=text, verified_phone=phone))
    return "\n".join(
        [reply.text for reply in replies] + [option.label for reply in replies for option in reply.options]
    )


STATUS_DIALOGUES = [
    ("mera course status batao", ["Sunita Sahu जी, आपके कोर्स (नंबर +91******0001 के रिकॉर्ड)",
                                  "आशा कार्यकर्ताओं के लिए प्रवेश कार्यक्रम — जारी, 40% — अंतिम तिथि 29 नवंबर 2026",
                                  "बाकी अनिवार्य कोर्स:",
                                  "1 में से 0 कोर्स पूरे; 1 अनिवार्य कोर्स अभी बाकी।"]),
    ("show my course status", ["Sunita Sahu, your courses (records for +91******0001)",
                               "Induction for ASHA Workers — in progress, 40% — ends 29 Nov 2026",
                               "Mandatory courses not yet completed:"]),
    ("which courses are mandatory", ["Your pending mandatory courses:", "Induction for ASHA Workers"]),
]  # fmt: skip


@pytest.mark.parametrize(("said", "expected"), STATUS_DIALOGUES)
def test_a_verified_employee_sees_their_own_courses_in_their_language(engine, said, expected):
    shown = say(engine, said, user=SUNITA, phone=SUNITA)
    for fragment in expected:
        assert fragment in shown


def test_certificate_late_for_a_day_offers_a_person(engine):
    shown = say(engine, "show my course status", user=RAMESH, phone=RAMESH)
    assert "completed on 1 Nov 2026 — certificate not generated yet" in shown
    assert "has not appeared for more than 24 hours" in shown and "Talk to a person" in shown
    hindi = say(engine, "certificate nahi aaya", user=RAMESH, phone=RAMESH)
    assert "पूरे किए कोर्स, जिनका सर्टिफिकेट अभी नहीं बना:\n• सामुदायिक पुलिसिंग" in hindi


def test_one_course_completed_is_said_in_the_singular(engine):
    shown = say(engine, "mera status", user=RAMESH, phone=RAMESH)
    assert "1 में से 1 कोर्स पूरा; 0 अनिवार्य कोर्स अभी बाकी।" in shown
    assert "पूरे किए गए कोर्स:\n• सामुदायिक पुलिसिंग — 1 नवंबर 2026 को पूरा" in shown


ONLY_OWN = {
    "en": ("status of 9876500002 please", "I can show only your own course status", "Sunita Sahu, your courses"),
    "hi": ("9876500002 ka status batao", "मैं सिर्फ़ आपका अपना कोर्स स्टेटस दिखा सकता हूँ", "Sunita Sahu जी, आपके कोर्स"),
}


@pytest.mark.parametrize("lang", ONLY_OWN)
def test_asking_for_another_persons_status_is_told_plainly_only_ones_own_is_shown(engine, lang):
    question, only_own, own = ONLY_OWN[lang]
    shown = say(engine, question, user=SUNITA, phone=SUNITA)
    assert shown.startswith(only_own) and own in shown and "Ramesh" not in shown
    unverified = say(engine, question, user="guest-" + lang)
    assert unverified.startswith(only_own) and "Ramesh" not in unverified
    mine = say(engine, "status of 9876500001" if lang == "en" else "9876500001 ka status", user=SUNITA, phone=SUNITA)
    assert only_own not in mine and own in mine  # her own number: nothing to explain


NO_COURSES = {
    "en": ("certificate not generated", "No course enrolments are in your department's report yet."),
    "hi": ("certificate nahi bana", "आपके विभाग की रिपोर्ट में अभी आपका कोई कोर्स दर्ज नहीं है।"),
}


@pytest.mark.parametrize("lang", NO_COURSES)
def test_status_hints_say_only_what_the_records_show(engine, records, lang):
    with Session(records) as session:
        session.add(Employee(name="New Joinee", phone="+919876500009"))
        session.commit()
    question, no_enrolments = NO_COURSES[lang]
    shown = say(engine, question, user="+919876500009", phone="+919876500009")
    assert no_enrolments in shown
    assert "All your completed courses" not in shown and "सभी पूरे किए कोर्स के सर्टिफिकेट बन चुके हैं" not in shown
    # Sunita has a course, none completed: nothing is "ready", and nothing is missing either.
    sunita = say(engine, question, user=SUNITA, phone=SUNITA)
    assert "None of your courses is completed in the records yet." in sunita or (
        "रिकॉर्ड के अनुसार आपका अभी कोई कोर्स पूरा नहीं हुआ है।" in sunita
    )


def test_unverified_users_are_asked_for_a_vouched_phone(engine):
    replies = engine.handle(Incoming(channel="telegram", user_key="555", text="my status"))
    assert replies[0].request_phone and "share it with the button below" in replies[0].text


def test_an_unknown_phone_gets_an_explanation_and_the_helpdesk_but_no_courses(engine):
    shown = say(engine, "my status", user="+919812345678", phone="+919812345678")
    assert "I could not find +91******5678" in shown and "Talk to a person" in shown
    assert "your courses" not in shown


def test_a_phone_in_two_employees_records_shows_neither(engine):
    shown = say(engine, "my status", user=SHARED, phone=SHARED)
    assert "more than one employee" in shown
    assert "Twin" not in shown


OTHERS = ("Ramesh", "Community Policing Secrets", "सामुदायिक पुलिसिंग", "UP-POL-2", "Twin", "0002")
PROBES = [
    "my status",
    "mera status",
    "मेरी प्रगति",
    "status of +919876500002",
    "9876500002",
    "show courses of Ramesh Yadav",
    "UP-POL-2 ka status",
    "employee id UP-POL-2",
    "ramesh ka certificate",
    "which courses are mandatory",
    "certificate nahi aaya",
    "progress not updated",
    "menu",
    "1",
    "2",
    "3",
    "talk to a person",
    "ticket status",
    "english",
    "my status",
    "हिंदी",
    "1",
    "2",
]


@pytest.mark.parametrize(
    ("user", "phone", "channel"),
    [
        ("guest", None, "console"),  # nobody vouched for a phone
        ("555", None, "telegram"),  # a Telegram user who did not share a contact
        (SUNITA, SUNITA, "console"),  # another verified employee
        ("+919812345678", "+919812345678", "whatsapp"),  # a phone in nobody's records
        (SHARED, SHARED, "whatsapp"),  # a phone in two records
    ],
)
def test_no_path_shows_another_employees_records(engine, records, user, phone, channel):
    for text in PROBES:
        shown = say(engine, text, user=user, phone=phone, channel=channel)
        leaked = [fragment for fragment in OTHERS if fragment in shown]
        assert not leaked, f"{text!r} showed {leaked}:\n{shown}"
    with Session(records) as session:
        conversation = session.exec(select(Conversation).where(Conversation.user_key == user)).one()
    assert conversation.verified_phone == phone  # typing a number never makes it vouched for


def test_emails_shown_back_are_masked_and_phones_too(engine):
    shown = say(engine, "mera status", user=SUNITA, phone=SUNITA)
    assert "9876500001" not in shown and "sunita@cg.gov.in" not in shown
