"""Telegram: what the bot may believe about who is writing."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update

from bot.phones import PhoneError, to_e164


def share_phone_keyboard(label: str) -> ReplyKeyboardMarkup:
    """A one-button keyboard that sends the user's own number as a contact."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_contact=True)]], resize_keyboard=True, one_time_keyboard=True
    )


def vouched_phone(update: Update) -> str | None:
    """The sender's own phone, only from a contact Telegram says is theirs.

    A contact carries `user_id` only when it is a Telegram user, and a forwarded or typed-in contact
    of someone else carries *their* id, so only strict equality with the sender proves ownership.
    """
    message = update.effective_message
    sender = update.effective_user
    if message is None or message.contact is None or sender is None:
        return None
    if message.contact.user_id is None or message.contact.user_id != sender.id:
        return None
    try:
        return to_e164(message.contact.phone_number)
    except PhoneError:
        return None
