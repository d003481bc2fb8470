"""The engine's message types: what every channel turns its wire format into and back from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A file the user sent, kept as the channel's own reference (Telegram file id, Twilio media URL)."""

    kind: str  # photo, document, voice, sticker, ...
    ref: str


@dataclass(frozen=True)
class Incoming:
    """One message from a user, whatever the channel."""

    channel: str
    user_key: str
    text: str = ""
    choice: str | None = None  # the key of a quick-reply option the user tapped
    verified_phone: str | None = None  # E.164, only when the channel itself vouches for it
    attachments: tuple[Attachment, ...] = ()
    external_id: str | None = None  # the channel's own id (update_id, MessageSid): handled once only
    lang_hint: str | None = None  # the language the user's app is set to (Telegram's language_code), if known


@dataclass(frozen=True)
class Option:
    """A quick reply: a button on Telegram, a numbered line on WhatsApp and the console."""

    key: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message from the bot."""

    text: str
    options: tuple[Option, ...] = ()
    # For a yes/no question: the keys of the options that a typed "yes"/"haan" or "no"/"nahi" picks.
    yes_no: tuple[str, str] | None = None
    # Ask the user to share their phone number through the channel: the label of Telegram's contact button.
    request_phone: str | None = None


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A reply as JSON for the database (a stored answer to a message, sent again on a retry)."""
    return {
        "text": reply.text,
        "options": [[option.key, option.label] for option in reply.options],
        "yes_no": list(reply.yes_no) if reply.yes_no else None,
        "request_phone": reply.request_phone,
    }


def reply_from_json(data: dict[str, Any]) -> Reply:
    """The reply `reply_to_json` stored."""
    yes_no = data.get("yes_no")
    return Reply(
        text=data["text"],
        options=tuple(Option(key, label) for key, label in data.get("options") or ()),
        yes_no=(yes_no[0], yes_no[1]) if yes_no else None,
        request_phone=data.get("request_phone"),
    )


def split_reply(reply: Reply, limit: int) -> list[Reply]:
    """The reply in parts of at most `limit` characters, cut between paragraphs or lines where possible.

    Channels cap a message's length (Telegram 4,096 characters, WhatsApp 1,600); the options and
    the phone request stay on the last part, where the user's eye ends up.
    """
    parts: list[str] = []
    current = ""
    for line in _pieces(reply.text, limit):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        parts.append(current.rstrip("\n"))
        current = line
    parts.append(current.rstrip("\n"))
    parts = [part for part in parts if part.strip()] or [""]
    return [Reply(text) for text in parts[:-1]] + [replace(reply, text=parts[-1])]


def _pieces(text: str, limit: int) -> list[str]:
    """Lines, with any line longer than the limit cut at its last space before the limit."""
    pieces = []
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        pieces.append(line)
    return pieces
