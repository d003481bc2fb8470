"""The engine's message types: what every channel turns its wire format into and back from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incoming:
    """One message from a user, whatever the channel."""

    channel: str
    user_key: str
    text: str = ""
    choice: str | None = None  # the key of a quick-reply option the user tapped
    verified_phone: str | None = None  # E.164, only when the channel itself vouches for it


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
