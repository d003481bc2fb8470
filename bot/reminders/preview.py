"""Whom a campaign would reach now, before anything is planned: the audience, how many each channel
would reach, how many no channel reaches (and why), and a sample message in English and Hindi.

It reads only, and routes as the sender does (`latest_chat`, `by_phone_channel`), so its counts are
what a send at this moment would do with a fresh plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import preferences
from bot.i18n import Texts
from bot.models import Employee, utcnow
from bot.reminders.campaigns import Campaign
from bot.reminders.planner import audience_conditions
from bot.reminders.render import pending_courses, render
from bot.reminders.sender import by_phone_channel, latest_chat, linked_chats

EMP = Employee.__table__.c
BATCH = 5_000
REASONS = ("no_phone", "shared_phone", "opted_out", "no_channel")


@dataclass
class Preview:
    campaign: str
    audience: int = 0
    reachable: dict[str, int] = field(default_factory=dict)
    unreachable_reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    sample: list[dict[str, str]] = field(default_factory=list)  # {"lang", "text"}, English then Hindi
    period: str | None = None  # the period a plan now would plan for; None: the campaign is not running now

    @property
    def unreachable(self) -> int:
        return sum(self.unreachable_reasons.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "audience": self.audience,
            "reachable": self.reachable,
            "unreachable": self.unreachable,
            "unreachable_reasons": self.unreachable_reasons,
            "sample": self.sample,
            "running": self.period is not None,
            "period": self.period,
        }


def preview(
    db: Engine,
    campaign: Campaign,
    *,
    texts: Texts,
    channels: Sequence[str],
    now: datetime | None = None,
    timezone: str = "Asia/Kolkata",
    batch_size: int = BATCH,
) -> Preview:
    """The campaign's reach now (`channels`: the networks configured, as for sending)."""
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(campaign.timezone or timezone)).date()
    result = Preview(campaign.id, period=campaign.period(today))
    conditions = audience_conditions(campaign, now=now, today=today)
    networks = [channel for channel in channels if channel != "console"]
    fallback = by_phone_channel(networks)
    after, first = 0, None
    with Session(db) as session:
        connection = session.connection()
        while True:
            rows = connection.execute(
                select(EMP.id, EMP.name, EMP.phone)
                .where(EMP.id > after, *conditions)
                .order_by(EMP.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            after = rows[-1].id
            first = first or rows[0]
            result.audience += len(rows)
            phones = {row.phone for row in rows if row.phone}
            shared = set(
                connection.execute(
                    select(EMP.phone).where(EMP.phone.in_(phones)).group_by(EMP.phone).having(func.count() > 1)
                ).scalars()
            )
            stopped = preferences.opted_out_phones(connection, phones)
            linked = linked_chats(connection, phones)
            for row in rows:
                reason, channel = _route(row.phone, shared, stopped, linked, networks, fallback)
                if channel is None:
                    result.unreachable_reasons[reason] += 1
                else:
                    result.reachable[channel] = result.reachable.get(channel, 0) + 1
        if first is not None:
            courses = pending_courses(session, [first.id], mandatory_only=campaign.audience.pending_mandatory)
            result.sample = [
                {"lang": lang, "text": render(texts, campaign, lang, name=first.name, courses=courses[first.id],
                                              today=today).text}
                for lang in ("en", "hi")
            ]  # fmt: skip
    return result


def _route(
    phone: str | None,
    shared: set[str],
    stopped: set[str],
    linked: dict[str, list[Any]],
    networks: list[str],
    fallback: str | None,
) -> tuple[str, str | None]:
    """(why not, None) or ("", the channel) for one employee, as the sender decides."""
    if not phone:
        return "no_phone", None
    if phone in shared:
        return "shared_phone", None
    if phone in stopped:
        return "opted_out", None
    latest = latest_chat(linked.get(phone, []), networks)
    if latest is not None:
        return "", latest.channel
    return ("", fallback) if fallback else ("no_channel", None)
