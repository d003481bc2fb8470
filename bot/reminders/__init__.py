"""Course reminders: campaigns as data, plan then send, on each employee's own channel.

The CLI-facing functions: `load_campaigns`, `plan`, `send` (through the outbox and `bot.providers`)
and `report`.
"""

from __future__ import annotations

from bot.reminders.campaigns import DEFAULT_CAMPAIGNS, Campaign, CampaignError, load_campaigns
from bot.reminders.planner import PlanSummary, plan
from bot.reminders.report import report
from bot.reminders.sender import ReminderSender, SendSummary, send, send_now

# Messages per second on each network, shared by every sender on the database (Telegram's own
# limit; WhatsApp's comes from REMINDER_WHATSAPP_RATE); the console's mailbox has none.
DEFAULT_RATE_LIMITS: dict[str, float | None] = {"telegram": 30.0, "whatsapp": 80.0, "console": None}

__all__ = [
    "DEFAULT_CAMPAIGNS", "DEFAULT_RATE_LIMITS", "Campaign", "CampaignError", "PlanSummary", "ReminderSender",
    "SendSummary", "load_campaigns", "plan", "report", "send", "send_now",
]  # fmt: skip
