"""Files users sent, opened from the ticket page: fetched from Telegram (getFile) or Twilio (with the
account's credentials) through the real HTTP clients against local fakes, checked, kept, and served
only to signed-in staff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.config import Settings
from bot.db import session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Attachment, Incoming
from bot.models import AttachmentFile, Ticket, TicketMessage
from bot.web.app import create_app
from tests.channels.fake_bot_api import FakeBotApi, ServerThread
from tests.channels.fake_twilio import FakeTwilio
from tests.web.console.helpers import SECRET, staff_client
from tests.web.console.pictures import HTML, PDF, png

TOKEN = "123456:TEST-token-for-the-files"
ACCOUNT, AUTH = "AC" + "1" * 32, "twilio-auth-token"


@pytest.fixture(scope="module")
def telegram_api() -> Iterator[FakeBotApi]:
    with ServerThread(FakeBotApi(token=TOKEN)) as api:
        yield api


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(ACCOUNT, AUTH).start()
    yield fake
    fake.stop()


@pytest.fixture
def channels(telegram_api: FakeBotApi, twilio: FakeTwilio) -> Settings:
    telegram_api.reset()
    twilio.requests.clear()
    return Settings(
        _env_file=None, default_language="hi", staff_session_secret=SECRET,
        telegram_bot_token=TOKEN, telegram_api_base_url=telegram_api.api_base_url,
        twilio_account_sid=ACCOUNT, twilio_auth_token=AUTH, twilio_whatsapp_from="whatsapp:+14155238886",
        twilio_api_base_url=twilio.base_url, attachment_max_mb=0.01,
    )  # fmt: skip


@pytest.fixture
def console(db_engine, accounts, channels) -> TestClient:
    return staff_client(create_app(settings=channels, db=db_engine))


def sent_with_ticket(engine: DialogueEngine, channel: str, user_key: str, *files: Attachment) -> str:
    """A user asks for a person, then sends the files; the ticket's reference."""
    engine.handle(Incoming(channel=channel, user_key=user_key, text="kisi insaan se baat karao"))
    for file in files:
        engine.handle(Incoming(channel=channel, user_key=user_key, text="", attachments=(file,)))
    with session_scope(engine.db) as session:
        return session.exec(select(Ticket).where(Ticket.channel == channel)).one().ref


def file_lines(db, ref: str) -> list[int]:
    with session_scope(db) as session:
        ticket = session.exec(select(Ticket).where(Ticket.ref == ref)).one()
        lines = select(TicketMessage.id).where(
            TicketMessage.ticket_id == ticket.id, TicketMessage.attachment_ref.is_not(None)
        )
        return list(session.exec(lines.order_by(TicketMessage.id)))


def test_a_telegram_screenshot_is_shown_inline_and_fetched_once(console, engine, db_engine, telegram_api):
    picture = png()
    telegram_api.add_file("PHOTO1big", picture)
    ref = sent_with_ticket(engine, "telegram", "4242", Attachment("photo", "PHOTO1big"))
    (line,) = file_lines(db_engine, ref)
    page = console.get(f"/staff/tickets/{ref}").text
    assert f'<img src="/staff/tickets/{ref}/files/{line}"' in page
    assert "PHOTO1big" not in page and TOKEN not in page  # no channel reference or URL reaches the browser

    response = console.get(f"/staff/tickets/{ref}/files/{line}")
    assert response.status_code == 200 and response.content == picture
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == f'inline; filename="{ref}-{line}.png"'
    assert response.headers["cache-control"] == "no-store"
    assert [call.method for call in telegram_api.requests()] == ["getFile", "download"]

    telegram_api.reset()  # Telegram forgets the file: the console kept it
    assert console.get(f"/staff/tickets/{ref}/files/{line}").content == picture
    assert telegram_api.requests() == []
    with session_scope(db_engine) as session:
        kept = session.exec(select(AttachmentFile)).one()
        assert (kept.content_type, kept.size_bytes) == ("image/png", len(picture))


def test_a_document_is_a_download_and_html_is_never_served(console, engine, db_engine, telegram_api):
    telegram_api.add_file("DOC1", PDF)
    telegram_api.add_file("PAGE1", HTML)
    ref = sent_with_ticket(engine, "telegram", "4343", Attachment("document", "DOC1"), Attachment("document", "PAGE1"))
    pdf_line, html_line = file_lines(db_engine, ref)
    assert "Download the document the user sent" in console.get(f"/staff/tickets/{ref}").text

    pdf = console.get(f"/staff/tickets/{ref}/files/{pdf_line}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{ref}-{pdf_line}.pdf"'
    html = console.get(f"/staff/tickets/{ref}/files/{html_line}")
    assert html.status_code == 415 and "<script>" not in html.text
    with session_scope(db_engine) as session:
        assert [row.ticket_message_id for row in session.exec(select(AttachmentFile))] == [pdf_line]


def test_too_large_unknown_and_foreign_files_are_refused(console, engine, db_engine, telegram_api):
    telegram_api.add_file("BIG1", png(width=2000, height=400, rgb=(1, 2, 3)) + b"\x00" * 20_000)
    ref = sent_with_ticket(engine, "telegram", "4444", Attachment("photo", "BIG1"), Attachment("photo", "GONE1"))
    big, gone = file_lines(db_engine, ref)
    response = console.get(f"/staff/tickets/{ref}/files/{big}")
    assert response.status_code == 413 and "too large" in response.text
    assert "download" not in [call.method for call in telegram_api.requests()]  # getFile's size said so
    response = console.get(f"/staff/tickets/{ref}/files/{gone}")
    assert response.status_code == 502 and "Telegram refused the file: Bad Request: invalid file_id" in response.text

    other = sent_with_ticket(engine, "console", "+919876500001")
    assert console.get(f"/staff/tickets/{other}/files/{big}").status_code == 404  # a line of another ticket


def test_a_whatsapp_photo_is_fetched_with_the_account_credentials(console, engine, db_engine, twilio):
    picture = png(rgb=(200, 30, 30))
    url = twilio.add_media("MM" + "a" * 32, "ME" + "b" * 32, picture)
    ref = sent_with_ticket(engine, "whatsapp", "+919876500005", Attachment("photo", url))
    (line,) = file_lines(db_engine, ref)
    response = console.get(f"/staff/tickets/{ref}/files/{line}")
    assert response.status_code == 200 and response.content == picture
    media, stored = twilio.requests
    assert media.path.endswith("/Media/ME" + "b" * 32) and media.authorization.startswith("Basic ")
    assert stored.path == "/storage/ME" + "b" * 32


def test_credentials_go_only_to_twilio(console, engine, db_engine, twilio):
    ref = sent_with_ticket(engine, "whatsapp", "+919876500006", Attachment("photo", f"{twilio.base_url}/storage/ME1"))
    (line,) = file_lines(db_engine, ref)
    response = console.get(f"/staff/tickets/{ref}/files/{line}")
    assert response.status_code == 502 and "the media URL is not Twilio's" in response.text
    assert twilio.requests == []


def test_files_are_for_signed_in_staff_only(db_engine, accounts, channels, engine, telegram_api):
    telegram_api.add_file("PHOTO2", png())
    ref = sent_with_ticket(engine, "telegram", "4545", Attachment("photo", "PHOTO2"))
    (line,) = file_lines(db_engine, ref)
    stranger = TestClient(create_app(settings=channels, db=db_engine))
    response = stranger.get(f"/staff/tickets/{ref}/files/{line}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/staff/login"
    assert telegram_api.requests() == []
