"""Telegram's Bot API through python-telegram-bot: the Application, rendering, sending, error classes.

Used by the Telegram channel (webhook, polling, staff group) and by the outbox for every queued
message. Sending goes through `HelpdeskRateLimiter`: PTB's `AIORateLimiter` (30 messages/s overall,
20/min per group, waits out `RetryAfter` up to 3 times) plus a per-chat pace for private chats, which
`AIORateLimiter` does not have (it throttles only negative chat ids, i.e. groups and channels).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from aiolimiter import AsyncLimiter
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseRateLimiter, ContextTypes, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.delivery.items import Failed, Outcome, Outgoing, Sent
from bot.messages import Reply, split_reply
from bot.providers.health import Health

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from telegram.ext import JobQueue

# The Application this bot builds: PTB's default context types, and a rate limiter whose per-request
# argument is an int (AIORateLimiter's retry count).
TelegramBot: TypeAlias = ExtBot[int]
TelegramApplication: TypeAlias = Application[
    TelegramBot, ContextTypes.DEFAULT_TYPE, dict[Any, Any], dict[Any, Any], dict[Any, Any],
    "JobQueue[ContextTypes.DEFAULT_TYPE]",
]  # fmt: skip
TelegramBuilder: TypeAlias = ApplicationBuilder[
    TelegramBot, ContextTypes.DEFAULT_TYPE, dict[Any, Any], dict[Any, Any], dict[Any, Any],
    "JobQueue[ContextTypes.DEFAULT_TYPE]",
]  # fmt: skip

CHANNEL = "telegram"
TEXT_LIMIT = 4096  # characters in one message (Telegram counts UTF-16 code units)
CAPTION_LIMIT = 1024  # characters in a photo's caption
CALLBACK_DATA_LIMIT = 64  # bytes of an inline button's callback_data
HTTP_TIMEOUT_SECONDS = 15.0  # a hanging Bot API is a failed call after this, retried later
INITIALISE_BACKOFF = (1.0, 60.0)  # first and longest wait between attempts to reach the Bot API at start


class TelegramSetupError(RuntimeError):
    """Telegram cannot be used as configured; the message says which setting to fix."""


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
        try:
            chat = int(chat_id)  # type: ignore[call-overload]
        except (TypeError, ValueError):
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


def share_phone_keyboard(label: str) -> ReplyKeyboardMarkup:
    """A one-button keyboard that sends the user's own number as a contact."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_contact=True)]], resize_keyboard=True, one_time_keyboard=True
    )


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


async def send_reply(
    bot: TelegramBot, chat_id: int, reply: Reply, *, remove_keyboard: bool = False, reply_to: int | None = None
) -> list[int]:
    """One reply as one or more messages (under the message `reply_to`, if given); their ids."""
    parts = [part for part in message_parts(reply) if part.text.strip()]
    sent = []
    for number, part in enumerate(parts, start=1):
        markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None = (
            reply_markup(part) if number == len(parts) else None
        )
        if markup is None and remove_keyboard and number == 1:
            markup = ReplyKeyboardRemove()
        under = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        message = await bot.send_message(chat_id=chat_id, text=part.text, reply_markup=markup, reply_parameters=under)
        sent.append(message.message_id)
    return sent


async def send_photo(bot: TelegramBot, chat_id: int, file_id: str, caption: str, *, reply_to: int | None) -> int:
    """A photo the bot received, posted again by its file id (no download), the text as its caption."""
    under = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    message = await bot.send_photo(
        chat_id=chat_id, photo=file_id, caption=caption[:CAPTION_LIMIT], reply_parameters=under
    )
    return message.message_id


def classify(error: TelegramError) -> Failed:
    """What a failed Bot API call means for the message: retried later, or failed for good."""
    if isinstance(error, RetryAfter):
        seconds = retry_after_seconds(error)
        return Failed(f"flood control: retry after {seconds:g} s", retry_after=seconds)
    if isinstance(error, Forbidden):  # the user blocked the bot
        return Failed(f"forbidden: {error.message}", permanent=True)
    if isinstance(error, BadRequest):  # chat not found, ...: the same request would fail again
        return Failed(f"bad request: {error.message}", permanent=True)
    return Failed(f"{type(error).__name__}: {error.message}")  # TimedOut, connection errors, 5xx


# The Application -----------------------------------------------------------------------------


def api_urls(base_url: str) -> tuple[str, str]:
    """`https://host/bot` -> itself and `https://host/file/bot` (the library appends the token)."""
    base_url = base_url.rstrip("/")
    if base_url.endswith("/bot"):
        return base_url, base_url[: -len("/bot")] + "/file/bot"
    return base_url, base_url


def application_builder(settings: Settings, rate_limiter: BaseRateLimiter[int] | None = None) -> TelegramBuilder:
    """PTB's builder for this bot: token, rate limiter, timeouts, another Bot API server when configured."""
    if not settings.telegram_bot_token:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .rate_limiter(rate_limiter or HelpdeskRateLimiter())
        .connect_timeout(HTTP_TIMEOUT_SECONDS)
        .read_timeout(HTTP_TIMEOUT_SECONDS)
        .write_timeout(HTTP_TIMEOUT_SECONDS)
    )
    if settings.telegram_api_base_url:
        base_url, file_url = api_urls(settings.telegram_api_base_url)
        builder = builder.base_url(base_url).base_file_url(file_url)
    return builder


async def initialise(
    application: TelegramApplication, health: Health, *, backoff: tuple[float, float] = INITIALISE_BACKOFF
) -> None:
    """`Application.initialize` (it asks the Bot API `getMe`) until it succeeds, waiting longer each
    time; `health` says degraded meanwhile. A rejected token is a set-up error and is raised."""
    wait, longest = backoff
    while True:
        try:
            await application.initialize()
        except InvalidToken:
            health.bad("the Bot API rejected TELEGRAM_BOT_TOKEN")
            raise
        except (NetworkError, TelegramError) as error:
            health.bad(f"Bot API unreachable ({type(error).__name__}); retrying in {wait:g} s")
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)
            continue
        health.good()
        return


class TelegramProvider:
    """Sends outbox messages to private chats and the staff group through the Application's bot."""

    channel = CHANNEL

    def __init__(self, bot: TelegramBot, health: Health):
        self.bot = bot
        self.health = health

    async def send(self, item: Outgoing) -> Outcome:
        try:
            chat_id = int(item.user_key)
        except ValueError:
            return Failed("not a Telegram chat id", permanent=True)
        try:
            if item.photo:
                sent = [await send_photo(self.bot, chat_id, item.photo, item.reply.text, reply_to=item.reply_to)]
            else:
                sent = await send_reply(self.bot, chat_id, item.reply, reply_to=item.reply_to)
        except TelegramError as error:
            failure = classify(error)
            if not failure.permanent and failure.retry_after is None:
                self.health.bad(failure.reason)
            logger.warning(
                "telegram outbox message %s: %s%s", item.outbox_id, failure.reason,
                " (given up)" if failure.permanent else "",
            )  # fmt: skip
            return failure
        self.health.good()
        return Sent(str(sent[-1]) if sent else None)
