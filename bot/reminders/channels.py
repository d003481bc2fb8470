"""The networks reminders go out on, behind one small interface.

A channel's `deliver(message)` sends one reminder and returns the provider's message id; it raises
`PermanentError` for what no retry will cure (blocked bot, invalid number, template rejected) and
`TransientError` for the rest (network, 5xx, flood control). The console is different: delivering
there is writing an outbox row, which the sender does in the same transaction that marks the reminder
sent, so it is exactly once (`exactly_once = True`, no `deliver`).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from bot.models import utcnow

if TYPE_CHECKING:
    from twilio.rest import Client

    from bot.channels.whatsapp import SendFailure
    from bot.config import Settings

_T = TypeVar("_T")


class PermanentError(Exception):
    """The reminder can never be delivered this way."""


class TransientError(Exception):
    """Worth another try later (after `retry_after` seconds if the provider said so)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ReminderMessage:
    reminder_id: int
    campaign: str
    channel: str
    user_key: str
    lang: str
    text: str
    conversation_id: int | None
    last_inbound_at: datetime | None
    template_sids: dict[str, str] = field(default_factory=dict)
    template_variables: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    """What the sender asks of every channel."""

    name: str
    exactly_once: bool  # the sender writes the delivery itself (the console's outbox row); no `deliver`
    by_phone: bool  # reaches an employee by phone alone, without a conversation
    creates_conversation: bool  # ... and then needs one to record it


class NetworkChannel(Channel, Protocol):
    """A channel that is not `exactly_once`: it delivers each reminder itself."""

    def deliver(self, message: ReminderMessage) -> str | None: ...


class ConsoleChannel:
    """The console queue: an outbox message (kind "reminder") shown when `helpdesk chat --phone` starts."""

    name = "console"
    exactly_once = True
    by_phone = True  # the console's user key is the phone itself
    creates_conversation = True

    def __init__(self, *, by_phone: bool = True):
        self.by_phone = by_phone


class FileChannel:
    """Appends `reminder_id<TAB>user_key` to a file (tests and drills): an at-least-once network stand-in.

    `delay` seconds per send (or the env var HELPDESK_REMINDER_FILE_DELAY) make it slow enough to kill mid-run.
    """

    exactly_once = False
    by_phone = True
    creates_conversation = False

    def __init__(self, path: Path, *, name: str = "file", delay: float | None = None, by_phone: bool = True):
        self.path = Path(path)
        self.name = name
        self.by_phone = by_phone
        self.delay = float(os.environ.get("HELPDESK_REMINDER_FILE_DELAY", "0")) if delay is None else delay
        self._lock = threading.Lock()

    def deliver(self, message: ReminderMessage) -> str | None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock, self.path.open("a", encoding="utf-8") as stream:
            stream.write(f"{message.reminder_id}\t{message.user_key}\n")
            stream.flush()
            os.fsync(stream.fileno())
        return None


class NullChannel:
    """Sends nothing, instantly: the benchmark's way to measure the sender's own overhead."""

    exactly_once = False
    by_phone = True
    creates_conversation = False

    def __init__(self, name: str = "null"):
        self.name = name
        self.count = 0

    def deliver(self, message: ReminderMessage) -> str | None:
        self.count += 1
        return None


class TelegramChannel:
    """Telegram private chats through python-telegram-bot (its own flood-control retries included).
    Telegram cannot write to a user first: only users with a conversation (a chat) are reachable."""

    name = "telegram"
    exactly_once = False
    by_phone = False
    creates_conversation = False

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        from bot.channels.telegram import build_application

        self.application = build_application(settings)
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-reminders", daemon=True)
        self._thread.start()
        self._run(self.application.initialize())

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(self.timeout)

    def deliver(self, message: ReminderMessage) -> str | None:
        from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

        from bot.channels.telegram import message_parts, retry_after_seconds
        from bot.messages import Reply

        try:
            chat_id = int(message.user_key)
        except ValueError:
            raise PermanentError("not a Telegram chat id") from None
        sent = None
        try:
            for part in message_parts(Reply(message.text)):
                sent = self._run(self.application.bot.send_message(chat_id=chat_id, text=part.text))
        except RetryAfter as error:
            raise TransientError("telegram flood control", retry_after_seconds(error)) from None
        except Forbidden as error:  # blocked the bot
            raise PermanentError(f"forbidden: {error.message}") from None
        except BadRequest as error:  # chat not found, ...
            raise PermanentError(f"bad request: {error.message}") from None
        except (NetworkError, TelegramError, TimeoutError) as error:
            raise TransientError(f"telegram: {type(error).__name__}") from None
        return str(sent.message_id) if sent is not None else None

    def close(self) -> None:
        try:
            self._run(self.application.shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)


class WhatsAppChannel:
    """WhatsApp through Twilio. An employee's phone is a WhatsApp address even without a conversation
    (`by_phone`): such a person has never written, so they get the campaign's approved template;
    a person who wrote within 24 hours gets the full text."""

    name = "whatsapp"
    exactly_once = False
    by_phone = True
    creates_conversation = True  # so status callbacks and their STOP land on one conversation

    def __init__(
        self, settings: Settings, *, client: Client | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        from bot.channels import whatsapp

        if not whatsapp.is_enabled(settings) or settings.twilio_whatsapp_from is None:
            raise ValueError("WhatsApp needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM")
        self.whatsapp = whatsapp
        self.client = client or whatsapp.twilio_client(settings)
        self.sender = whatsapp.whatsapp_address(settings.twilio_whatsapp_from)
        base = (settings.public_base_url or "").rstrip("/")
        self.status_callback = f"{base}{whatsapp.STATUS_PATH}" if base else None
        self.clock = clock

    def deliver(self, message: ReminderMessage) -> str | None:
        in_window = (
            message.last_inbound_at is not None
            and self.clock() - message.last_inbound_at < self.whatsapp.FREE_TEXT_WINDOW
        )
        if in_window:
            bodies = self.whatsapp.message_bodies(__import__("bot.messages", fromlist=["Reply"]).Reply(message.text))
            try:
                sid = None
                for body in bodies:
                    sid = self._create(message.user_key, body=body)
                return sid
            except self.whatsapp.SEND_ERRORS as error:
                failure = self.whatsapp.classify(error)
                if not failure.outside_window:
                    self._raise(failure)
        sid = message.template_sids.get(message.lang) or next(iter(message.template_sids.values()), None)
        if not sid:
            raise PermanentError(f"outside the 24-hour window and no approved template for {message.lang}")
        try:
            variables = json.dumps(message.template_variables, ensure_ascii=False)
            return self._create(message.user_key, content_sid=sid, content_variables=variables)
        except self.whatsapp.SEND_ERRORS as error:
            self._raise(self.whatsapp.classify(error))

    def _create(self, user_key: str, **content: str) -> str | None:
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        return self.client.messages.create(
            from_=self.sender, to=self.whatsapp.whatsapp_address(user_key), **extra, **content
        ).sid

    @staticmethod
    def _raise(failure: SendFailure) -> NoReturn:
        if failure.permanent or failure.outside_window:
            raise PermanentError(failure.error)
        raise TransientError(failure.error, 1.0 if failure.rate_limited else None)
