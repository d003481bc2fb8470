"""Telegram: python-telegram-bot's Application, its updates mapped to the engine's Incoming/Reply.

One adapter, small handlers: a private chat's text, shared contact, photo/document/voice/sticker and
button taps become `Incoming` messages; the engine's `Reply` objects go back as messages of at most
4,096 characters with inline buttons (options) or the "Share my phone number" keyboard (see
`bot.providers.telegram`). Queued messages (staff replies, rating requests, reminders, staff-group
posts) go out through the outbox, and the staff group lives in `bot.channels.telegram_staff`.

Start-up never depends on Telegram being reachable: `run` keeps trying `getMe` in the background,
the webhook answers 503 until then (Telegram retries), and `/healthz` shows the channel degraded.

Exactly once: each update carries its id to the engine, which keeps a receipt with the replies in
the same database transaction as everything the message changed. Once the replies went out the
stored copy is forgotten, so a repeated update gets nothing; if the worker died before sending
them, Telegram's retry of the update gets exactly those replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import Bot, Chat, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram_staff import StaffDesk, external_id
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.worker import Sender
from bot.dialogue import Engine
from bot.dialogue.batching import TurnQueue
from bot.dialogue.reading import COMMANDS
from bot.messages import Attachment, Incoming, Reply
from bot.models import utcnow
from bot.phones import PhoneError, to_e164
from bot.providers.health import Health
from bot.providers.telegram import (
    TelegramApplication,
    TelegramBot,
    TelegramProvider,
    TelegramSetupError,
    api_urls,
    application_builder,
    initialise,
    send_reply,
)
from bot.receipts import forget_replies

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
RATE = 30.0  # messages per second to Telegram from all senders on the database (Telegram's own limit)
ALLOWED_UPDATES = ("message", "callback_query")
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 256 * 1024  # a real update is a few kilobytes
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as a secret_token
MEDIA = (
    filters.PHOTO | filters.Document.ALL | filters.VOICE | filters.AUDIO | filters.VIDEO
    | filters.VIDEO_NOTE | filters.Sticker.ALL | filters.ANIMATION
)  # fmt: skip
ATTACHMENT_KINDS = ("animation", "document", "voice", "audio", "video", "video_note", "sticker")


class InvalidUpdate(ValueError):
    """The body is not a Telegram update."""


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


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The file the message carries, by Telegram's file id (the largest size of a photo)."""
    if message.photo:
        return (Attachment(kind="photo", ref=message.photo[-1].file_id),)
    for kind in ATTACHMENT_KINDS:  # an animation also fills `document`: look at it first
        item = getattr(message, kind, None)
        if item is not None:
            return (Attachment(kind=kind, ref=item.file_id),)
    return ()


class TelegramChannel:
    """The bot on Telegram: private chats to the engine, the outbox to users, the staff group."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        outbox: Outbox,
        *,
        rate_limiter: BaseRateLimiter[int] | None = None,
        polling: bool = False,
        now: Callable[[], datetime] = utcnow,
    ):
        """`polling`: with python-telegram-bot's own Updater (`helpdesk telegram --polling`), else for webhooks."""
        self.settings = settings
        self.engine = engine
        self.outbox = outbox
        self.turns: TurnQueue[list[Reply]] = TurnQueue(engine.handle_many)  # concurrent updates in batches
        builder = application_builder(settings, rate_limiter)
        self.application: TelegramApplication = (builder if polling else builder.updater(None)).build()
        self.health = Health(CHANNEL, ready=False)
        self.provider = TelegramProvider(self.application.bot, self.health)
        self.staff = (
            StaffDesk(
                db=engine.db,
                outbox=outbox,
                chat_id=settings.telegram_staff_chat_id,
                prefix=engine.settings.ticket_prefix,
                timezone=engine.settings.timezone,
                now=now,
            )
            if settings.telegram_staff_chat_id is not None
            else None
        )
        self._add_handlers()

    @property
    def bot(self) -> TelegramBot:
        return self.application.bot

    @property
    def ready(self) -> bool:
        """Whether the Bot API answered `getMe` and the Application runs: updates can be handled."""
        return self.application.running

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
        """Initialise (asks Telegram `getMe`, again and again while it cannot be reached) and start."""
        if self.application.running:
            return
        await initialise(self.application, self.health)
        await self.application.start()

    async def stop(self) -> None:
        """Stop and shut down the Application (closes its HTTP connections)."""
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def run(self, *, interval: float = 2.0) -> None:
        """Until cancelled: start (however long Telegram takes to answer), then send the outbox and
        keep the staff group's posts queued. For the web server's lifespan; stops the Application."""
        try:
            await self.start()
            limiter = RateLimiter(self.engine.db, {CHANNEL: RATE})
            sender = Sender(self.outbox, self.provider, limiter=limiter)
            tasks = [asyncio.create_task(sender.run(interval=interval), name="telegram-outbox")]
            if self.staff is not None:
                tasks.append(asyncio.create_task(self.staff.run(interval=interval), name="telegram-staff-group"))
            await asyncio.gather(*tasks)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.stop())

    async def process(self, update_json: object) -> None:
        """Handle one update as Telegram posted it; raises InvalidUpdate for anything else."""
        if not isinstance(update_json, dict) or not isinstance(update_json.get("update_id"), int):
            raise InvalidUpdate("not a Telegram update")
        try:
            update = Update.de_json(update_json, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
            raise InvalidUpdate(f"malformed Telegram update: {type(error).__name__}") from error
        await self.application.process_update(update)

    # Private chats -------------------------------------------------------------------------

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A typed message: the engine's answer."""
        message = update.effective_message
        await self.converse(update, text=(message.text if message else None) or "")

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, /help, /stop, /language: the engine reads the command (a deep link's payload is ignored)."""
        message = update.effective_message
        assert message is not None  # the handler's filter admits messages only
        await self.converse(update, text=message.text or "")

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact: the user's own verifies them and shows their status; others' are not believed."""
        phone = vouched_phone(update)
        if phone is None and update.effective_chat is not None:
            logger.info("telegram contact from chat %s is not the sender's own: not verified", update.effective_chat.id)
        await self.converse(update, choice="intent:my_status", verified_phone=phone, remove_keyboard=True)

    async def on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, document, voice note, sticker...: added to the open ticket, else a polite note."""
        message = update.effective_message
        if message is not None:
            await self.converse(update, text=message.caption or "", attachments=attachments_of(message))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything else (location, poll, ...): the engine asks for words."""
        await self.converse(update)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button: the staff group's Claim, or a user's choice (its buttons then removed)."""
        query = update.callback_query
        assert query is not None  # a CallbackQueryHandler's update
        chat = update.effective_chat
        if query is None:
            return
        if self.staff is not None and chat is not None and chat.id == self.staff.chat_id:
            await self.staff.on_button(update, context)
            return
        await _quietly(query.answer())  # stop the button's spinner first
        if chat is None or chat.type != Chat.PRIVATE:
            return
        data = query.data or ""
        if data.startswith("#"):  # an option sent as its number, as if typed
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
        chat = update.effective_chat
        if chat is None:
            return []
        incoming = Incoming(
            channel=CHANNEL,
            user_key=str(chat.id),
            text=text,
            choice=choice,
            verified_phone=verified_phone,
            attachments=attachments,
            external_id=external_id(update),
            lang_hint=update.effective_user.language_code if update.effective_user else None,
        )
        replies = await self.turns.handle(incoming)
        if replies:
            await self.send_replies(chat.id, replies, remove_keyboard=remove_keyboard)
            await asyncio.to_thread(forget_replies, self.engine.db, (CHANNEL, incoming.external_id or ""))
        return replies

    async def send_replies(self, chat_id: int, replies: list[Reply], *, remove_keyboard: bool = False) -> None:
        """Send the engine's replies; what a network failure or flood control kept back goes to the
        outbox, so the user still gets it (retried with backoff, in order)."""
        for index, reply in enumerate(replies):
            try:
                await send_reply(self.bot, chat_id, reply, remove_keyboard=remove_keyboard and index == 0)
            except (Forbidden, BadRequest) as error:
                logger.warning("telegram reply to chat %s refused: %s", chat_id, error)
                return
            except (RetryAfter, NetworkError) as error:
                logger.warning("telegram reply to chat %s not sent (%s); queued for the outbox", chat_id, error)
                await asyncio.to_thread(self.outbox.enqueue_replies, CHANNEL, str(chat_id), replies[index:])
                return


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
    base_url, file_url = api_urls(settings.telegram_api_base_url or "https://api.telegram.org/bot")
    async with Bot(settings.telegram_bot_token, base_url=base_url, base_file_url=file_url) as bot:
        await bot.set_webhook(url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))
    return url


async def run_polling(
    settings: Settings, engine: Engine, outbox: Outbox, *, interval: float = 2.0, poll_timeout: int = 30
) -> None:
    """`helpdesk telegram --polling`: no public URL. python-telegram-bot's Updater long-polls
    `getUpdates` (its bootstrap removes a registered webhook: Telegram allows one or the other) and
    the Application handles each update; the outbox and staff group run beside it, until cancelled."""
    channel = TelegramChannel(settings, engine, outbox, polling=True)
    updater = channel.application.updater
    assert updater is not None  # built with one: polling=True
    background = asyncio.create_task(channel.run(interval=interval), name="telegram")
    try:
        while not channel.ready:
            if background.done():
                await background  # start-up failed for good (a rejected token): say why
            await asyncio.sleep(0.05)
        await updater.start_polling(timeout=poll_timeout, allowed_updates=list(ALLOWED_UPDATES), bootstrap_retries=-1)
        await asyncio.Event().wait()  # until cancelled (Ctrl-C)
    finally:
        if updater.running:
            await updater.stop()
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background


async def telegram_webhook(request: Request) -> Response:
    """POST /telegram/webhook: 403 without the right secret header, 503 while the Bot API has not
    answered yet (Telegram retries), 415/400/413 for what is not a Telegram update; else the update is
    handled (once) and acknowledged with 200."""
    settings: Settings = request.app.state.settings
    expected = (settings.telegram_webhook_secret or "").encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not expected or not hmac.compare_digest(given, expected):
        return PlainTextResponse("forbidden", status_code=403)  # checked first: says nothing about set-up
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None:
        return PlainTextResponse("telegram is not configured", status_code=404)
    if not channel.ready:
        return PlainTextResponse("telegram is starting", status_code=503, headers={"Retry-After": "5"})
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return PlainTextResponse("expected application/json", status_code=415)
    body = await _read_limited(request, MAX_UPDATE_BYTES)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    try:
        await channel.process(json.loads(body))
    except (ValueError, RecursionError, InvalidUpdate):  # JSONDecodeError is a ValueError; deep nesting recurses
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
