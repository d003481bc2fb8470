"""Telegram updates as Telegram posts them (JSON), for feeding the channel in tests."""

from __future__ import annotations

import itertools
from typing import Any

from tests.channels.fake_bot_api import BOT_ID, BOT_USERNAME

USER = 111
DATE = 1764000000
_ids = itertools.count(5000)
_message_ids = itertools.count(1)


def user(user_id: int = USER, name: str = "Sunita", language_code: str | None = None) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if language_code:
        sender["language_code"] = language_code  # the language the user's Telegram app is set to
    return sender


def chat(chat_id: int) -> dict[str, Any]:
    return (
        {"id": chat_id, "type": "private"}
        if chat_id > 0
        else {"id": chat_id, "type": "supergroup", "title": "Helpdesk"}
    )


def bot_message(chat_id: int, message_id: int, text: str = "…") -> dict[str, Any]:
    return {
        "message_id": message_id, "date": DATE, "chat": chat(chat_id), "text": text,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "iGOT Helpdesk", "username": BOT_USERNAME},
    }  # fmt: skip


def message(
    chat_id: int = USER,
    *,
    sender: int | None = None,
    update_id: int | None = None,
    reply_to: int | None = None,
    language_code: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An update carrying one message; `fields` are the message's own (text, photo, contact, ...)."""
    sender_id = sender if sender is not None else chat_id if chat_id > 0 else USER
    body: dict[str, Any] = {
        "message_id": next(_message_ids), "date": DATE, "chat": chat(chat_id),
        "from": user(sender_id, language_code=language_code), **fields,
    }  # fmt: skip
    text = fields.get("text", "")
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if reply_to is not None:
        body["reply_to_message"] = bot_message(chat_id, reply_to)
    return {"update_id": update_id if update_id is not None else next(_ids), "message": body}


def text(value: str, chat_id: int = USER, **options: Any) -> dict[str, Any]:
    return message(chat_id, text=value, **options)


def contact(phone: str, *, owner: int | None, chat_id: int = USER) -> dict[str, Any]:
    card: dict[str, Any] = {"phone_number": phone, "first_name": "Sunita"}
    if owner is not None:
        card["user_id"] = owner
    return message(chat_id, contact=card)


def photo(file_id: str, chat_id: int = USER, caption: str | None = None) -> dict[str, Any]:
    sizes = [
        {"file_id": f"{file_id}-thumb", "file_unique_id": "t1", "width": 90, "height": 60},
        {"file_id": file_id, "file_unique_id": "p1", "width": 1280, "height": 853},
    ]
    return message(chat_id, photo=sizes, **({"caption": caption} if caption else {}))


def voice(file_id: str, chat_id: int = USER) -> dict[str, Any]:
    return message(chat_id, voice={"file_id": file_id, "file_unique_id": "v1", "duration": 4})


def sticker(file_id: str, chat_id: int = USER) -> dict[str, Any]:
    return message(chat_id, sticker={
        "file_id": file_id, "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
        "is_animated": False, "is_video": False,
    })  # fmt: skip


def button(
    data: str, *, chat_id: int = USER, message_id: int = 1, sender: int | None = None, update_id: int | None = None
) -> dict[str, Any]:
    """A tap on an inline button under the bot's message `message_id`."""
    tapped = bot_message(chat_id, message_id)
    tapped["reply_markup"] = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    return {
        "update_id": update_id if update_id is not None else next(_ids),
        "callback_query": {
            "id": f"cb{next(_ids)}", "from": user(sender if sender is not None else chat_id if chat_id > 0 else USER),
            "chat_instance": "ci-1", "data": data, "message": tapped,
        },
    }  # fmt: skip
