"""Delivery state on the console: each staff reply's state and reason, "not delivered" in the queue,
"try again" and, for WhatsApp, "send as template"."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.config import Settings
from bot.db import session_scope
from bot.delivery.items import Failed, Held
from bot.delivery.outbox import Outbox
from bot.delivery.retry import RetryPolicy
from bot.models import Conversation, OutboxMessage, Ticket
from bot.web.app import create_app
from tests.web.console.helpers import SECRET, act, csrf_of, reply_reaches_user, staff_client

REFUSED = "twilio 63024: invalid message recipient +919876500001"


def provider_says(engine, channel: str, outcome) -> None:
    outbox = Outbox(engine.db, engine.brain.texts, retry=RetryPolicy(jitter=0.0))
    items = outbox.claim(channel)
    assert items
    outbox.finish([(item, outcome) for item in items])


def delivery_block(page: str) -> str:
    return page.split('<li class="line staff">', 1)[1].split("</li>", 1)[0]


def redeliver(client, ref: str, how: str):
    page = client.get(f"/staff/tickets/{ref}").text
    outbox_id = re.search(rf'/staff/tickets/{ref}/replies/(\d+)/{how}"', page).group(1)
    return client.post(
        f"/staff/tickets/{ref}/replies/{outbox_id}/{how}", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )


def test_each_reply_shows_how_it_is_getting_to_the_user(app, engine, user_ticket):
    desk1 = staff_client(app)
    act(desk1, user_ticket, "reply", reply="Certificate ab ban gaya hai.")
    assert 'class="badge delivery-queued">Queued<' in delivery_block(desk1.get(f"/staff/tickets/{user_ticket}").text)
    reply_reaches_user(engine)
    block = delivery_block(desk1.get(f"/staff/tickets/{user_ticket}").text)
    assert 'class="badge delivery-read">Read<' in block and "Try again" not in block


def test_a_failed_reply_says_why_marks_the_queue_and_can_be_tried_again(app, engine, db_engine, user_ticket):
    desk1 = staff_client(app)
    act(desk1, user_ticket, "reply", reply="Certificate ab ban gaya hai.")
    provider_says(engine, "console", Failed(REFUSED, permanent=True))

    page = desk1.get(f"/staff/tickets/{user_ticket}").text
    block = delivery_block(page)
    assert 'class="badge delivery-failed">Failed<' in block
    assert "Not delivered: twilio 63024: invalid message recipient +91******0001" in block
    assert "9876500001" not in page
    assert "Send as template" not in block  # not a WhatsApp ticket
    assert "NOT DELIVERED" in page.split("</h1>", 1)[0]
    queue = desk1.get("/staff/tickets").text
    assert re.search(rf"{user_ticket}</a>.*?NOT DELIVERED.*?</tr>", queue, re.S)

    response = redeliver(desk1, user_ticket, "retry")
    assert response.status_code == 303
    page = desk1.get(response.headers["location"]).text
    assert f"The reply on {user_ticket} is queued again." in page
    assert 'class="badge delivery-queued">Queued<' in delivery_block(page) and "NOT DELIVERED" not in page
    assert "desk1</strong> retried delivery" in page
    assert "NOT DELIVERED" not in desk1.get("/staff/tickets").text
    reply_reaches_user(engine)
    with session_scope(db_engine) as session:
        assert session.exec(select(OutboxMessage.state)).all() == ["read"]


def test_trying_again_twice_is_refused_with_the_reason(app, engine, user_ticket):
    desk1 = staff_client(app)
    act(desk1, user_ticket, "reply", reply="Certificate ab ban gaya hai.")
    provider_says(engine, "console", Failed(REFUSED, permanent=True))
    page = desk1.get(f"/staff/tickets/{user_ticket}").text
    action = re.search(r'action="(/staff/tickets/[^"]+/retry)"', page).group(1)
    assert desk1.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False).status_code == 303
    again = desk1.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert again.status_code == 422 and "is no longer failed: reload the page" in again.text


def test_a_held_whatsapp_reply_is_sent_as_the_reply_template(db_engine, accounts, engine, user_ticket):
    with session_scope(db_engine) as session:  # the same user, on WhatsApp
        session.exec(select(Conversation)).one().channel = "whatsapp"
        session.exec(select(Ticket)).one().channel = "whatsapp"
    settings = Settings(
        _env_file=None, default_language="hi", staff_session_secret=SECRET, twilio_reply_templates={"hi": "HXreply"}
    )
    desk1 = staff_client(create_app(settings=settings, db=db_engine))
    act(desk1, user_ticket, "reply", reply="Certificate ab ban gaya hai.")
    provider_says(engine, "whatsapp", Held())
    block = delivery_block(desk1.get(f"/staff/tickets/{user_ticket}").text)
    assert 'class="badge delivery-held">Held<' in block and "waiting for the user to write" in block
    assert "Try again" not in block

    response = redeliver(desk1, user_ticket, "template")
    page = desk1.get(response.headers["location"]).text
    assert "goes to the user inside the approved WhatsApp template" in page
    assert "as the approved template" in delivery_block(page)
    with session_scope(db_engine) as session:
        message = session.exec(select(OutboxMessage)).one()
        assert (message.state, message.template) == (
            "queued",
            {"sid": "HXreply", "variables": {"1": user_ticket, "2": "Certificate ab ban gaya hai."}},
        )


def test_without_a_reply_template_there_is_no_template_button(app, db_engine, engine, user_ticket):
    with session_scope(db_engine) as session:
        session.exec(select(Conversation)).one().channel = "whatsapp"
        session.exec(select(Ticket)).one().channel = "whatsapp"
    desk1 = staff_client(app)
    act(desk1, user_ticket, "reply", reply="Certificate ab ban gaya hai.")
    provider_says(engine, "whatsapp", Held())
    assert "Send as template" not in desk1.get(f"/staff/tickets/{user_ticket}").text
