"""Telegram contacts prove a phone only when they are the sender's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Contact, Message, Update, User

from bot.channels.telegram import vouched_phone
from bot.providers.telegram import share_phone_keyboard

SENDER = User(id=111, first_name="Sunita", is_bot=False)


def update_with(contact: Contact | None, *, sender: User | None = SENDER, forwarded: bool = False) -> Update:
    message = Message(
        message_id=1,
        date=datetime(2026, 11, 24, tzinfo=UTC),
        chat=Chat(id=111, type=Chat.PRIVATE),
        from_user=sender,
        contact=contact,
        text=None if contact else "my status",
    )
    if forwarded:
        message = Message.de_json({**message.to_dict(), "forward_date": 1764000000}, None)
    return Update(update_id=1, message=message)


def test_own_contact_is_accepted_in_e164():
    contact = Contact(phone_number="919876500001", first_name="Sunita", user_id=111)
    assert vouched_phone(update_with(contact)) == "+919876500001"


@pytest.mark.parametrize(
    "contact",
    [
        Contact(phone_number="+919876500002", first_name="Ramesh", user_id=222),  # someone else's
        Contact(phone_number="+919876500002", first_name="Ramesh"),  # typed in, no user id
        Contact(phone_number="+919876500001", first_name="Sunita", user_id=None),
    ],
)
def test_contacts_that_are_not_the_senders_are_refused(contact):
    assert vouched_phone(update_with(contact)) is None


def test_a_forwarded_contact_of_someone_else_is_refused():
    contact = Contact(phone_number="+919876500002", first_name="Ramesh", user_id=222)
    assert vouched_phone(update_with(contact, forwarded=True)) is None


def test_no_contact_or_no_sender_proves_nothing():
    assert vouched_phone(update_with(None)) is None
    contact = Contact(phone_number="+919876500001", first_name="Sunita", user_id=111)
    assert vouched_phone(update_with(contact, sender=None)) is None


def test_an_unusable_number_is_refused():
    assert vouched_phone(update_with(Contact(phone_number="12", first_name="X", user_id=111))) is None


def test_the_share_button_requests_the_contact():
    button = share_phone_keyboard("Share my phone number").keyboard[0][0]
    assert button.request_contact is True and button.text == "Share my phone number"
