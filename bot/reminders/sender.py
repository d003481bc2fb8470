"""Sending planned reminders: route and render each into the outbox, which sends it like any message.

Life of a reminder: `planned` → `queued` (its outbox message written in the same transaction, so it is
queued exactly once) → `sent` or `failed` as its message goes (the outbox records both), or `skipped`:
opted out, no reachable channel, a phone shared by several employees, nothing pending any more. A
person who says STOP after their reminder was queued has it cancelled right before the send
(`skipped`, opted out). Retries, leases, the rate limit and crash recovery are the outbox's; a send
run drains the reminders it queued and leaves what must wait (a retry, an unreachable provider) to
the outbox senders of `helpdesk serve` or to the next run.

Each reminder goes to the channel the person used most recently among the networks configured now;
someone who never wrote gets WhatsApp (a template reaches any phone) if it is configured. The console's
mailbox is chosen only when no network is configured at all (a local deployment), never instead of a
real channel; anyone else with no reachable channel is counted, not queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session

from bot import metrics, preferences
from bot.db import dialect_insert, ids_by_value, write_scope
from bot.delivery.outbox import Outbox
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.worker import BATCH, Provider, Sender
from bot.i18n import Texts
from bot.models import Conversation, Employee, OutboxMessage, Reminder, ReminderStatus, utcnow
from bot.progress import progress_reporter
from bot.reminders.campaigns import Campaign, in_window, next_opening
from bot.reminders.lease import PLANNER, exclusive
from bot.reminders.render import pending_courses, render

logger = logging.getLogger(__name__)

CONSOLE = "console"
BY_PHONE = "whatsapp"  # the network that can reach a phone that never wrote (by template)
PLANNED, QUEUED, SKIPPED = (ReminderStatus.PLANNED.value, ReminderStatus.QUEUED.value, ReminderStatus.SKIPPED.value)
REM = Reminder.__table__.c
CONV = Conversation.__table__.c
EMP = Employee.__table__.c


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0
    retrying: int = 0  # a passing error: the outbox tries again later (`serve`, or the next run)
    waiting: int = 0  # queued but not sent by this run (its provider unreachable now, or another sender's)
    skipped_opted_out: int = 0
    skipped_quiet_hours: int = 0  # due, but outside the send window now: still planned
    skipped_no_channel: int = 0
    skipped_shared_phone: int = 0  # a phone several employees share gets nobody's reminders
    skipped_nothing_pending: int = 0  # finished the courses since the plan
    combined: int = 0  # reminders that went in another campaign's message to the same person
    deferred_daily_cap: int = 0  # their person had the day's reminders already: due again tomorrow
    planner_busy: bool = False  # another process (`remind run`) was queueing: this run only sent
    by_channel: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def skipped(self, reason: str, count: int = 1) -> None:
        setattr(self, f"skipped_{reason}", getattr(self, f"skipped_{reason}") + count)
        metrics.REMINDERS_SKIPPED.labels(reason).inc(count)


_Skip = tuple[int, str]  # a reminder id, and why it is skipped


@dataclass
class _Batch:
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (channel, outbox row)
    combined: list[dict[str, Any]] = field(default_factory=list)  # reminders riding on another's message
    skips: list[_Skip] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # their person is at the daily cap: tomorrow


@dataclass(frozen=True)
class _Route:
    channel: str
    conversation_id: int
    lang: str | None  # the language of that chat, if it has one


def _clock_of(now: datetime | Callable[[], datetime] | None) -> Callable[[], datetime]:
    if now is None:
        return utcnow
    if callable(now):
        return now
    return lambda: now


class ReminderSender:
    """Turns due reminders into outbox messages on each employee's channel."""

    def __init__(
        self,
        db: Engine,
        *,
        campaigns: list[Campaign],
        texts: Texts,
        channels: Sequence[str],
        now: datetime | Callable[[], datetime] | None = None,
        timezone: str = "Asia/Kolkata",
        send_window: str = "09:00-19:00",
        default_language: str = "hi",
        batch_size: int = 500,
        daily_cap: int = 1,
    ):
        """`channels`: the networks configured now (telegram, whatsapp), in order of preference;
        `batch_size`: people per transaction; `daily_cap`: reminder messages per person per local day."""
        self.db = db
        self.campaigns = {campaign.id: campaign for campaign in campaigns}
        self.texts = texts
        self.channels = [channel for channel in channels if channel != CONSOLE]
        self.clock = _clock_of(now)
        self.timezone = timezone
        self.send_window = send_window
        self.default_language = default_language
        self.batch_size = batch_size
        self.daily_cap = daily_cap
        self._postgres = db.dialect.name == "postgresql"

    def queue_due(self, summary: SendSummary, *, progress: bool = False) -> list[int]:
        """Queue every due reminder of the campaigns in their send window; the ids of those queued."""
        open_campaigns = self._defer_quiet_hours(summary)
        queued: list[int] = []
        if not open_campaigns:
            return queued
        total = self._due_count(open_campaigns)
        done = 0
        after = 0  # people are taken in id order: each batch starts after the last one's last person
        with progress_reporter("queueing reminders") as report:
            while (batch := self._queue_batch(open_campaigns, summary, after)) is not None:
                done += batch[0]
                queued += batch[1]
                after = batch[2]
                if progress:
                    report(min(done, total), max(total, done))
        return queued

    def _window(self, campaign: Campaign) -> tuple[str, ZoneInfo]:
        return campaign.send_window or self.send_window, ZoneInfo(campaign.timezone or self.timezone)

    def _defer_quiet_hours(self, summary: SendSummary) -> list[str]:
        """Campaigns in their send window now; the due reminders of the others wait for the morning, and
        those of a paused campaign until it is resumed."""
        now = self.clock()
        open_ids = []
        for campaign in self.campaigns.values():
            if not campaign.enabled:
                continue
            window, zone = self._window(campaign)
            local = now.astimezone(zone)
            if in_window(window, local):
                open_ids.append(campaign.id)
                continue
            opening = next_opening(window, local)
            with self.db.begin() as connection:
                deferred = connection.execute(
                    update(Reminder).where(REM.campaign == campaign.id, REM.status == PLANNED, REM.due_at <= now)
                    .values(deferred_until=opening)
                ).rowcount  # fmt: skip
            summary.skipped_quiet_hours += deferred
            if deferred:
                logger.info(
                    "%d reminders of %s wait for the send window (%s, opens %s)", deferred, campaign.id, window, opening
                )
        return open_ids

    def _due(self, campaign_ids: list[str]) -> Any:
        return REM.campaign.in_(campaign_ids) & (REM.status == PLANNED) & (REM.due_at <= self.clock())

    def _due_count(self, campaign_ids: list[str]) -> int:
        with self.db.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(Reminder).where(self._due(campaign_ids))
            ).scalar_one()

    def _queue_batch(
        self, campaign_ids: list[str], summary: SendSummary, after: int
    ) -> tuple[int, list[int], int] | None:
        """One batch of people (ids above `after`), in one transaction, with all their due reminders:
        routed, rendered (one message per person), written to the outbox, or skipped with why, or left
        for tomorrow (the cap). The rows handled, the reminders queued, and the batch's last person."""
        people = (
            select(REM.employee_id).where(self._due(campaign_ids), REM.employee_id > after)
            .group_by(REM.employee_id).order_by(REM.employee_id).limit(self.batch_size)
        )  # fmt: skip
        with write_scope(self.db) as session:
            chosen_people = list(session.connection().execute(people).scalars())
            if not chosen_people:
                return None
            chosen = select(REM.id, REM.campaign, REM.employee_id).where(
                self._due(campaign_ids), REM.employee_id.in_(chosen_people)
            )
            chosen = chosen.order_by(REM.employee_id, REM.id)
            if self._postgres:
                chosen = chosen.with_for_update(skip_locked=True)  # several senders share the work
            rows = session.connection().execute(chosen).all()
            if not rows:  # all of them taken by another sender meanwhile
                return 0, [], chosen_people[-1]
            batch = self._prepare(session, rows)
            connection = session.connection()
            now = self.clock()
            if batch.messages:
                _insert_messages(connection, batch.messages)
                queued = ids_by_value(
                    (message["reminder_id"], (channel, message["lang"])) for channel, message in batch.messages
                )
                for (channel, lang), ids in queued.items():
                    connection.execute(_QUEUED, {"ids": ids, "ch": channel, "lg": lang, "now": now})
            if batch.combined:
                connection.execute(_COMBINED, [combined | {"now": now} for combined in batch.combined])
            for why, ids in ids_by_value(batch.skips).items():
                connection.execute(_SKIPPED, {"ids": ids, "why": why, "now": now})
            if batch.deferred:
                connection.execute(
                    update(Reminder).where(REM.id.in_(batch.deferred)).values(due_at=self._tomorrow())
                )  # fmt: skip
        for _, why in batch.skips:
            summary.skipped(why)
        summary.combined += len(batch.combined)
        summary.deferred_daily_cap += len(batch.deferred)
        return len(rows), [message["reminder_id"] for _, message in batch.messages], chosen_people[-1]

    def _day(self) -> tuple[datetime, datetime]:
        """The start of today and of tomorrow, in the deployment's time zone (the daily cap's day)."""
        zone = ZoneInfo(self.timezone)
        today = self.clock().astimezone(zone).date()
        start = datetime.combine(today, time(0), tzinfo=zone)
        return start, datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)

    def _tomorrow(self) -> datetime:
        return self._day()[1]

    def _at_cap(self, connection: Connection, employee_ids: set[int]) -> set[int]:
        """Those of these people who got their day's reminder messages already (queued or sent today)."""
        start, _ = self._day()
        counted = (
            select(REM.employee_id)
            .where(
                REM.employee_id.in_(employee_ids), REM.queued_at >= start, REM.combined_into.is_(None),
                REM.status != SKIPPED,  # a message cancelled by a STOP reached nobody
            )
            .group_by(REM.employee_id)
            .having(func.count() >= self.daily_cap)
        )  # fmt: skip
        return set(connection.execute(counted).scalars())

    def _prepare(self, session: Session, rows: Sequence[Any]) -> _Batch:
        """Route and render the batch: one outbox message per person for all their due reminders (the
        first carries it, the others are combined into it), the reminders skipped and why, and those of
        people at their daily cap (left for tomorrow)."""
        connection = session.connection()
        employee_ids = {row.employee_id for row in rows}
        employees = {
            employee.id: employee
            for employee in connection.execute(select(EMP.id, EMP.name, EMP.phone).where(EMP.id.in_(employee_ids)))
        }
        phones = {employee.phone for employee in employees.values() if employee.phone}
        shared = set(
            connection.execute(
                select(EMP.phone).where(EMP.phone.in_(phones)).group_by(EMP.phone).having(func.count() > 1)
            ).scalars()
        ) if phones else set()  # fmt: skip
        stopped = preferences.opted_out_phones(connection, phones)
        chosen_languages = preferences.languages(connection, phones)
        linked = linked_chats(connection, phones)
        capped = self._at_cap(connection, employee_ids)
        courses_all = pending_courses(session, employee_ids, mandatory_only=False)  # one read serves both lists
        courses_mandatory = {
            employee_id: [course for course in courses if course.mandatory]
            for employee_id, courses in courses_all.items()
        }
        mandatory = {campaign.id: campaign.audience.pending_mandatory for campaign in self.campaigns.values()}
        routes = self._routes(connection, employees.values(), linked, shared | stopped)
        batch = _Batch()
        by_person: dict[int, list[Any]] = {}
        for row in rows:
            by_person.setdefault(row.employee_id, []).append(row)
        for employee_id, own in by_person.items():
            employee = employees[employee_id]
            if employee_id in capped:
                batch.deferred += [row.id for row in own]
                continue
            why = "shared_phone" if employee.phone in shared else "opted_out" if employee.phone in stopped else None
            due = []
            for row in own:
                if why is None and mandatory[row.campaign] and not courses_mandatory[employee_id]:
                    batch.skips.append((row.id, "nothing_pending"))
                else:
                    due.append(row)
            route = routes.get(employee_id)
            why = why or (None if route is not None else "no_channel")
            if why is not None or route is None:
                batch.skips += [(row.id, why or "no_channel") for row in due]
                continue
            if not due:
                continue
            # The message lists every pending course if any of the campaigns asks for them all, in the
            # words of the first campaign that asks for the same (not "mandatory courses" over optional ones).
            mandatory_only = all(mandatory[row.campaign] for row in due)
            first = next(
                row for row in due if self.campaigns[row.campaign].audience.pending_mandatory == mandatory_only
            )
            campaign = self.campaigns[first.campaign]
            courses = (courses_mandatory if mandatory_only else courses_all)[employee_id]
            spoken = route.lang or _latest_language(linked.get(employee.phone, []))
            lang = spoken or chosen_languages.get(employee.phone) or self.default_language
            lang = lang if lang in ("en", "hi") else self.default_language
            today = self.clock().astimezone(self._window(campaign)[1]).date()
            rendered = render(self.texts, campaign, lang, name=employee.name, courses=courses, today=today)
            sids = campaign.whatsapp_template.content_sid
            sid = sids.get(lang) or next(iter(sids.values()), None)  # type: ignore[call-overload]
            batch.messages.append(
                (route.channel, {
                    "conversation_id": route.conversation_id, "reminder_id": first.id, "kind": "reminder",
                    "text": rendered.text, "lang": lang,
                    "template": {"sid": sid, "variables": rendered.template_variables} if sid else None,
                })
            )  # fmt: skip
            batch.combined += [
                {"rid": row.id, "into": first.id, "ch": route.channel, "lg": lang} for row in due if row is not first
            ]
        return batch

    def _routes(
        self, connection: Connection, employees: Any, linked: Mapping[str, list[Any]], excluded: set[str]
    ) -> dict[int, _Route]:
        """Each employee's channel: their most recently used chat on a configured network; else WhatsApp
        by phone (if configured); else the console, only when no network is configured at all."""
        routes: dict[int, _Route] = {}
        by_phone: dict[int, str] = {}
        for employee in employees:
            if not employee.phone or employee.phone in excluded:
                continue
            latest = latest_chat(linked.get(employee.phone, []), self.channels)
            if latest is not None:
                routes[employee.id] = _Route(latest.channel, latest.id, latest.lang)
            elif by_phone_channel(self.channels):
                by_phone[employee.id] = employee.phone
        channel = by_phone_channel(self.channels)
        if by_phone and channel is not None:
            addressed = _chats_for_phones(connection, channel, set(by_phone.values()))
            for employee_id, phone in by_phone.items():
                chat_id, lang = addressed[phone]
                routes[employee_id] = _Route(channel, chat_id, lang)
        return routes


def latest_chat(chats: list[Any], channels: Sequence[str]) -> Any | None:
    """The chat on a configured network the person wrote in most recently, if any."""
    usable = [chat for chat in chats if chat.channel in channels]
    return max(usable, key=lambda chat: (chat.last_inbound_at or chat.updated_at, chat.id)) if usable else None


def by_phone_channel(channels: Sequence[str]) -> str | None:
    """The channel that reaches a phone with no chat: WhatsApp if configured, the console's mailbox when
    no network is configured at all, else none."""
    networks = [channel for channel in channels if channel != CONSOLE]
    if BY_PHONE in networks:
        return BY_PHONE
    return None if networks else CONSOLE


def linked_chats(connection: Connection, phones: set[str]) -> dict[str, list[Any]]:
    """The chats each phone was vouched for in, any channel."""
    linked: dict[str, list[Any]] = {}
    if phones:
        query = select(CONV.id, CONV.channel, CONV.lang, CONV.verified_phone, CONV.last_inbound_at, CONV.updated_at)
        for chat in connection.execute(query.where(CONV.verified_phone.in_(phones))):
            linked.setdefault(chat.verified_phone, []).append(chat)
    return linked


def _latest_language(chats: list[Any]) -> str | None:
    """The language of the chat the person wrote in last, among those that have one."""
    spoken = [chat for chat in chats if chat.lang]
    return max(spoken, key=lambda chat: (chat.last_inbound_at or chat.updated_at, chat.id)).lang if spoken else None


def _chats_for_phones(connection: Connection, channel: str, phones: set[str]) -> dict[str, tuple[int, str | None]]:
    """The phone-addressed chat of each phone on the channel (made where missing, vouched for by the phone
    itself: replies and a STOP from that number land on it)."""
    found = _phone_chats(connection, channel, phones)
    missing = sorted(phones - found.keys())
    if missing:
        rows = [{"channel": channel, "user_key": phone, "verified_phone": phone, "recent": []} for phone in missing]
        insert = dialect_insert(connection)
        connection.execute(insert(Conversation).on_conflict_do_nothing(index_elements=["channel", "user_key"]), rows)
        found |= _phone_chats(connection, channel, set(missing))
    return found


def _phone_chats(connection: Connection, channel: str, phones: set[str]) -> dict[str, tuple[int, str | None]]:
    query = select(CONV.user_key, CONV.id, CONV.lang).where(CONV.channel == channel, CONV.user_key.in_(phones))
    return {user_key: (chat_id, lang) for user_key, chat_id, lang in connection.execute(query)}


def _insert_messages(connection: Connection, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """The reminders' outbox messages, in one statement (each names its reminder: no ids to read back)."""
    fixed = {"options": [], "state": "queued", "attempts": 0, "created_at": utcnow(), "ticket_id": None}
    connection.execute(OutboxMessage.__table__.insert(), [message | fixed for _, message in messages])


_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_QUEUED = (
    update(Reminder)
    .where(REM.id.in_(_IDS), REM.status == PLANNED)
    .values(status=QUEUED, channel=bindparam("ch"), lang=bindparam("lg"), deferred_until=None,
            queued_at=bindparam("now"))
)  # fmt: skip
_COMBINED = (
    update(Reminder)
    .where(REM.id == bindparam("rid"), REM.status == PLANNED)
    .values(status=QUEUED, combined_into=bindparam("into"), channel=bindparam("ch"), lang=bindparam("lg"),
            deferred_until=None, queued_at=bindparam("now"))
)  # fmt: skip
_SKIPPED = (
    update(Reminder)
    .where(REM.id.in_(_IDS), REM.status == PLANNED)
    .values(status=SKIPPED, skip_reason=bindparam("why"), finished_at=bindparam("now"), deferred_until=None)
)


async def drain(outbox: Outbox, providers: Mapping[str, Provider], limiter: RateLimiter, summary: SendSummary) -> None:
    """Send the queued reminders through each provider until none is due; count what became of them."""

    async def one(provider: Provider) -> None:
        recorded = await Sender(outbox, provider, limiter=limiter, batch=BATCH).drain(kinds=("reminder",))
        summary.sent += len(recorded.sent)
        summary.failed += len(recorded.failed)
        summary.retrying += len(recorded.retrying) + len(recorded.released)
        if recorded.sent:
            summary.by_channel[provider.channel] = summary.by_channel.get(provider.channel, 0) + len(recorded.sent)

    await asyncio.gather(*(one(provider) for provider in providers.values()))


async def send_now(
    db: Engine,
    *,
    campaigns: list[Campaign],
    providers: Mapping[str, Provider],
    texts: Texts,
    channels: Sequence[str] | None = None,
    now: datetime | Callable[[], datetime] | None = None,
    rate_limits: dict[str, float | None] | None = None,
    timezone: str = "Asia/Kolkata",
    send_window: str = "09:00-19:00",
    default_language: str = "hi",
    progress: bool = True,
    outbox: Outbox | None = None,
    batch_size: int = 500,
    daily_cap: int = 1,
) -> SendSummary:
    """Queue every due reminder on each employee's channel, then send them (see the module's docstring).
    `channels`: the networks configured now (default: those with a provider); `providers` must belong to
    the running event loop."""
    summary = SendSummary()
    sender = ReminderSender(
        db, campaigns=campaigns, texts=texts, channels=channels if channels is not None else list(providers),
        now=now, timezone=timezone, send_window=send_window, default_language=default_language, batch_size=batch_size,
        daily_cap=daily_cap,
    )  # fmt: skip
    queued: list[int] = []
    # One queuer at a time (the scheduler's lock): two splitting one person's due reminders between
    # them could each send a message that day, past the daily cap.
    with exclusive(db, PLANNER) as held:
        if held:
            queued = await asyncio.to_thread(sender.queue_due, summary, progress=progress)
        else:
            summary.planner_busy = True
            logger.warning("another process is queueing reminders now (remind run): this run only sends what waits")
    outbox = outbox or Outbox(db, texts, default_language=default_language, clock=sender.clock)
    cancelled = outbox.cancelled
    await drain(outbox, providers, RateLimiter(db, rate_limits or {}), summary)
    summary.skipped_opted_out += outbox.cancelled - cancelled
    summary.waiting = await asyncio.to_thread(_still_waiting, db, queued)
    logger.info("reminders: %s", summary.as_dict())
    return summary


def send(db: Engine, **options: Any) -> SendSummary:
    """`send_now` from code without an event loop of its own (providers must not be bound to one)."""
    return asyncio.run(send_now(db, **options))


def _still_waiting(db: Engine, reminder_ids: list[int]) -> int:
    """Of the reminders this run queued, those whose message is not sent, failed or cancelled yet."""
    with db.connect() as connection:
        return sum(
            connection.execute(
                select(func.count()).where(REM.id.in_(reminder_ids[start : start + 10_000]), REM.status == QUEUED)
            ).scalar_one()
            for start in range(0, len(reminder_ids), 10_000)
        )
