"""WhatsApp through Twilio: signed webhooks in, TwiML out, and the real twilio Client against a local fake.

Inbound requests are signed with the real `RequestValidator.compute_signature`; outbound messages go
through the outbox and the real `twilio.rest.Client` to `fake_twilio.FakeTwilio` on 127.0.0.1. No
test reaches the internet, and none asserts on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.channels import whatsapp
from bot.channels.whatsapp import routes, turn_queue
from bot.channels.whatsapp.forms import MAX_BODY_BYTES
from bot.channels.whatsapp.inbound import media_kind
from bot.channels.whatsapp.status import TWILIO_STATES
from bot.channels.whatsapp.twiml import twiml
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.delivery.states import HELD, next_state
from bot.delivery.worker import Sender
from bot.dialogue import Engine
from bot.messages import Option, Reply
from bot.models import Conversation, InboundReceipt, OutboxMessage, Ticket, TicketMessage, utcnow
from bot.providers.twilio import TwilioProvider, message_bodies
from bot.tickets import delivery, service
from bot.tickets.staff import add_staff, staff_by_name
from tests.channels.conftest import AT_ONCE
from tests.channels.fake_twilio import FakeTwilio

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token-0123456789abcdef"
SANDBOX = "whatsapp:+14155238886"
PHONE = "+919876500002"
PUBLIC = "https://helpdesk.example.gov.in"
TEMPLATE = "HX" + "a" * 32
INTERNAL = "http://testserver"


# Fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def wa_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "twilio_account_sid": ACCOUNT,
            "twilio_auth_token": TOKEN,
            "twilio_whatsapp_from": SANDBOX,
            "public_base_url": None,
        }
    )


def make_app(engine: Engine, settings: Settings, outbox: Outbox) -> Starlette:
    app = Starlette(routes=routes())
    app.state.settings = settings
    app.state.engine = engine
    app.state.outbox = outbox
    app.state.whatsapp_turns = turn_queue(engine, outbox)
    return app


@pytest.fixture
def client(engine: Engine, wa_settings: Settings, outbox: Outbox) -> Iterator[TestClient]:
    with TestClient(make_app(engine, wa_settings, outbox)) as test_client:
        yield test_client


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT, TOKEN).start()
    yield server
    server.stop()


@dataclass
class Drain:
    """The WhatsApp outbox sender, one round at a time."""

    outbox: Outbox
    provider: TwilioProvider
    concurrency: int = 8

    def deliver_outbox(self) -> int:
        """One round; how many messages went to Twilio as text (or as their own template)."""
        _, recorded = asyncio.run(Sender(self.outbox, self.provider, concurrency=self.concurrency).round())
        return len(recorded.sent)

    def later(self, seconds: float) -> None:
        """The outbox's clock moves on (past a retry time Twilio's 429 asked for)."""
        moved = utcnow() + timedelta(seconds=seconds)
        self.outbox.clock = lambda: moved


@pytest.fixture
def outbox(engine: Engine) -> Outbox:
    return Outbox(engine.db, engine.brain.texts, default_language=engine.settings.default_language, retry=AT_ONCE)


@pytest.fixture
def sender(wa_settings: Settings, fake: FakeTwilio, outbox: Outbox) -> Drain:
    settings = wa_settings.model_copy(update={"twilio_api_base_url": fake.base_url, "public_base_url": PUBLIC})
    return Drain(outbox, TwilioProvider(settings, waiting_templates={"hi": TEMPLATE, "en": TEMPLATE}))


def inbound(text: str = "", sid: str = "SM" + "1" * 32, *, phone: str = PHONE, **extra: str) -> dict[str, str]:
    """The form fields Twilio posts for an inbound WhatsApp message."""
    return {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": "Ramesh",
        "MessageType": "text",
        "SmsSid": sid,
        "WaId": phone.removeprefix("+"),
        "SmsStatus": "received",
        "Body": text,
        "To": SANDBOX,
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": f"whatsapp:{phone}",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post(
    client: TestClient,
    params: dict[str, str],
    *,
    path: str = whatsapp.WEBHOOK_PATH,
    signed_url: str | None = None,
    token: str = TOKEN,
) -> httpx.Response:
    """Post the form as Twilio would, signed over `signed_url` (default: the URL the app sees)."""
    url = signed_url or f"{INTERNAL}{path}"
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature(url, params, token)})


def say(client: TestClient, text: str, sid: str, **extra: str) -> list[str]:
    response = post(client, inbound(text, sid, **extra))
    assert response.status_code == 200, response.text
    return bodies(response)


def bodies(response: httpx.Response) -> list[str]:
    """The `<Message>` texts of a TwiML response."""
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [message.text or "" for message in root.findall("Message")]


def status(client: TestClient, sid: str, state: str, **extra: str) -> httpx.Response:
    params = {"MessageSid": sid, "MessageStatus": state, "SmsStatus": state, "AccountSid": ACCOUNT,
              "From": SANDBOX, "To": f"whatsapp:{PHONE}", "ApiVersion": "2010-04-01", **extra}  # fmt: skip
    return post(client, params, path=whatsapp.STATUS_PATH)


def staff_reply(db_engine, text: str, ref: str = "HD-000001") -> None:
    with Session(db_engine) as session:
        desk = staff_by_name(session, name="desk1") or add_staff(
            session, name="desk1", password="correct horse battery"
        )
        session.flush()
        if session.exec(select(Ticket.assignee_id).where(Ticket.ref == ref)).one() is None:
            service.claim(session, ref=ref, staff=desk)
        service.reply(session, ref=ref, staff=desk, text=text)
        session.commit()


def resolve(db_engine, ref: str = "HD-000001") -> None:
    with Session(db_engine) as session:
        service.resolve(session, ref=ref, staff=staff_by_name(session, name="desk1"))
        session.commit()


def conversation(db_engine, phone: str = PHONE) -> Conversation:
    with Session(db_engine) as session:
        return session.exec(select(Conversation).where(Conversation.user_key == phone)).one()


def last_wrote_hours_ago(db_engine, hours: float, phone: str = PHONE) -> None:
    with Session(db_engine) as session:
        row = session.exec(select(Conversation).where(Conversation.user_key == phone)).one()
        row.last_inbound_at = utcnow() - timedelta(hours=hours)
        session.commit()


# Inbound --------------------------------------------------------------------------------------


def test_a_signed_question_gets_the_hindi_answer_with_numbered_options(client, brain):
    shown = say(client, "certificate kaise milega", "SM" + "a" * 32)
    assert len(shown) == 1
    assert brain.knowledge.faqs["certificate.download"].answer["hi"] in shown[0]
    assert shown[0].endswith("क्या इससे मदद मिली?\n1. हाँ\n2. नहीं")


def test_a_digit_picks_the_numbered_option(client):
    say(client, "certificate kaise milega", "SM" + "a" * 32)
    [shown] = say(client, "2", "SM" + "b" * 32)  # "2. नहीं"
    assert shown.startswith("माफ़ कीजिए, इससे समस्या हल नहीं हुई।")
    assert shown.endswith("\n1. हेल्पडेस्क से बात करें\n2. मेनू")
    assert "HD-000001" in say(client, "1", "SM" + "c" * 32)[0]


def test_the_same_message_sid_again_gets_the_same_response_and_is_handled_once(client, db_engine):
    params = inbound("talk to a person", "SM" + "d" * 32)
    first = post(client, params)
    assert "HD-000001" in bodies(first)[0]
    again = post(client, params)  # Twilio's retry: its first response may never have arrived
    assert again.status_code == 200 and again.content == first.content
    with Session(db_engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        assert len(session.exec(select(InboundReceipt)).all()) == 1
        recent = session.exec(select(Conversation)).one().recent
        assert [entry["text"] for entry in recent if entry["from"] == "user"] == ["talk to a person"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # missing
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},  # wrong
        {"X-Twilio-Signature": signature(f"{INTERNAL}/twilio/whatsapp", inbound("hello"), "another-token")},
        {"X-Twilio-Signature": signature(f"{INTERNAL}/twilio/whatsapp", inbound("hello, tampered"))},
    ],
    ids=["missing", "garbage", "other-token", "other-params"],
)
def test_a_wrong_or_missing_signature_is_refused(client, db_engine, headers):
    response = client.post(whatsapp.WEBHOOK_PATH, data=inbound("hello"), headers=headers)
    assert response.status_code == 403
    with Session(db_engine) as session:
        assert session.exec(select(Conversation)).all() == []


def test_without_an_auth_token_nothing_is_accepted(engine, wa_settings, db_engine, outbox):
    settings = wa_settings.model_copy(update={"twilio_auth_token": None})
    with TestClient(make_app(engine, settings, outbox)) as client:
        assert post(client, inbound("hello")).status_code == 403


def test_behind_a_proxy_the_signature_is_over_the_public_url(engine, wa_settings, db_engine, outbox):
    settings = wa_settings.model_copy(update={"public_base_url": PUBLIC + "/"})
    with TestClient(make_app(engine, settings, outbox)) as client:
        over_internal = post(client, inbound("hello", "SM" + "e" * 32))
        assert over_internal.status_code == 403
        over_public = post(client, inbound("hello", "SM" + "e" * 32), signed_url=f"{PUBLIC}/twilio/whatsapp")
        assert over_public.status_code == 200 and bodies(over_public)
        path = "/twilio/whatsapp?source=wa"
        with_query = post(client, inbound("hello", "SM" + "f" * 32), path=path, signed_url=f"{PUBLIC}{path}")
        assert with_query.status_code == 200


def signed_raw(client: TestClient, content: bytes | Iterator[bytes], content_type: str, params=None) -> httpx.Response:
    headers = {"Content-Type": content_type}
    headers["X-Twilio-Signature"] = signature(f"{INTERNAL}/twilio/whatsapp", params or {})
    return client.post(whatsapp.WEBHOOK_PATH, content=content, headers=headers)


def test_bodies_that_are_not_small_well_formed_forms_are_refused(client, db_engine):
    assert signed_raw(client, json.dumps(inbound("hi")).encode(), "application/json").status_code == 415
    assert signed_raw(client, b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x").status_code == 415
    assert signed_raw(client, b"Body=hi&&From", "application/x-www-form-urlencoded").status_code == 400
    assert signed_raw(client, b"Body=%ff%fe", "application/x-www-form-urlencoded").status_code == 400
    big = b"Body=" + b"a" * (MAX_BODY_BYTES + 1)
    assert signed_raw(client, big, "application/x-www-form-urlencoded").status_code == 413
    chunked = iter([b"Body=", b"a" * 40_000, b"a" * 40_000])  # no Content-Length: counted while read
    assert signed_raw(client, chunked, "application/x-www-form-urlencoded").status_code == 413
    no_sender = {key: value for key, value in inbound("hi").items() if key != "From"}
    assert post(client, no_sender).status_code == 400
    not_a_number = inbound("hi", From="whatsapp:hello")
    assert post(client, not_a_number).status_code == 400
    with Session(db_engine) as session:
        assert session.exec(select(Conversation)).all() == []


def test_media_sent_while_a_ticket_is_open_is_attached_to_it(client, db_engine):
    assert "HD-000001" in say(client, "talk to a person", "SM" + "1" * 32)[0]
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{'2' * 32}/Media/ME{'3' * 32}"
    shown = say(client, "", "MM" + "2" * 32, NumMedia="2", MediaUrl0=url, MediaContentType0="image/jpeg",
                MediaUrl1=url + "x", MediaContentType1="application/pdf")  # fmt: skip
    assert "Added to your request HD-000001" in shown[0]
    with Session(db_engine) as session:
        lines = session.exec(select(TicketMessage).where(TicketMessage.attachment_ref.is_not(None))).all()
        assert [(line.attachment_kind, line.attachment_ref) for line in lines] == [
            ("photo", url),
            ("document", url + "x"),
        ]


def test_a_voice_note_without_a_ticket_gets_a_polite_answer(client, db_engine):
    shown = say(client, "", "MM" + "4" * 32, NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                MediaContentType0="audio/ogg")  # fmt: skip
    assert "मैं फ़ोटो, वॉइस मैसेज या फ़ाइल नहीं पढ़ सकता" in shown[0]
    with Session(db_engine) as session:
        assert session.exec(select(Ticket)).all() == []


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [("image/jpeg", "photo"), ("image/webp", "sticker"), ("audio/ogg; codecs=opus", "voice"),
     ("video/mp4", "video"), ("application/pdf", "document"), ("", "document")],
)  # fmt: skip
def test_media_kinds(content_type, kind):
    assert media_kind(content_type) == kind


@pytest.mark.parametrize("word", ["STOP", "stop", "Stop", " STOP. "])
def test_stop_opts_out_of_reminders_at_once(client, db_engine, word):
    shown = say(client, word, "SM" + "5" * 32)
    assert "रिमाइंडर" in shown[0] or "reminders" in shown[0]
    assert conversation(db_engine).reminders_opted_out


def test_stop_works_even_while_a_ticket_takes_the_messages(client, db_engine):
    say(client, "talk to a person", "SM" + "6" * 32)
    shown = say(client, "STOP", "SM" + "7" * 32)
    assert "Added to your request" not in shown[0]
    assert conversation(db_engine).reminders_opted_out
    say(client, "START", "SM" + "8" * 32)
    assert not conversation(db_engine).reminders_opted_out


def test_two_workers_receiving_the_same_message_at_once_handle_it_once(engine, wa_settings, db_engine, outbox):
    params = inbound("talk to a person", "SM" + "9" * 32)
    barrier = threading.Barrier(2)
    results: list[httpx.Response] = []

    def deliver() -> None:
        with TestClient(
            make_app(engine, wa_settings, outbox)
        ) as worker:  # each its own app and loop, like two processes
            barrier.wait()
            results.append(post(worker, params))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bodies(results[0]) == bodies(results[1]) and len(bodies(results[0])) == 1  # the same answer
    with Session(db_engine) as session:
        assert len(session.exec(select(InboundReceipt)).all()) == 1
        assert len(session.exec(select(Ticket)).all()) == 1
        recent = session.exec(select(Conversation)).one().recent
        assert [entry["text"] for entry in recent if entry["from"] == "user"] == ["talk to a person"]


# Rendering ------------------------------------------------------------------------------------


def test_long_replies_are_split_at_1600_characters_with_the_options_at_the_end():
    paragraph = "क्या करें: " + "सर्टिफिकेट डाउनलोड करने के लिए माई लर्निंग खोलें। " * 12
    reply = Reply("\n\n".join([paragraph] * 5), (Option("yes", "हाँ"), Option("no", "नहीं")))
    parts = message_bodies(reply)
    assert len(parts) > 1 and all(len(part) <= 1600 for part in parts)
    assert parts[-1].endswith("\n1. हाँ\n2. नहीं")
    assert "".join(parts).replace("\n", "") == (reply.text + "1. हाँ2. नहीं").replace("\n", "")


def test_control_characters_never_break_the_twiml():
    document = twiml([Reply("pasted\x0bfrom a form\x00 <b>&</b>", (Option("yes", "Yes"),))])
    [body] = [message.text for message in ET.fromstring(document).findall("Message")]
    assert body == "pastedfrom a form <b>&</b>\n1. Yes"


def test_an_empty_response_is_still_a_twiml_document():
    assert twiml([]) == '<?xml version="1.0" encoding="UTF-8"?><Response />'


# Delivery status ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "reported", "kept"),
    [
        ("queued", "queued", "sent"),  # Twilio has it: for us it is sent
        ("sending", "delivered", "delivered"),
        ("sent", "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("delivered", "read", "read"),
        ("read", "delivered", "read"),  # out of order: never backwards
        ("delivered", "sent", "delivered"),
        ("sent", "undelivered", "failed"),
        ("sent", "failed", "failed"),
        ("failed", "delivered", "failed"),  # failures are final
        ("failed", "read", "failed"),
        ("read", "failed", "read"),  # a failure cannot undo a read message
        (HELD, "sent", "sent"),
    ],
)
def test_delivery_status_moves_forward_only(current, reported, kept):
    assert next_state(current, TWILIO_STATES[reported]) == kept


def test_reports_that_are_not_outbound_states_change_nothing():
    assert "receiving" not in TWILIO_STATES and "received" not in TWILIO_STATES


def seed_sent_message(db_engine, sid: str, state: str = "sent") -> int:
    with Session(db_engine) as session:
        row = session.exec(select(Conversation).where(Conversation.user_key == PHONE)).first()
        if row is None:
            row = Conversation(channel="whatsapp", user_key=PHONE)
            session.add(row)
            session.flush()
        message = OutboxMessage(conversation_id=row.id, kind="staff_reply", text="Your certificate is ready.",
                                provider_message_id=sid, state=state, sent_at=utcnow(), attempts=1)  # fmt: skip
        session.add(message)
        session.commit()
        return message.id


def stored(db_engine, outbox_id: int) -> OutboxMessage:
    with Session(db_engine) as session:
        return session.get(OutboxMessage, outbox_id)


def test_status_callbacks_are_signed_and_monotonic(client, db_engine):
    sid = "SM" + "c" * 32
    outbox_id = seed_sent_message(db_engine, sid)
    unsigned = client.post(whatsapp.STATUS_PATH, data={"MessageSid": sid, "MessageStatus": "read"})
    assert unsigned.status_code == 403
    assert stored(db_engine, outbox_id).state == "sent"
    for state, expected in [("delivered", "delivered"), ("read", "read"), ("delivered", "read"), ("sent", "read"),
                            ("failed", "read")]:  # fmt: skip
        assert status(client, sid, state).status_code == 204
        assert stored(db_engine, outbox_id).state == expected
    assert stored(db_engine, outbox_id).failed_at is None
    assert status(client, "SM" + "0" * 32, "delivered").status_code == 204  # not ours: acknowledged


def test_a_failed_delivery_is_final_and_records_the_error_code(client, db_engine):
    sid = "SM" + "d" * 32
    outbox_id = seed_sent_message(db_engine, sid)
    assert status(client, sid, "undelivered", ErrorCode="63024").status_code == 204
    assert status(client, sid, "delivered").status_code == 204
    message = stored(db_engine, outbox_id)
    assert (message.state, message.last_error) == ("failed", "twilio 63024: undelivered")
    assert message.failed_at is not None


def test_outside_the_window_reported_late_the_message_waits_for_the_user(client, db_engine):
    sid = "SM" + "e" * 32
    outbox_id = seed_sent_message(db_engine, sid)
    assert status(client, sid, "failed", ErrorCode="63016").status_code == 204
    message = stored(db_engine, outbox_id)
    assert (message.state, message.sent_at, message.failed_at) == (HELD, None, None)
    shown = say(client, "hello", "SM" + "f" * 32)
    assert len(shown) == 2 and "Your certificate is ready." in shown[-1]  # after the bot's answer
    assert stored(db_engine, outbox_id).state == "sent"


def test_a_malformed_status_callback_is_refused(client):
    assert post(client, {"MessageSid": "SM1"}, path=whatsapp.STATUS_PATH).status_code == 400


# Queued messages riding in the TwiML response ------------------------------------------------------


def test_queued_messages_ride_in_the_reply_and_count_as_sent_only_once_it_is_written(
    engine, wa_settings, outbox, db_engine
):
    app = make_app(engine, wa_settings, outbox)
    with TestClient(app) as client:
        say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    params = inbound("hello", "SM" + "2" * 32)
    headers = [(b"content-type", b"application/x-www-form-urlencoded"),
               (b"x-twilio-signature", signature(f"{INTERNAL}{whatsapp.WEBHOOK_PATH}", params).encode())]  # fmt: skip
    seen_while_writing: list[str] = []

    async def lost_connection() -> None:
        body = httpx.QueryParams(params).__str__().encode()
        scope = {"type": "http", "method": "POST", "path": whatsapp.WEBHOOK_PATH, "raw_path": b"", "query_string": b"",
                 "headers": headers, "scheme": "http", "server": ("testserver", 80), "http_version": "1.1",
                 "root_path": "", "app": app}  # fmt: skip
        chunks = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict:
            return chunks.pop(0) if chunks else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body":
                seen_while_writing.append(outbox_rows(db_engine)[-1].state)
                raise OSError("connection reset by peer")  # the response never left

        with pytest.raises(OSError):
            await app(scope, receive, send)

    asyncio.run(lost_connection())
    assert seen_while_writing == ["sending"]  # not sent before the response is written
    assert outbox_rows(db_engine)[-1].state == "queued"  # back in the queue at once: the REST API sends it
    with TestClient(app) as client:  # Twilio's retry of that message: the reply, without the rider
        again = say(client, "hello", "SM" + "2" * 32)
    assert len(again) == 1 and "Your certificate" not in again[0]


# Outbound -------------------------------------------------------------------------------------


def outbox_rows(db_engine) -> list[OutboxMessage]:
    with Session(db_engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_staff_reply_within_24_hours_goes_as_text_with_a_status_callback(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    assert sender.deliver_outbox() == 1
    [sent] = fake.messages
    assert sent["From"] == SANDBOX and sent["To"] == f"whatsapp:{PHONE}"
    assert sent["Body"].startswith("Helpdesk reply to HD-000001:\nYour certificate is generated now.")
    assert sent["StatusCallback"] == f"{PUBLIC}/twilio/status" and "ContentSid" not in sent
    [message] = outbox_rows(db_engine)
    assert (message.provider_message_id, message.state) == (fake.sids[0], "sent") and message.sent_at is not None
    assert sender.deliver_outbox() == 0 and len(fake.messages) == 1  # sent once
    assert status(client, fake.sids[0], "delivered").status_code == 204
    assert outbox_rows(db_engine)[0].state == "delivered"


def test_after_24_hours_the_template_goes_and_the_reply_waits_for_the_user(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    last_wrote_hours_ago(db_engine, 30)
    assert sender.deliver_outbox() == 0
    [template] = fake.messages
    assert template["ContentSid"] == TEMPLATE and json.loads(template["ContentVariables"]) == {"1": "HD-000001"}
    assert "Body" not in template and template["To"] == f"whatsapp:{PHONE}"
    [message] = outbox_rows(db_engine)
    assert (message.sent_at, message.failed_at, message.state) == (None, None, HELD)

    with pytest.raises(service.TicketError, match="no reply that reached the user"):
        resolve(db_engine)  # a held reply has not reached the user: no rating for help not yet received
    sender.deliver_outbox()
    assert len(fake.messages) == 1
    assert [row.state for row in outbox_rows(db_engine)] == [HELD]

    shown = say(client, "ok", "SM" + "2" * 32)  # the user answers the template
    assert shown[-1].startswith("Helpdesk reply to HD-000001:\nYour certificate is generated now.")
    assert all(row.state == "sent" for row in outbox_rows(db_engine))
    resolve(db_engine)  # now it reached the user: the rating request goes, as text within the window
    assert sender.deliver_outbox() == 1
    assert "How would you rate the help you got?" in fake.messages[-1]["Body"]
    assert "Thank you for your rating" in say(client, "4", "SM" + "3" * 32)[0]
    assert sender.deliver_outbox() == 0 and len(fake.messages) == 2


def test_staff_send_a_held_answer_inside_the_reply_template(client, sender, fake, db_engine):
    """The console's "send as template": the answer itself goes outside the 24-hour window."""
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    last_wrote_hours_ago(db_engine, 30)
    sender.deliver_outbox()  # held, the "an answer is waiting" template sent
    [message] = outbox_rows(db_engine)
    with Session(db_engine) as session:
        desk = staff_by_name(session, name="desk1")
        delivery.send_as_template(session, ref="HD-000001", staff=desk, outbox_id=message.id, template_sid="HXreply")
        session.commit()
    assert sender.deliver_outbox() == 1
    answer = fake.messages[-1]
    assert answer["ContentSid"] == "HXreply" and "Body" not in answer
    assert json.loads(answer["ContentVariables"]) == {"1": "HD-000001", "2": "Your certificate is generated now."}
    assert outbox_rows(db_engine)[0].state == "sent"
    resolve(db_engine)  # it reached the user: the ticket may be resolved and the rating asked


def test_a_held_answer_fails_with_its_reason_when_the_user_never_writes_back(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    last_wrote_hours_ago(db_engine, 30)
    sender.deliver_outbox()
    sender.later(8 * 24 * 3600)
    assert sender.outbox.expire_held("whatsapp") == 1
    [message] = outbox_rows(db_engine)
    assert message.state == "failed" and "did not write back within 7 days" in message.last_error


def test_twilio_saying_the_window_closed_sends_the_template_instead(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    fake.fail_next(code=63016)
    assert sender.deliver_outbox() == 0
    assert [sorted(form) for form in fake.messages][-1] == sorted(
        ["From", "To", "ContentSid", "ContentVariables", "StatusCallback"]
    )
    assert outbox_rows(db_engine)[0].state == HELD


def test_without_a_template_the_reply_waits_silently(wa_settings, fake, client, db_engine, outbox):
    settings = wa_settings.model_copy(update={"twilio_api_base_url": fake.base_url})
    quiet = Drain(outbox, TwilioProvider(settings))
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    last_wrote_hours_ago(db_engine, 30)
    assert quiet.deliver_outbox() == 0 and fake.messages == []
    assert outbox_rows(db_engine)[0].state == HELD
    assert "Helpdesk reply to HD-000001" in say(client, "hello", "SM" + "2" * 32)[-1]


def test_an_invalid_number_fails_for_good(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "Your certificate is generated now.")
    fake.fail_next(code=21211)
    assert sender.deliver_outbox() == 0
    [message] = outbox_rows(db_engine)
    assert message.state == "failed" and message.last_error.startswith("twilio 21211")
    assert sender.deliver_outbox() == 0 and len(fake.messages) == 1  # never tried again


@pytest.mark.parametrize(("code", "http_status"), [(20429, 429), (20500, 500), (20003, 401)])
def test_rate_limits_and_server_errors_are_retried_in_order(client, sender, fake, db_engine, code, http_status):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "first")
    staff_reply(db_engine, "second")
    fake.fail_next(code=code, status=http_status)
    assert sender.deliver_outbox() == 0  # "second" waits for "first", which is retried
    first, second = outbox_rows(db_engine)
    assert first.last_error.startswith(f"twilio {code}") and (first.state, first.lease_owner) == ("queued", None)
    assert (second.state, second.attempts, second.lease_owner) == ("queued", 0, None)
    sender.later(2)  # past the second Twilio's 429 asks for
    assert sender.deliver_outbox() == 2
    assert [form["Body"].split("\n")[1] for form in fake.messages[1:]] == ["first", "second"]
    assert all(row.state == "sent" for row in outbox_rows(db_engine))


def test_a_rate_limit_ends_the_round_for_every_user(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    say(client, "talk to a person", "SM" + "2" * 32, phone="+919876500003")
    staff_reply(db_engine, "for the first user", ref="HD-000001")
    staff_reply(db_engine, "for the second user", ref="HD-000002")
    fake.fail_next(code=20429, status=429)
    sender.concurrency = 1  # one call at a time: the 429 comes before the second user's send starts
    assert sender.deliver_outbox() == 0 and len(fake.messages) == 1
    sender.later(2)
    assert sender.deliver_outbox() == 2


def test_a_network_failure_is_retried(client, wa_settings, db_engine, outbox):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "hello")
    closed = FakeTwilio(ACCOUNT, TOKEN)  # a port nobody listens on
    closed.stop()
    offline = Drain(outbox, TwilioProvider(wa_settings.model_copy(update={"twilio_api_base_url": closed.base_url})))
    assert offline.deliver_outbox() == 0
    [message] = outbox_rows(db_engine)
    assert (message.state, message.lease_owner, message.last_error) == ("queued", None, "network: ConnectionError")
    assert offline.provider.health.state == "degraded"


def test_a_hanging_twilio_is_a_failed_call_retried_later(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "hello")
    sender.provider.client.http_client.timeout = 0.5  # the production timeout is 15 s
    fake.hang_next(1.5)
    assert sender.deliver_outbox() == 0
    [message] = outbox_rows(db_engine)
    assert message.state == "queued" and message.last_error.startswith("network: ")
    assert sender.deliver_outbox() == 1


def test_the_outbox_sender_runs_until_cancelled(client, sender, fake, db_engine):
    say(client, "talk to a person", "SM" + "1" * 32)
    staff_reply(db_engine, "hello")

    async def main() -> None:
        running = asyncio.create_task(Sender(sender.outbox, sender.provider).run(interval=0.05))
        for _ in range(200):
            if outbox_rows(db_engine)[0].state == "sent":
                break
            await asyncio.sleep(0.05)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

    asyncio.run(main())
    assert len(fake.messages) == 1


def test_the_provider_needs_the_twilio_settings(settings):
    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID"):
        TwilioProvider(settings)
