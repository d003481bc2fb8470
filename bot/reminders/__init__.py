"""Course reminders: campaigns as data, plan then send, on each employee's own channel.

The CLI-facing functions: `load_campaigns`, `plan`, `send`, `report`, and `build_senders` for the
channels the settings configure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.reminders.campaigns import DEFAULT_CAMPAIGNS, Campaign, CampaignError, load_campaigns
from bot.reminders.channels import (
    ConsoleChannel,
    FileChannel,
    NullChannel,
    PermanentError,
    ReminderMessage,
    TelegramChannel,
    TransientError,
    WhatsAppChannel,
)
from bot.reminders.planner import PlanSummary, plan
from bot.reminders.ratelimit import RateLimiter
from bot.reminders.report import report
from bot.reminders.sender import ReminderSender, SendSummary, send

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.reminders.channels import Channel

DEFAULT_RATE_LIMITS: dict[str, float | None] = {"telegram": 30.0, "whatsapp": 80.0, "console": None}


def build_senders(settings: Settings, *, console_fallback: bool | None = None) -> dict[str, Channel]:
    """Channels from the settings, in order of preference for employees without a conversation:
    Telegram (only reaches users who have a chat), WhatsApp (reaches any phone, by template), and the
    console queue — as a phone-addressed fallback only when WhatsApp is off (`console_fallback=None`),
    so a local deployment's `helpdesk chat --phone` shows reminders; console users always get theirs."""
    from bot.channels.whatsapp import is_enabled

    senders: dict[str, Channel] = {}
    if settings.telegram_bot_token:
        senders["telegram"] = TelegramChannel(settings)
    if is_enabled(settings):
        senders["whatsapp"] = WhatsAppChannel(settings)
    if console_fallback is None:
        console_fallback = "whatsapp" not in senders
    senders["console"] = ConsoleChannel(by_phone=console_fallback)
    return senders


__all__ = [
    "DEFAULT_CAMPAIGNS", "DEFAULT_RATE_LIMITS", "Campaign", "CampaignError", "ConsoleChannel", "FileChannel",
    "NullChannel", "PermanentError", "PlanSummary", "RateLimiter", "ReminderMessage", "ReminderSender",
    "SendSummary", "TelegramChannel", "TransientError", "WhatsAppChannel", "build_senders", "load_campaigns",
    "plan", "report", "send",
]  # fmt: skip
