"""Sending planned reminders: claim with a lease, check, send, record; safe to kill and to run twice.

Life of a reminder: `planned` → (claimed: `claimed_by`/`claimed_at`, a lease) → `sending` → `sent`,
or `failed` (permanent error, attempts used up), or `skipped` (opted out, no channel, nothing pending
any more). Claiming is one UPDATE over `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (one writer
at a time on SQLite), so concurrent senders never claim the same row; every later step is fenced by
`claimed_by`, so a sender whose lease was taken over does nothing more to the row.

Exactly once where the channel allows it: on the console the delivery *is* an outbox row, inserted in
the transaction that marks the reminder sent. On networks the reminder is marked `sending` before
the provider call and `sent` after it; a crash between the two leaves it `sending`, and after the
lease it is sent again: at-least-once, at most one duplicate per reminder per crash that hits its
provider call (neither Telegram nor Twilio lets a retried send be recognised). Nothing is lost.

The opt-out is checked again in the transaction that marks the reminder `sending`, i.e. after the
rate limiter let it through and right before the provider calls of its group.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.conversations import note_sent
from bot.i18n import Texts
from bot.models import Conversation, Employee, OutboxMessage, Reminder, ReminderStatus, utcnow
from bot.progress import progress_reporter
from bot.reminders.campaigns import Campaign, in_window, next_opening
from bot.reminders.channels import Channel, NetworkChannel, PermanentError, ReminderMessage, TransientError
from bot.reminders.ratelimit import RateLimiter
from bot.reminders.render import pending_courses, render

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far longer than a provider call (Twilio's timeout is 15 s)
MAX_ATTEMPTS = 6
# Network sends are marked `sending` and then `sent` in groups of this many (one transaction each way):
# the sender's overhead stays far below any provider's rate, and a crash re-sends at most one group.
NETWORK_CHUNK = 16
BACKOFF = timedelta(seconds=30)  # 30 s, 1 min, 2 min, ... up to MAX_BACKOFF
MAX_BACKOFF = timedelta(hours=1)
PLANNED, SENDING, SENT, FAILED, SKIPPED = (status.value for status in ReminderStatus)
R = Reminder.__table__.c
# (id, campaign, employee_id, status) of the reminders a sender has claimed
Claimed = Sequence[Row[Any, Any, Any, Any]]


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0
    retrying: int = 0  # transient errors: planned again with a later attempt time
    skipped_opted_out: int = 0
    skipped_quiet_hours: int = 0  # due, but outside the send window now: still planned
    skipped_no_channel: int = 0
    skipped_nothing_pending: int = 0  # finished the courses since the plan
    taken_over: int = 0  # our lease was taken by another sender (we were too slow): left to it
    by_channel: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {key: value for key, value in self.__dict__.items()}


@dataclass(frozen=True)
class _Job:
    reminder_id: int
    employee_id: int
    phone: str | None
    channel: str
    message: ReminderMessage


def _clock_of(now: datetime | Callable[[], datetime] | None) -> Callable[[], datetime]:
    if now is None:
        return utcnow
    if callable(now):
        return now
    return lambda: now


class ReminderSender:
    """One sender process's view: its lease token, channels, rate limiter and clock."""

    def __init__(
        self,
        db: Engine,
        *,
        campaigns: list[Campaign],
        senders: dict[str, Channel],
        texts: Texts,
        rate_limits: dict[str, float | None] | None = None,
        now: datetime | Callable[[], datetime] | None = None,
        timezone: str = "Asia/Kolkata",
        send_window: str = "09:00-19:00",
        default_language: str = "hi",
        batch_size: int = 200,
        workers: int = 8,
        lease: timedelta = LEASE,
        limiter: RateLimiter | None = None,
        before_send: Callable[[_Job], None] | None = None,
        network_chunk: int = NETWORK_CHUNK,
    ):
        self.db = db
        self.campaigns = {campaign.id: campaign for campaign in campaigns}
        self.senders = senders  # channel name → channel, in order of preference for phone-addressed fallback
        self.texts = texts
        self.clock = _clock_of(now)
        self.timezone = timezone
        self.send_window = send_window
        self.default_language = default_language
        self.batch_size = batch_size
        self.workers = workers if db.dialect.name == "postgresql" else 1  # SQLite: one writer anyway
        self.lease = lease
        self.limiter = limiter or RateLimiter(db, rate_limits or {})
        self.token = uuid.uuid4().hex
        self.before_send = before_send  # a test hook: runs after the claim, before the final check
        self.summary = SendSummary()
        self.network_chunk = max(1, network_chunk)

    # The run ------------------------------------------------------------------------------

    def run(self, *, progress: bool = True, max_batches: int | None = None) -> SendSummary:
        open_campaigns = self._defer_quiet_hours()
        if open_campaigns:
            total = self._claimable_count(open_campaigns)
            done = 0
            with progress_reporter("sending reminders") as report:
                batches = 0
                while rows := self._claim(open_campaigns):
                    self._process(rows)
                    done += len(rows)
                    if progress:
                        report(min(done, total), max(total, done))
                    batches += 1
                    if max_batches is not None and batches >= max_batches:
                        break
        logger.info("reminders sent: %s", self.summary.as_dict())
        return self.summary

    def _window(self, campaign: Campaign) -> tuple[str, ZoneInfo]:
        return campaign.send_window or self.send_window, ZoneInfo(campaign.timezone or self.timezone)

    def _defer_quiet_hours(self) -> list[str]:
        """Campaigns in their send window now; the due reminders of the others wait for the morning."""
        now = self.clock()
        open_ids = []
        for campaign in self.campaigns.values():
            window, zone = self._window(campaign)
            local = now.astimezone(zone)
            if in_window(window, local):
                open_ids.append(campaign.id)
                continue
            opening = next_opening(window, local)
            with self.db.begin() as connection:
                deferred = connection.execute(
                    update(Reminder).where(R.campaign == campaign.id, R.status == PLANNED, R.due_at <= now)
                    .values(deferred_until=opening)
                ).rowcount  # fmt: skip
            self.summary.skipped_quiet_hours += deferred
            if deferred:
                logger.info(
                    "%d reminders of %s wait for the send window (%s, opens %s)", deferred, campaign.id, window, opening
                )
        return open_ids

    def _claimable(self, campaign_ids: list[str]) -> ColumnElement[bool]:
        now = self.clock()
        stale = now - self.lease
        return and_(
            R.campaign.in_(campaign_ids),
            R.due_at <= now,
            or_(
                and_(R.status == PLANNED, or_(R.next_attempt_at.is_(None), R.next_attempt_at <= now),
                     or_(R.claimed_at.is_(None), R.claimed_at < stale)),
                and_(R.status == SENDING, R.claimed_at < stale),  # its sender died mid-call: at-least-once
            ),
        )  # fmt: skip

    def _claimable_count(self, campaign_ids: list[str]) -> int:
        with self.db.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(Reminder).where(self._claimable(campaign_ids))
            ).scalar_one()

    def _claim(self, campaign_ids: list[str]) -> Claimed:
        """Lease a batch: one UPDATE over a locked, skip-locked selection (PostgreSQL), atomic on SQLite."""
        now = self.clock()
        chosen = select(R.id).where(self._claimable(campaign_ids)).order_by(R.id).limit(self.batch_size)
        if self.db.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        with self.db.begin() as connection:
            connection.execute(
                update(Reminder).where(R.id.in_(chosen.scalar_subquery())).values(claimed_by=self.token, claimed_at=now)
            )
            return connection.execute(
                select(R.id, R.campaign, R.employee_id, R.status).where(R.claimed_by == self.token, R.claimed_at == now,
                                                                          R.status.in_((PLANNED, SENDING)))
                .order_by(R.id)
            ).all()  # fmt: skip

    # One batch ----------------------------------------------------------------------------

    def _process(self, rows: Claimed) -> None:
        jobs = self._prepare(rows)
        by_channel: dict[str, list[_Job]] = {}
        for job in jobs:
            by_channel.setdefault(job.channel, []).append(job)
        for channel_name, channel_jobs in by_channel.items():
            channel = self.senders[channel_name]
            step = self.limiter.block(channel_name) or len(channel_jobs)
            if not channel.exactly_once:
                step = min(step, self.network_chunk)
            for start in range(0, len(channel_jobs), step):
                chunk = channel_jobs[start : start + step]
                self.limiter.acquire(channel_name, len(chunk))
                if channel.exactly_once:
                    self._deliver_in_transaction(chunk)
                else:
                    self._deliver_over_network(cast(NetworkChannel, channel), chunk)  # not exactly_once

    def _prepare(self, rows: Claimed) -> list[_Job]:
        """Route and render the claimed reminders; record at once the ones that cannot go anywhere."""
        now = self.clock()
        employee_ids = {row.employee_id for row in rows}
        with Session(self.db) as session:
            employees = {
                e.id: e for e in session.execute(select(Employee).where(col(Employee.id).in_(employee_ids))).scalars()
            }
            phones = {e.phone for e in employees.values() if e.phone}
            conversations: dict[str, list[Conversation]] = {}
            for conversation in session.execute(
                select(Conversation).where(col(Conversation.verified_phone).in_(phones))
            ).scalars():
                conversations.setdefault(conversation.verified_phone, []).append(conversation)
            mandatory = {c.id: c.audience.pending_mandatory for c in self.campaigns.values()}
            courses_all = pending_courses(session, employee_ids, mandatory_only=False)
            courses_mandatory = pending_courses(session, employee_ids, mandatory_only=True)
        jobs, skips = [], []
        for row in rows:
            campaign = self.campaigns[row.campaign]
            employee = employees[row.employee_id]
            linked = conversations.get(employee.phone, []) if employee.phone else []
            if any(conversation.reminders_opted_out for conversation in linked):
                skips.append((row.id, "opted_out"))
                continue
            courses = (courses_mandatory if mandatory[campaign.id] else courses_all)[employee.id]
            if campaign.audience.pending_mandatory and not courses:
                skips.append((row.id, "nothing_pending"))
                continue
            route = self._route(employee, linked)
            if route is None:
                skips.append((row.id, "no_channel"))
                continue
            channel_name, conversation = route
            lang = (conversation.lang if conversation else None) or employee.preferred_lang or self.default_language
            lang = lang if lang in ("en", "hi") else self.default_language
            today = now.astimezone(self._window(campaign)[1]).date()
            rendered = render(self.texts, campaign, lang, name=employee.name, courses=courses, today=today)
            message = ReminderMessage(
                reminder_id=row.id, campaign=campaign.id, channel=channel_name,
                user_key=conversation.user_key if conversation else employee.phone, lang=lang, text=rendered.text,
                conversation_id=conversation.id if conversation else None,
                last_inbound_at=conversation.last_inbound_at if conversation else None,
                template_sids={lang: sid for lang, sid in campaign.whatsapp_template.content_sid.items()},
                template_variables=rendered.template_variables,
            )  # fmt: skip
            jobs.append(_Job(row.id, employee.id, employee.phone, channel_name, message))
        if skips:
            self._skip(skips)
        return jobs

    def _route(self, employee: Employee, linked: list[Conversation]) -> tuple[str, Conversation | None] | None:
        """The channel the employee used last among those linked to their phone; else the first channel
        that can reach a phone by itself (WhatsApp, the console queue); else none."""
        usable = [conversation for conversation in linked if conversation.channel in self.senders]
        if usable:
            latest = max(usable, key=lambda c: (c.last_inbound_at or c.updated_at, c.id))
            return latest.channel, latest
        if not employee.phone:
            return None
        for name, channel in self.senders.items():
            if channel.by_phone:
                if channel.creates_conversation:
                    return name, self._conversation_for(name, employee.phone)
                return name, None
        return None

    def _conversation_for(self, channel: str, phone: str) -> Conversation:
        """The employee's conversation on a phone-addressed channel, made if missing (their key is the phone)."""
        query = select(Conversation).where(col(Conversation.channel) == channel, col(Conversation.user_key) == phone)
        for _ in range(2):
            try:
                with Session(self.db, expire_on_commit=False) as session:
                    conversation = session.execute(query).scalars().first()
                    if conversation is None:
                        conversation = Conversation(channel=channel, user_key=phone, verified_phone=phone)
                        session.add(conversation)
                        session.commit()
                    return conversation
            except IntegrityError:
                continue  # the user started a chat at this moment: theirs is used
        raise RuntimeError(f"cannot make a {channel} conversation for {phone}")

    def _skip(self, skips: list[tuple[int, str]]) -> None:
        now = self.clock()
        with self.db.begin() as connection:
            for reminder_id, reason in skips:
                changed = connection.execute(
                    update(Reminder).where(R.id == reminder_id, R.claimed_by == self.token)
                    .values(status=SKIPPED, skip_reason=reason, finished_at=now, claimed_by=None)
                ).rowcount  # fmt: skip
                if changed:
                    field_name = "skipped_" + reason
                    setattr(self.summary, field_name, getattr(self.summary, field_name) + 1)
                else:
                    self.summary.taken_over += 1

    def _opted_out(self, connection: Connection, phone: str | None) -> bool:
        if not phone:
            return False
        return (
            connection.execute(
                select(col(Conversation.id))
                .where(col(Conversation.verified_phone) == phone, col(Conversation.reminders_opted_out).is_(True))
                .limit(1)
            ).first()
            is not None
        )

    # Delivering ---------------------------------------------------------------------------

    def _deliver_in_transaction(self, chunk: list[_Job]) -> None:
        """The console: the outbox row and the `sent` mark in one transaction, exactly once."""
        now = self.clock()
        if self.before_send:
            for job in chunk:
                self.before_send(job)
        with self.db.begin() as connection:
            shown_later = []  # the console remembers a reminder when it shows it; its language is noted now
            for job in chunk:
                fenced = connection.execute(
                    update(Reminder)
                    .where(R.id == job.reminder_id, R.claimed_by == self.token, R.status.in_((PLANNED, SENDING)))
                    .values(status=SENDING, attempts=R.attempts + 1, channel=job.channel, lang=job.message.lang)
                ).rowcount  # fmt: skip
                if not fenced:
                    self.summary.taken_over += 1
                    continue
                if self._opted_out(connection, job.phone):
                    self._finish(connection, job, SKIPPED, skip_reason="opted_out")
                    self.summary.skipped_opted_out += 1
                    continue
                outbox_id = connection.execute(
                    OutboxMessage.__table__.insert().values(
                        conversation_id=job.message.conversation_id, kind="reminder", text=job.message.text, options=[],
                        created_at=now, attempts=0,
                    ).returning(OutboxMessage.__table__.c.id)
                ).scalar_one()  # fmt: skip
                self._finish(connection, job, SENT, outbox_id=outbox_id, sent_at=now)
                shown_later.append((job.message.conversation_id, job.message.lang, None))
                self._count_sent(job.channel)
            note_sent(connection, shown_later)

    def _deliver_over_network(self, channel: NetworkChannel, chunk: list[_Job]) -> None:
        """Mark the chunk `sending` (after a last opt-out check), call the provider for each, then record
        the outcomes in one transaction. A crash in between re-sends at most this chunk (`network_chunk`)."""
        if self.before_send:
            for job in chunk:
                self.before_send(job)
        now = self.clock()
        ids = [job.reminder_id for job in chunk]
        with self.db.begin() as connection:
            fenced: dict[int, int] = dict(connection.execute(
                update(Reminder).where(R.id.in_(ids), R.claimed_by == self.token, R.status.in_((PLANNED, SENDING)))
                .values(status=SENDING, attempts=R.attempts + 1, claimed_at=now, channel=chunk[0].channel)
                .returning(R.id, R.attempts)
            ).all())  # fmt: skip
            phones = {job.phone for job in chunk if job.phone and job.reminder_id in fenced}
            stopped = set(connection.execute(
                select(col(Conversation.verified_phone)).where(col(Conversation.verified_phone).in_(phones),
                                                               col(Conversation.reminders_opted_out).is_(True))
            ).scalars()) if phones else set()  # fmt: skip
            go = []
            for job in chunk:
                if job.reminder_id not in fenced:
                    self.summary.taken_over += 1
                elif job.phone in stopped:
                    self._finish(connection, job, SKIPPED, skip_reason="opted_out")
                    self.summary.skipped_opted_out += 1
                else:
                    go.append(job)
        if not go:
            return
        if self.workers > 1 and len(go) > 1:
            with ThreadPoolExecutor(min(self.workers, len(go))) as pool:
                outcomes = list(pool.map(lambda job: self._call(channel, job), go))
        else:
            outcomes = [self._call(channel, job) for job in go]
        now = self.clock()
        sent = []
        with self.db.begin() as connection:
            for job, (provider_id, error) in zip(go, outcomes, strict=True):
                if isinstance(error, PermanentError):
                    logger.warning("reminder %s on %s failed for good: %s", job.reminder_id, job.channel, error)
                    self._finish(connection, job, FAILED, last_error=str(error)[:300])
                    self.summary.failed += 1
                elif error is not None:
                    self._retry_later(connection, job, fenced[job.reminder_id], error)
                else:
                    sent.append((job, provider_id))
            outbox = [(job, provider_id) for job, provider_id in sent if job.message.conversation_id is not None]
            outbox_ids: dict[int, int] = {}
            if outbox:  # delivered/read arrive through the outbox row (status callbacks)
                rows = connection.execute(
                    OutboxMessage.__table__.insert()
                    .returning(OutboxMessage.__table__.c.id, sort_by_parameter_order=True),
                    [{"conversation_id": job.message.conversation_id, "kind": "reminder", "text": job.message.text,
                      "options": [], "created_at": now, "claimed_at": now, "delivered_at": now, "attempts": 1,
                      "provider_message_id": provider_id, "delivery_status": "sent", "ticket_id": None,
                      "last_error": None, "failed_at": None}
                     for job, provider_id in outbox],
                ).scalars().all()  # fmt: skip
                outbox_ids = {job.reminder_id: outbox_id for (job, _), outbox_id in zip(outbox, rows, strict=True)}
                note_sent(connection, [(job.message.conversation_id, job.message.lang, job.message.text)
                                       for job, _ in outbox])  # fmt: skip
            if sent:
                connection.execute(
                    update(Reminder).where(R.id == bindparam("rid"), R.claimed_by == self.token).values(
                        status=SENT, finished_at=now, sent_at=now, claimed_by=None, deferred_until=None,
                        outbox_id=bindparam("oid"), provider_message_id=bindparam("pid"), lang=bindparam("lg"),
                    ),
                    [{"rid": job.reminder_id, "oid": outbox_ids.get(job.reminder_id), "pid": provider_id,
                      "lg": job.message.lang}
                     for job, provider_id in sent],
                )  # fmt: skip
        for job, _ in sent:
            self._count_sent(job.channel)

    @staticmethod
    def _call(channel: NetworkChannel, job: _Job) -> tuple[str | None, Exception | None]:
        try:
            return channel.deliver(job.message), None
        except PermanentError as error:
            return None, error
        except Exception as error:
            if not isinstance(error, TransientError):
                logger.exception("reminder %s on %s: unexpected error", job.reminder_id, job.channel)
            return None, error

    def _retry_later(self, connection: Connection, job: _Job, attempts: int, error: Exception) -> None:
        now = self.clock()
        text = f"{type(error).__name__}: {error}"[:300]
        if attempts >= MAX_ATTEMPTS:
            self._finish(connection, job, FAILED, last_error=f"gave up after {attempts} attempts: {text}"[:300])
            self.summary.failed += 1
            return
        wait = min(BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        connection.execute(
            update(Reminder).where(R.id == job.reminder_id, R.claimed_by == self.token)
            .values(status=PLANNED, claimed_by=None, claimed_at=None, next_attempt_at=now + wait, last_error=text)
        )  # fmt: skip
        logger.info("reminder %s on %s: %s; retry in %s", job.reminder_id, job.channel, text, wait)
        self.summary.retrying += 1

    def _finish(self, connection: Connection, job: _Job, status: str, **values: object) -> None:
        connection.execute(
            update(Reminder).where(R.id == job.reminder_id, R.claimed_by == self.token)
            .values(status=status, finished_at=self.clock(), claimed_by=None, deferred_until=None, **values)
        )  # fmt: skip

    def _count_sent(self, channel: str) -> None:
        self.summary.sent += 1
        self.summary.by_channel[channel] = self.summary.by_channel.get(channel, 0) + 1


def send(
    db: Engine,
    *,
    campaigns: list[Campaign],
    senders: dict[str, Channel],
    texts: Texts,
    now: datetime | Callable[[], datetime] | None = None,
    rate_limits: dict[str, float | None] | None = None,
    timezone: str = "Asia/Kolkata",
    send_window: str = "09:00-19:00",
    default_language: str = "hi",
    progress: bool = True,
    **options: Any,
) -> SendSummary:
    """Send every due reminder on each employee's channel; see the module's docstring for the guarantees."""
    sender = ReminderSender(
        db, campaigns=campaigns, senders=senders, texts=texts, rate_limits=rate_limits, now=now, timezone=timezone,
        send_window=send_window, default_language=default_language, **options,
    )  # fmt: skip
    return sender.run(progress=progress)
