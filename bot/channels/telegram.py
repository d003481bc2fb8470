"""Telegram: python-telegram-bot's Application in webhook mode, mapped to the engine's Incoming/Reply.

One adapter, small handlers: a private chat's text, shared contact, photo/document/voice/sticker and
button taps become `Incoming` messages; the engine's `Reply` objects go back as messages of at most
4,096 characters with inline buttons (options) or the "Share my phone number" keyboard. Messages the
engine queued (staff replies, rating requests) are sent by `deliver_outbox`, and the staff group
lives in `bot.channels.telegram_staff`.

Sending goes through `HelpdeskRateLimiter`: PTB's `AIORateLimiter` (30 messages/s overall, 20/min
per group, waits out `RetryAfter` up to 3 times) plus a per-chat pace for private chats, which
`AIORateLimiter` does not have (it throttles only negative chat ids, i.e. groups and channels).

Exactly once: each update carries its id to the engine, which keeps a receipt in the same database
transaction as everything the message changed; a retried update gets no reply at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self, TypeAlias

from aiolimiter import AsyncLimiter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import (
    Bot,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

if TYPE_CHECKING:
    from telegram.ext import JobQueue

from bot.channels.telegram_staff import StaffDesk, external_id
from bot.config import Settings
from bot.dialogue import Engine, delivery
from bot.dialogue.batching import TurnQueue
from bot.dialogue.delivery import Outgoing, enqueue
from bot.dialogue.reading import COMMANDS
from bot.logs import mask
from bot.messages import Attachment, Incoming, Reply, split_reply
from bot.models import utcnow
from bot.phones import PhoneError, to_e164

logger = logging.getLogger(__name__)

# The Application `build_application` makes: PTB's default context types, and a rate limiter whose
# per-request argument is an int (AIORateLimiter's retry count).
TelegramApplication: TypeAlias = Application[
    ExtBot[int],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    "JobQueue[ContextTypes.DEFAULT_TYPE]",
]

CHANNEL = "telegram"
TEXT_LIMIT = 4096  # characters in one message (Telegram counts UTF-16 code units)
CALLBACK_DATA_LIMIT = 64  # bytes of an inline button's callback_data
ALLOWED_UPDATES = ("message", "callback_query")
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 256 * 1024  # a real update is a few kilobytes
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as a secret_token
# Not in the gettext catalog yet: `Reply` has no field for the button's label, so it is chosen here
# by the script of the reply it goes with.
MEDIA = (
    filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.AUDIO | filters.VIDEO
    | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.ANIMATION
)  # fmt: skip
ATTACHMENT_KINDS = ("animation", "document", "voice", "audio", "video", "video_note", "sticker")


class InvalidUpdate(ValueError):
    """The body is not a Telegram update."""


class TelegramSetupError(RuntimeError):
    """Telegram cannot be used as configured; the message says which setting to fix."""


# Who is writing ----------------------------------------------------------------------------


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


# Rate limits -------------------------------------------------------------------------------


class HelpdeskRateLimiter(AIORateLimiter):
    """`AIORateLimiter` plus Telegram's per-chat pace in private chats (about one message a second).

    `AIORateLimiter` applies its overall limit to every request with a `chat_id` and its group limit
    only to negative chat ids (groups, channels); it has no per-chat limit for private chats. Here a
    private chat may get a burst of `private_burst` messages (a split reply, its keyboard), then
    `private_rate` per second. A `RetryAfter` still pauses *all* requests for its duration and is
    retried up to `max_retries` times before it reaches the caller.
    """

    MAX_IDLE_LIMITERS = 512

    def __init__(
        self,
        *,
        overall_max_rate: float = 30,
        overall_time_period: float = 1,
        group_max_rate: float = 20,
        group_time_period: float = 60,
        max_retries: int = 3,
        private_rate: float = 1.0,
        private_burst: int = 3,
    ):
        super().__init__(
            overall_max_rate=overall_max_rate,
            overall_time_period=overall_time_period,
            group_max_rate=group_max_rate,
            group_time_period=group_time_period,
            max_retries=max_retries,
        )
        self._private_rate = private_rate
        self._private_burst = private_burst
        self._private_limiters: dict[int, AsyncLimiter] = {}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for the private chat's pace, then for PTB's overall and group limits."""
        limiter = self._private_limiter(data.get("chat_id"))
        async with limiter if limiter is not None else contextlib.nullcontext():
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

    def _private_limiter(self, chat_id: object) -> AsyncLimiter | None:
        if not isinstance(chat_id, int | str):
            return None
        try:
            chat = int(chat_id)
        except ValueError:
            return None
        if chat <= 0 or not self._private_rate:
            return None
        if len(self._private_limiters) > self.MAX_IDLE_LIMITERS:  # forget chats whose bucket is empty
            for key, limiter in list(self._private_limiters.items()):
                if key != chat and limiter.has_capacity(limiter.max_rate):
                    del self._private_limiters[key]
        if chat not in self._private_limiters:
            self._private_limiters[chat] = AsyncLimiter(self._private_burst, self._private_burst / self._private_rate)
        return self._private_limiters[chat]


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asks to wait: `retry_after` is an int in PTB ≤ 22 and a timedelta later
    (or with `PTB_TIMEDELTA=true`); both are accepted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


# Rendering ---------------------------------------------------------------------------------


def callback_data(key: str, number: int) -> str:
    """The option's key, or `#n` (its number, as if typed) when the key is over Telegram's 64 bytes."""
    if 0 < len(key.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
        return key
    logger.warning("option key of %d bytes is too long for a Telegram button; sent as its number", len(key.encode()))
    return f"#{number}"


def reply_markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Options as inline buttons, one per row; else the contact button when the engine asks for the phone."""
    if reply.options:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(option.label, callback_data=callback_data(option.key, number))]
             for number, option in enumerate(reply.options, start=1)]
        )  # fmt: skip
    if reply.request_phone:
        return share_phone_keyboard(reply.request_phone)
    return None


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_parts(reply: Reply, limit: int = TEXT_LIMIT) -> list[Reply]:
    """The reply cut to Telegram's length (options and phone request on the last part)."""
    size = limit
    while True:
        parts = split_reply(reply, size)
        if size <= 256 or all(_utf16_length(part.text) <= limit for part in parts):
            return parts
        size -= 256  # emoji and other astral characters count twice


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The file the message carries, by Telegram's file id (the largest size of a photo)."""
    if message.photo:
        return (Attachment(kind="photo", ref=message.photo[-1].file_id),)
    for kind in ATTACHMENT_KINDS:  # an animation also fills `document`: look at it first
        item = getattr(message, kind, None)
        if item is not None:
            return (Attachment(kind=kind, ref=item.file_id),)
    return ()


# The channel -------------------------------------------------------------------------------


def build_application(settings: Settings, rate_limiter: BaseRateLimiter[int] | None = None) -> TelegramApplication:
    """PTB's Application for webhook mode: no Updater; another Bot API server when configured."""
    if not settings.telegram_bot_token:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .updater(None)
        .rate_limiter(rate_limiter or HelpdeskRateLimiter())
    )
    if settings.telegram_api_base_url:
        base_url, file_url = api_urls(settings.telegram_api_base_url)
        builder = builder.base_url(base_url).base_file_url(file_url)
    return builder.build()


def api_urls(base_url: str) -> tuple[str, str]:
    """`https://host/bot` -> itself and `https://host/file/bot` (the library appends the token)."""
    base_url = base_url.rstrip("/")
    if base_url.endswith("/bot"):
        return base_url, base_url[: -len("/bot")] + "/file/bot"
    return base_url, base_url


class TelegramChannel:
    """The bot on Telegram: private chats to the engine, the outbox to users, the staff group."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        rate_limiter: BaseRateLimiter[int] | None = None,
        now: Callable[[], datetime] = utcnow,
    ):
        self.settings = settings
        self.engine = engine
        self.turns = TurnQueue(engine.handle_many)  # concurrent updates decided in batches
        self.application = build_application(settings, rate_limiter)
        self.staff = (
            StaffDesk(
                application=self.application,
                db=engine.db,
                chat_id=settings.telegram_staff_chat_id,
                prefix=engine.settings.ticket_prefix,
                timezone=engine.settings.timezone,
                now=now,
            )
            if settings.telegram_staff_chat_id is not None
            else None
        )
        self._outbox_lock = asyncio.Lock()
        self._pause = 0.0  # seconds Telegram asked the outbox to wait
        self._add_handlers()
        if logging.getLogger("httpx").level == logging.NOTSET:
            logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token

    @property
    def bot(self) -> ExtBot[int]:
        return self.application.bot

    def _add_handlers(self) -> None:
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        if self.staff is not None:
            self.application.add_handlers(self.staff.handlers())
        self.application.add_handlers(
            [
                CommandHandler(list(COMMANDS), self.on_command, filters=private),
                MessageHandler(private & filters.CONTACT, self.on_contact),
                MessageHandler(private & MEDIA, self.on_media),
                MessageHandler(private & filters.TEXT, self.on_text),
                MessageHandler(private, self.on_other),
                CallbackQueryHandler(self.on_button),
            ]
        )
        self.application.add_error_handler(self.on_error)

    # Life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Initialise (asks Telegram `getMe`) and start the Application."""
        await self.application.initialize()
        await self.application.start()

    async def stop(self) -> None:
        """Stop and shut down the Application (closes its HTTP connections)."""
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def process(self, update_json: dict[str, Any]) -> None:
        """Handle one update as Telegram posted it; raises InvalidUpdate for anything else."""
        if not isinstance(update_json, dict) or not isinstance(update_json.get("update_id"), int):
            raise InvalidUpdate("not a Telegram update")
        try:
            update = Update.de_json(update_json, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidUpdate(f"malformed Telegram update: {type(error).__name__}") from error
        await self.application.process_update(update)

    # Private chats -------------------------------------------------------------------------

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A typed message: the engine's answer."""
        message = update.effective_message
        assert message is not None  # the handler's filter admits messages only
        await self.converse(update, text=message.text or "")

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, /help, /stop, /language: the engine reads the command (a deep link's payload is ignored)."""
        message = update.effective_message
        assert message is not None  # the handler's filter admits messages only
        await self.converse(update, text=message.text or "")

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: the user's own verifies them and shows their status; others' are not believed."""
        phone = vouched_phone(update)
        if phone is None:
            chat_id = update.effective_chat.id if update.effective_chat else None
            logger.info("telegram contact from chat %s is not the sender's own: not verified", chat_id)
        await self.converse(update, choice="intent:my_status", verified_phone=phone, remove_keyboard=True)

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, document, voice note, sticker...: added to the open ticket, else a polite note."""
        message = update.effective_message
        assert message is not None  # the handler's filter admits messages only
        await self.converse(update, text=message.caption or "", attachments=attachments_of(message))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything else (location, poll, ...): the engine asks for words."""
        await self.converse(update)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button: the staff group's Claim, or a user's choice (its buttons then removed)."""
        query = update.callback_query
        assert query is not None  # a CallbackQueryHandler's update
        chat = update.effective_chat
        if self.staff is not None and chat is not None and chat.id == self.staff.chat_id:
            await self.staff.on_button(update, context)
            return
        await _quietly(query.answer())  # stop the button's spinner first
        if chat is None or chat.type != Chat.PRIVATE:
            return
        data = query.data or ""
        if data.startswith("#"):
            replies = await self.converse(update, text=data[1:])
        else:
            replies = await self.converse(update, choice=data)
        if replies and isinstance(query.message, Message) and query.message.reply_markup:
            await _quietly(query.edit_message_reply_markup(reply_markup=None))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler failed: logged without the message's content."""
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("telegram update %s failed", update_id, exc_info=context.error)

    async def converse(
        self,
        update: Update,
        *,
        text: str = "",
        choice: str | None = None,
        verified_phone: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        remove_keyboard: bool = False,
    ) -> list[Reply]:
        """Hand one update to the engine (batched with concurrent ones, in a worker thread) and send its replies."""
        assert update.effective_chat is not None  # the handlers take chats' updates only
        chat_id = update.effective_chat.id
        incoming = Incoming(
            channel=CHANNEL,
            user_key=str(chat_id),
            text=text,
            choice=choice,
            verified_phone=verified_phone,
            attachments=attachments,
            external_id=external_id(update),
            lang_hint=update.effective_user.language_code if update.effective_user else None,
        )
        replies = await self.turns.handle(incoming)
        await self.send_replies(chat_id, replies, remove_keyboard=remove_keyboard)
        return replies

    async def send_replies(self, chat_id: int, replies: list[Reply], *, remove_keyboard: bool = False) -> None:
        """Send the engine's replies; what a network failure or flood control kept back goes to the
        outbox, so the user still gets it (a retried update would get no reply: it was handled)."""
        for index, reply in enumerate(replies):
            try:
                await self.send_reply(chat_id, reply, remove_keyboard=remove_keyboard and index == 0)
            except (Forbidden, BadRequest) as error:
                logger.warning("telegram reply to chat %s refused: %s", chat_id, error)
                return
            except (RetryAfter, NetworkError) as error:
                logger.warning("telegram reply to chat %s not sent (%s); queued for the outbox", chat_id, error)
                await asyncio.to_thread(
                    enqueue, self.engine, channel=CHANNEL, user_key=str(chat_id), replies=replies[index:]
                )
                return

    async def send_reply(self, chat_id: int, reply: Reply, *, remove_keyboard: bool = False) -> list[int]:
        """One reply as one or more messages; the ids of the messages sent."""
        parts = [part for part in message_parts(reply) if part.text.strip()]
        sent = []
        for number, part in enumerate(parts, start=1):
            markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
            markup = reply_markup(part) if number == len(parts) else None
            if markup is None and remove_keyboard and number == 1:
                markup = ReplyKeyboardRemove()
            message = await self.bot.send_message(chat_id=chat_id, text=part.text, reply_markup=markup)
            sent.append(message.message_id)
        return sent

    # The outbox ----------------------------------------------------------------------------

    async def deliver_outbox(self, limit: int = 50) -> int:
        """Send queued messages (staff replies, rating requests) and record how each went; how many
        were delivered. Chats are served concurrently, each chat's messages in order."""
        async with self._outbox_lock:
            claimed = await asyncio.to_thread(delivery.claim, self.engine, channel=CHANNEL, limit=limit)
            by_chat: dict[str, list[Outgoing]] = {}
            for item in claimed:
                by_chat.setdefault(item.user_key, []).append(item)
            counts = await asyncio.gather(*(self._deliver_chat(items) for items in by_chat.values()))
            return sum(counts)

    async def _deliver_chat(self, items: list[Outgoing]) -> int:
        delivered = 0
        for number, item in enumerate(items):
            outcome = await self._deliver(item)
            if outcome is None:
                delivered += 1
                continue
            for later in items[number + 1 :]:  # keep the chat's order: the rest waits for the next round
                await asyncio.to_thread(delivery.finish, self.engine, later.outbox_id, error=f"not sent: {outcome}")
            break
        return delivered

    async def _deliver(self, item: Outgoing) -> str | None:
        """Send one queued message; None when delivered, else the reason it was not."""
        error_text, permanent = None, False
        try:
            sent = await self.send_reply(int(item.user_key), item.reply)
        except RetryAfter as error:
            seconds = retry_after_seconds(error)
            self._pause = max(self._pause, seconds)
            error_text = f"flood control: retry after {seconds:g} s"
        except Forbidden as error:  # the user blocked the bot
            error_text, permanent = f"forbidden: {error.message}", True
        except BadRequest as error:  # chat not found, ...: the same request would fail again
            error_text, permanent = f"bad request: {error.message}", True
        except (NetworkError, TelegramError) as error:  # TimedOut, connection errors, 5xx
            error_text = f"{type(error).__name__}: {error.message}"
        except ValueError:
            error_text, permanent = "not a Telegram chat id", True
        else:
            await asyncio.to_thread(
                delivery.finish, self.engine, item.outbox_id, provider_message_id=str(sent[-1]) if sent else None
            )
            return None
        logger.warning(
            "telegram outbox message %s to chat %s: %s%s",
            item.outbox_id, mask(item.user_key), error_text, " (given up)" if permanent else "",
        )  # fmt: skip
        await asyncio.to_thread(delivery.finish, self.engine, item.outbox_id, error=error_text, permanent=permanent)
        return error_text

    async def run_outbox_loop(self, interval: float = 2.0) -> None:
        """Until cancelled: deliver the outbox and keep the staff group up to date, every `interval`
        seconds (at once again while there is a backlog; longer when Telegram asks to wait)."""
        while True:
            busy = False
            try:
                busy = await self.deliver_outbox() >= 50
                if self.staff is not None:
                    await self.staff.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("telegram background round failed")
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None  # an error during cancellation must not swallow it
            pause, self._pause = self._pause, 0.0
            await asyncio.sleep(max(pause, 0 if busy else interval))

    # Polling (no public URL) ----------------------------------------------------------------

    async def poll(self, *, timeout: int = 30) -> None:
        """Until cancelled: long-poll `getUpdates` and handle each update in order."""
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=list(ALLOWED_UPDATES)
                )
            except RetryAfter as error:
                await asyncio.sleep(retry_after_seconds(error))
                continue
            except TimedOut:
                continue
            except BadRequest:
                raise
            except NetworkError as error:
                logger.warning("telegram polling: %s; retrying in %g s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            backoff = 1.0
            for update in updates:
                offset = update.update_id + 1
                await self.application.process_update(update)


async def _quietly(call: Awaitable[object]) -> object:
    """A cosmetic call (answering a button, removing buttons): its failure must not stop the reply."""
    try:
        return await call
    except TelegramError as error:
        logger.info("telegram call failed: %s", error)
        return None


# Webhook, polling and set-up ----------------------------------------------------------------


async def set_webhook(settings: Settings) -> str:
    """Register `PUBLIC_BASE_URL/telegram/webhook` with the secret; the URL registered."""
    if not settings.telegram_bot_token:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    if not settings.public_base_url or not settings.public_base_url.startswith("https://"):
        raise TelegramSetupError("PUBLIC_BASE_URL must be set to the https:// address Telegram can reach")
    secret = settings.telegram_webhook_secret or ""
    if not SECRET_PATTERN.fullmatch(secret):
        raise TelegramSetupError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters: letters, digits, '_' or '-'")
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    options: dict[str, Any] = {}
    if settings.telegram_api_base_url:
        options["base_url"], options["base_file_url"] = api_urls(settings.telegram_api_base_url)
    async with Bot(settings.telegram_bot_token, **options) as bot:
        await bot.set_webhook(url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))
    return url


async def run_polling(settings: Settings, engine: Engine, *, interval: float = 2.0, poll_timeout: int = 30) -> None:
    """`helpdesk telegram --polling`: no public URL; long polling plus the outbox and staff loops,
    until cancelled (Ctrl-C). Removes a registered webhook first: Telegram allows one or the other."""
    channel = TelegramChannel(settings, engine)
    await channel.start()
    try:
        await channel.bot.delete_webhook()
        background = asyncio.create_task(channel.run_outbox_loop(interval), name="telegram-outbox")
        try:
            await channel.poll(timeout=poll_timeout)
        finally:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
    finally:
        await channel.stop()


async def telegram_webhook(request: Request) -> Response:
    """POST /telegram/webhook: 403 without the right secret header, 415/400/413 for what is not a
    Telegram update; else the update is handled (once) and acknowledged with 200."""
    settings: Settings = request.app.state.settings
    expected = (settings.telegram_webhook_secret or "").encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        return PlainTextResponse("forbidden", status_code=403)  # checked first: says nothing about set-up
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None:
        return PlainTextResponse("telegram is not configured", status_code=404)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return PlainTextResponse("expected application/json", status_code=415)
    body = await _read_limited(request, MAX_UPDATE_BYTES)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    try:
        await channel.process(json.loads(body))
    except (ValueError, InvalidUpdate):  # json.JSONDecodeError is a ValueError
        return PlainTextResponse("not a Telegram update", status_code=400)
    return PlainTextResponse("ok")


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is over `limit` bytes (never read whole into memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)
