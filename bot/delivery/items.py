"""What the outbox hands a provider (`Outgoing`) and what the provider makes of it (`Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.messages import Reply


@dataclass(frozen=True)
class Outgoing:
    """A claimed message rendered for its user, ready for a provider."""

    outbox_id: int
    conversation_id: int
    channel: str
    user_key: str
    kind: str
    lang: str
    reply: Reply
    attempts: int
    created_at: datetime
    last_inbound_at: datetime | None = None  # WhatsApp sends free text only within 24 hours of this
    ticket_id: int | None = None
    reminder_id: int | None = None
    ticket_ref: str | None = None
    template: dict[str, Any] | None = None  # WhatsApp: the message's own approved template outside the window
    reply_to: int | None = None  # a message in the same chat to answer under (a ticket's staff-group post)
    announced: bool = False  # WhatsApp: the user was already told by template that an answer waits
    photo: str | None = None  # the staff group: a Telegram user's photo (its file id) to post with the text


@dataclass(frozen=True)
class Sent:
    """The provider took the message (its id, for delivery reports)."""

    provider_id: str | None = None


@dataclass(frozen=True)
class Held:
    """WhatsApp's window is closed: the message waits for the user's next message."""


@dataclass(frozen=True)
class Failed:
    """The provider refused; `permanent` ones fail at once, the others are retried with backoff."""

    reason: str
    permanent: bool = False
    retry_after: float | None = None  # what the provider asked to wait (RetryAfter, HTTP 429)


@dataclass(frozen=True)
class NotTried:
    """Released without a try (an earlier message to the user failed, or the provider asked to pause)."""

    until: datetime | None = None


Outcome = Sent | Held | Failed | NotTried
