"""Fixtures for the Telegram tests: the fake Bot API server and a channel pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.delivery.retry import RetryPolicy
from bot.delivery.worker import Sender
from bot.dialogue import Engine
from bot.providers.telegram import HelpdeskRateLimiter
from tests.channels.fake_bot_api import FakeBotApi, ServerThread

TOKEN = "123456:TEST-token-for-the-fake-api"
STAFF_CHAT = -1001234567890
SECRET = "s3cret_webhook-token"
PUBLIC_URL = "https://helpdesk.example.org"
# A failed message is due again at once, so a test's next round retries it (backoff has its own tests).
AT_ONCE = RetryPolicy(first=timedelta(0), jitter=0.0)


@pytest.fixture(scope="session")
def bot_api_server() -> Iterator[FakeBotApi]:
    with ServerThread(FakeBotApi(token=TOKEN)) as api:
        yield api


@pytest.fixture
def bot_api(bot_api_server: FakeBotApi) -> Iterator[FakeBotApi]:
    """The fake Bot API, with no requests recorded and no failures planned."""
    bot_api_server.reset()
    yield bot_api_server
    bot_api_server.reset()


@pytest.fixture
def tg_settings(settings: Settings, bot_api: FakeBotApi) -> Settings:
    """Telegram on, pointed at the fake API, with a staff group."""
    return settings.model_copy(
        update={
            "telegram_bot_token": TOKEN,
            "telegram_api_base_url": bot_api.api_base_url,
            "telegram_staff_chat_id": STAFF_CHAT,
            "telegram_webhook_secret": SECRET,
            "public_base_url": PUBLIC_URL,
        }
    )


@pytest.fixture
def outbox(engine: Engine) -> Outbox:
    return Outbox(engine.db, engine.brain.texts, default_language=engine.settings.default_language, retry=AT_ONCE)


async def deliver(channel: TelegramChannel) -> int:
    """One round of the Telegram outbox (users and the staff group); how many messages went out."""
    _, recorded = await Sender(channel.outbox, channel.provider).round()
    return len(recorded.sent)


async def posted(channel: TelegramChannel) -> None:
    """The staff group's new-ticket posts queued and sent."""
    assert channel.staff is not None
    await asyncio.to_thread(channel.staff.queue_posts)
    await deliver(channel)


Scenario = Callable[[TelegramChannel], Awaitable[Any]]


@pytest.fixture
def drive(engine: Engine, tg_settings: Settings, outbox: Outbox) -> Callable[..., Any]:
    """Run `scenario(channel)` on a started channel in a fresh event loop, then stop the channel."""

    def run(scenario: Scenario, *, max_retries: int = 3, settings: Settings | None = None) -> Any:
        async def main() -> Any:
            channel = TelegramChannel(
                settings or tg_settings, engine, outbox, rate_limiter=HelpdeskRateLimiter(max_retries=max_retries)
            )
            await channel.start()
            try:
                return await scenario(channel)
            finally:
                await channel.stop()

        return asyncio.run(main())

    return run
