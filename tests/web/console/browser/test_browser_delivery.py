"""A ticket with a screenshot and a failed reply in a real headless browser (Debian's Chromium,
Playwright) at phone size (412×900) and desktop size (1366×900): the picture is drawn from the
console's own route (fetched from the fake Bot API), the failure and its reason are shown, the queue
says "not delivered", and "Try again" queues the reply again. Screenshots go to
test-artifacts/console/ (or TEST_ARTIFACTS_DIR)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from bot.brain import Brain
from bot.config import Settings
from bot.db import session_scope
from bot.delivery.items import Failed
from bot.delivery.outbox import Outbox
from bot.dialogue import Engine as DialogueEngine
from bot.messages import Attachment, Incoming
from bot.models import OutboxMessage, Ticket
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name
from tests.channels.fake_bot_api import FakeBotApi, ServerThread
from tests.web.console.browser.pages import PASSWORD, SIZES, fits_the_screen, log_in, open_page, submit
from tests.web.console.pictures import png

TOKEN = "123456:TEST-token-for-the-browser"
USER = "5151"
REFUSED = "forbidden: Forbidden: bot was blocked by the user"


@pytest.fixture
def telegram_api() -> Iterator[FakeBotApi]:
    with ServerThread(FakeBotApi(token=TOKEN)) as api:
        yield api


@pytest.fixture
def settings(telegram_api: FakeBotApi) -> Settings:
    return Settings(
        _env_file=None, default_language="hi", staff_session_secret="a-browser-test-secret",
        telegram_bot_token=TOKEN, telegram_api_base_url=telegram_api.api_base_url,
    )  # fmt: skip


@pytest.fixture
def failed_reply(brain: Brain, database, settings: Settings, telegram_api: FakeBotApi) -> str:
    """A Telegram user's ticket with a screenshot, and desk1's reply that Telegram refused; its ref."""
    telegram_api.add_file("PHOTO1big", png(width=360, height=240, rgb=(200, 40, 40)))
    with session_scope(database) as session:
        add_staff(session, name="desk1", password=PASSWORD)
    dialogue = DialogueEngine(brain=brain, db=database, settings=settings)
    dialogue.handle(Incoming(channel="telegram", user_key=USER, text="certificate download nahi ho raha"))
    dialogue.handle(Incoming(channel="telegram", user_key=USER, text="kisi insaan se baat karao"))
    dialogue.handle(Incoming(channel="telegram", user_key=USER, attachments=(Attachment("photo", "PHOTO1big"),)))
    with session_scope(database) as session:
        ref = session.exec(select(Ticket)).one().ref
    with session_scope(database) as session:
        service.reply(session, ref=ref, staff=staff_by_name(session, name="desk1"), text="Kripya dobara login karein.")
    outbox = Outbox(database, dialogue.brain.texts)
    items = outbox.claim("telegram")
    outbox.finish([(item, Failed(REFUSED, permanent=True)) for item in items])
    return ref


@pytest.mark.parametrize("size", SIZES)
def test_a_screenshot_and_a_failed_reply(browser, server, database, failed_reply, artifacts, size):
    ref = failed_reply
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server)
    row = page.locator("table.queue tbody tr").filter(has_text=ref)
    expect(row).to_contain_text("NOT DELIVERED")
    width, height = SIZES[size]["width"], SIZES[size]["height"]
    assert fits_the_screen(page), f"the queue is wider than the {size} screen"
    page.screenshot(path=str(artifacts / f"queue-not-delivered-{width}x{height}.png"), full_page=True)
    page.get_by_role("link", name=ref).click()

    picture = page.get_by_role("img", name="Photo the user sent")
    expect(picture).to_be_visible()
    picture.scroll_into_view_if_needed()
    drawn = page.wait_for_function("() => document.querySelector('.attachment img').naturalWidth", timeout=10_000)
    assert drawn.json_value() == 360  # really fetched and drawn, not a broken-image box
    delivery = page.locator(".line.staff .delivery")
    expect(delivery).to_contain_text("Failed")
    expect(delivery).to_contain_text(f"Not delivered: {REFUSED}")
    expect(page.get_by_role("heading", name=ref)).to_contain_text("NOT DELIVERED")
    assert fits_the_screen(page), f"the ticket is wider than the {size} screen"
    page.screenshot(path=str(artifacts / f"ticket-failed-reply-{width}x{height}.png"), full_page=True)

    submit(page, "Try again", f"The reply on {ref} is queued again.")
    expect(page.locator(".line.staff .delivery")).to_contain_text("Queued")
    expect(page.get_by_role("heading", name=ref)).not_to_contain_text("NOT DELIVERED")
    assert problems == []
    with session_scope(database) as session:
        assert session.exec(select(OutboxMessage.state)).all() == ["queued"]
