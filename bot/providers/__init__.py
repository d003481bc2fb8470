"""The networks messages go out on, one module per provider (Telegram's Bot API, Twilio's WhatsApp),
below the channels: the webhooks, the outbox and the reminders all send through them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.error import TelegramError

from bot.config import Settings
from bot.delivery.worker import Provider
from bot.providers.console import ConsoleMailbox
from bot.providers.health import Health
from bot.providers.telegram import TelegramProvider, application_builder
from bot.providers.twilio import TwilioProvider, is_enabled

logger = logging.getLogger(__name__)


def network_channels(settings: Settings) -> list[str]:
    """The real networks configured now, in order of preference for someone who never wrote: Telegram
    (reaches only users with a chat), WhatsApp (reaches any phone, by template)."""
    channels = []
    if settings.telegram_bot_token:
        channels.append("telegram")
    if is_enabled(settings):
        channels.append("whatsapp")
    return channels


@asynccontextmanager
async def open_providers(settings: Settings) -> AsyncIterator[dict[str, Provider]]:
    """Every configured provider, ready to send, for a command-line sender (`remind send`); the console's
    mailbox always. A Bot API that cannot be reached now is left out: its messages stay queued."""
    providers: dict[str, Provider] = {"console": ConsoleMailbox()}
    if is_enabled(settings):
        providers["whatsapp"] = TwilioProvider(settings, waiting_templates=settings.twilio_reply_waiting_templates)
    application = None
    if settings.telegram_bot_token:
        application = application_builder(settings).updater(None).build()
        try:
            await application.initialize()
        except TelegramError as error:
            logger.warning("Telegram unreachable (%s): its messages stay queued for the next run", type(error).__name__)
            application = None
        else:
            providers["telegram"] = TelegramProvider(application.bot, Health("telegram"))
    try:
        yield providers
    finally:
        if application is not None:
            await application.shutdown()
