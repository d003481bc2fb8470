"""The outbox queue: claim with a lease, finish fenced by the lease's owner, on SQLite and PostgreSQL.

A claim is one statement: `UPDATE … SET state = 'sending', lease_owner = me … WHERE id IN (SELECT …
LIMIT n) RETURNING id`, with `FOR UPDATE SKIP LOCKED` inside on PostgreSQL and SQLite's single
writer (`write_scope`: BEGIN IMMEDIATE) around it, so two senders never hold the same message.
Every finish is fenced by `lease_owner`: a sender whose lease was taken over records nothing.
A message waits behind an unfinished earlier message to the same user, so a user's messages keep
their order through retries.

A sender that dies leaves its messages `sending`; they are claimed again when the lease runs out,
or at once when `recover` proves the holder dead (same host, process gone). Whatever the dead
sender had handed to the provider without recording it goes out once more: at most one duplicate
per message of its last chunk (`worker.CHUNK`), never a loss.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, exists, func, select, union_all, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session, col

from bot import metrics, preferences
from bot.config import Settings
from bot.db import ids_by_value, session_scope, write_scope
from bot.delivery.items import Failed, Held, NotTried, Outcome, Outgoing, Sent
from bot.delivery.lease import Owner, this_process
from bot.delivery.retry import RetryPolicy
from bot.delivery.states import (
    CANCELLED,
    FAILED,
    HELD,
    QUEUED,
    READ,
    SENDING,
    SENT,
    UNFINISHED,
    WAITING,
    replaceable_by,
)
from bot.dialogue.engine import pending_for, remember
from bot.dialogue.tickets import TicketReplies
from bot.i18n import Texts
from bot.messages import Option, Reply
from bot.models import Conversation, OutboxMessage, Reminder, ReminderStatus, Ticket, TicketMessage, utcnow

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far longer than a round of sends (a provider call times out in 15 s)
HOLD = timedelta(days=7)  # a held WhatsApp message waits this long for the user to write back
USER_FACING = frozenset({"staff_reply", "rating_request", "bot_reply", "reminder"})
OPT_OUT_KINDS = frozenset({"reminder"})  # what "STOP" stops; a staff answer always goes
FOLLOW_UP = "staff_follow"  # what a user wrote after their ticket's post, for the staff group
UNDER_THE_POST = frozenset({"sla_notice", FOLLOW_UP})  # sent as replies to the ticket's post
NEVER_WROTE_BACK = "outside the WhatsApp window: the user did not write back within 7 days"

MSG = OutboxMessage.__table__.c
CONV = Conversation.__table__.c
TICKET = Ticket.__table__.c
LINE = TicketMessage.__table__.c
REM = Reminder.__table__.c


@dataclass
class _Chat:
    """What a delivered message changes in its conversation."""

    recent: list[dict[str, Any]]
    pending: dict[str, Any] | None
    lang: str | None
    lang_chosen: bool


@dataclass
class Recorded:
    """What `finish` recorded, by what became of each message."""

    sent: list[Outgoing] = field(default_factory=list)
    held: list[Outgoing] = field(default_factory=list)
    retrying: list[Outgoing] = field(default_factory=list)
    failed: list[Outgoing] = field(default_factory=list)
    released: list[Outgoing] = field(default_factory=list)
    taken_over: list[Outgoing] = field(default_factory=list)  # our lease was gone: another sender has it


@dataclass(frozen=True)
class Recovery:
    """Messages found `sending` under another sender's lease when a sender starts."""

    taken_over: dict[str, int]  # dead holder -> messages claimable again at once
    waiting: dict[str, tuple[int, datetime]]  # live or unknown holder -> messages, lease end


class Outbox:
    """One process's handle on the queue: its lease identity, clock and retry policy."""

    def __init__(
        self,
        db: Engine,
        texts: Texts,
        *,
        default_language: str = "hi",
        lease: timedelta = LEASE,
        retry: RetryPolicy | None = None,
        owner: Owner | None = None,
        clock: Any = utcnow,
    ):
        self.db = db
        self.replies = TicketReplies(texts)
        self.default_language = default_language
        self.lease = lease
        self.retry = retry or RetryPolicy()
        self.owner = owner or this_process()
        self.clock = clock
        self.cancelled = 0  # reminders this process cancelled because their person opted out (for reports)
        self._postgres = db.dialect.name == "postgresql"

    # Claiming ---------------------------------------------------------------------------------

    def claim(self, channel: str, *, limit: int = 50, kinds: Sequence[str] | None = None) -> list[Outgoing]:
        """Up to `limit` due messages on the channel, leased to this sender, oldest first."""
        now = self.clock()
        any_due, chosen = _claim_statements(self._postgres, by_kind=kinds is not None)
        bound = {"channel": channel, "now": now, "limit": limit} | ({"kinds": list(kinds)} if kinds is not None else {})
        with self.db.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if not connection.execute(any_due, bound).scalar_one():  # an idle sender takes no write lock
                return []
        with write_scope(self.db) as session:
            ids = self._lease(session, chosen, now, bound)
            return self._prepared(session, ids, now, cancellable=set(ids))

    def take_for(self, channel: str, user_keys: Iterable[str]) -> list[Outgoing]:
        """Everything waiting for these users (held or queued, retry time or not), leased to this sender:
        they just wrote, so it can ride along in the reply (WhatsApp's TwiML) before `finish`."""
        keys = sorted(set(user_keys))
        if not keys:
            return []
        now = self.clock()
        users = select(CONV.id).where(CONV.channel == channel, CONV.user_key.in_(keys))
        chosen = select(MSG.id).where(MSG.conversation_id.in_(users), MSG.state.in_(WAITING), ~_sending_before())
        with write_scope(self.db) as session:
            ids = self._lease(session, self._locked(chosen.order_by(MSG.id)), now)
            return self._prepared(session, ids, now, cancellable=set(ids))

    def show(self, channel: str, user_key: str) -> list[Reply]:
        """For a channel that shows messages itself (the console): whatever waits for the user, marked
        read in the same transaction, so it is shown exactly once."""
        now = self.clock()
        user = select(CONV.id).where(CONV.channel == channel, CONV.user_key == user_key)
        chosen = (
            select(MSG.id, MSG.state)
            .where(MSG.conversation_id.in_(user), MSG.state.in_((*WAITING, SENT)), ~_sending_before())
            .order_by(MSG.id)
        )
        with write_scope(self.db) as session:
            found = session.connection().execute(self._locked(chosen)).all()
            unsent = {row.id for row in found if row.state != SENT}
            items = self._prepared(session, [row.id for row in found], now, cancellable=unsent)
            if not items:
                return []
            session.connection().execute(
                update(OutboxMessage)
                .where(MSG.id.in_([item.outbox_id for item in items]))
                .values(state=READ, sent_at=func.coalesce(MSG.sent_at, now), lease_owner=None, lease_until=None)
            )
            self._after_sent(session, [(item, None) for item in items if item.outbox_id in unsent], now)
        return [item.reply for item in items]

    def _locked(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(of=OutboxMessage.__table__, skip_locked=True) if self._postgres else query

    def _locked_chats(self, query: Select[Any]) -> Select[Any]:
        """Conversations locked against the engine's concurrent turn (SQLite: its single writer does it)."""
        return query.with_for_update() if self._postgres else query

    def _lease(
        self, session: Session, chosen: Select[Any], now: datetime, bound: dict[str, Any] | None = None
    ) -> list[int]:
        statement = (
            update(OutboxMessage)
            .where(MSG.id.in_(chosen.scalar_subquery()))
            .values(
                state=SENDING, lease_owner=str(self.owner), lease_until=now + self.lease,
                attempts=MSG.attempts + 1, next_attempt_at=None,
            )
            .returning(MSG.id)
        )  # fmt: skip
        return sorted(session.connection().execute(statement, bound or {}).scalars())

    def _prepared(self, session: Session, ids: list[int], now: datetime, *, cancellable: set[int]) -> list[Outgoing]:
        """The messages rendered for their users; reminders whose person said STOP meanwhile are cancelled."""
        if not ids:
            return []
        connection = session.connection()
        rows = [_Loaded(*row) for row in connection.execute(_LOAD, {"ids": ids})]
        stopped = self._cancel_opted_out(connection, [row for row in rows if row.id in cancellable], now)
        tickets = _tickets(connection, {row.ticket_id for row in rows if row.ticket_id is not None})
        chats = list({row.conversation_id for row in rows})
        announced = set(connection.execute(_ANNOUNCED, {"chats": chats}).scalars())
        photos = _photos(connection, [row.ticket_message_id for row in rows if row.kind == FOLLOW_UP])
        items = []
        for row in rows:
            if row.id in stopped:
                continue
            ref, post = tickets.get(row.ticket_id, (None, None))
            lang = row.lang or row.user_lang or self.default_language
            options = tuple(Option(option["key"], option["label"]) for option in row.options)
            # Text written when it was queued (reminders, posts) goes as it is; staff answers and rating
            # requests are framed now, in the user's language of the moment.
            reply = (
                Reply(row.text, options) if row.lang else self.replies.notice(lang, row.kind, row.text, options, ref)
            )
            items.append(
                Outgoing(
                    outbox_id=row.id, conversation_id=row.conversation_id, channel=row.channel,
                    user_key=row.user_key, kind=row.kind, lang=lang, reply=reply, attempts=row.attempts,
                    created_at=row.created_at, last_inbound_at=row.last_inbound_at, ticket_id=row.ticket_id,
                    reminder_id=row.reminder_id, ticket_ref=ref, template=row.template,
                    reply_to=post if row.kind in UNDER_THE_POST else None, announced=row.conversation_id in announced,
                    photo=photos.get(row.ticket_message_id),
                )
            )  # fmt: skip
        return items

    def _cancel_opted_out(self, connection: Connection, rows: list[Any], now: datetime) -> set[int]:
        """Cancel the reminders among `rows` whose person (or chat, without a phone) opted out."""
        reminders = [row for row in rows if row.kind in OPT_OUT_KINDS]
        if not reminders:
            return set()
        phones = [row.verified_phone for row in reminders if row.verified_phone]
        stopped_phones = preferences.opted_out_phones(connection, phones)
        stopped = {
            row.id for row in reminders
            if (row.verified_phone in stopped_phones) or (not row.verified_phone and row.reminders_opted_out)
        }  # fmt: skip
        if stopped:
            connection.execute(
                update(OutboxMessage)
                .where(MSG.id.in_(stopped))
                .values(state=CANCELLED, last_error="opted out", failed_at=now, lease_owner=None, lease_until=None)
            )
            cancelled = [row.reminder_id for row in reminders if row.id in stopped]
            connection.execute(
                update(Reminder)
                .where(REM.id.in_(cancelled) | REM.combined_into.in_(cancelled))
                .values(status=ReminderStatus.SKIPPED.value, skip_reason="opted_out", finished_at=now)
            )
            metrics.REMINDERS_SKIPPED.labels("opted_out").inc(len(stopped))
            self.cancelled += len(stopped)
            logger.info("%d reminders cancelled: the person opted out after they were queued", len(stopped))
        return stopped

    # Finishing --------------------------------------------------------------------------------

    def finish(self, results: Sequence[tuple[Outgoing, Outcome]]) -> Recorded:
        """Record what became of claimed messages, in one transaction; only rows this sender still holds."""
        recorded = Recorded()
        if not results:
            return recorded
        now = self.clock()
        with write_scope(self.db) as session:
            connection = session.connection()
            fence = {"ids": [item.outbox_id for item, _ in results], "owner": str(self.owner)}
            mine = set(connection.execute(self._locked(_FENCE), fence).scalars())
            writes: dict[str, list[dict[str, Any]]] = defaultdict(list)
            sent: list[tuple[Outgoing, str | None]] = []
            wrote_since = self._wrote_since(connection, [item for item, done in results if isinstance(done, Held)])
            for item, outcome in results:
                if item.outbox_id not in mine:
                    recorded.taken_over.append(item)
                    continue
                key = {"oid": item.outbox_id}
                if isinstance(outcome, Sent):
                    writes["sent"].append({**key, "pid": outcome.provider_id})
                    sent.append((item, outcome.provider_id))
                    recorded.sent.append(item)
                elif isinstance(outcome, Held):
                    if item.conversation_id in wrote_since:  # the window opened again while we announced
                        writes["released"].append({**key, "at": None})
                        recorded.released.append(item)
                    else:
                        writes["held"].append(key)
                        recorded.held.append(item)
                elif isinstance(outcome, NotTried):
                    writes["released"].append({**key, "at": outcome.until})
                    recorded.released.append(item)
                else:
                    self._failure(item, outcome, now, key, writes, recorded)
            _write_finish(connection, writes, now)
            self._after_sent(session, sent, now)
            self._mirror_failures(connection, recorded.failed, writes["failed"], now)
        self._log(recorded)
        return recorded

    def _failure(
        self,
        item: Outgoing,
        outcome: Failed,
        now: datetime,
        key: dict[str, Any],
        writes: dict[str, list[dict[str, Any]]],
        recorded: Recorded,
    ) -> None:
        reason = outcome.reason[:300]
        if outcome.permanent:
            writes["failed"].append({**key, "err": reason})
            recorded.failed.append(item)
            return
        retry_at = now + self.retry.delay(item.attempts, outcome.retry_after)
        if self.retry.gives_up(item.created_at, retry_at):
            hours = self.retry.horizon.total_seconds() / 3600
            given_up = f"gave up after {item.attempts} attempts in {hours:g} h: {reason}"
            writes["failed"].append({**key, "err": given_up[:300]})
            recorded.failed.append(item)
            return
        writes["retry"].append({**key, "at": retry_at, "err": reason})
        recorded.retrying.append(item)

    def _wrote_since(self, connection: Connection, items: list[Outgoing]) -> set[int]:
        """Conversations whose user wrote after these messages were claimed (their hold is void)."""
        if not items:
            return set()
        claimed = {item.conversation_id: item.last_inbound_at for item in items}
        rows = connection.execute(select(CONV.id, CONV.last_inbound_at).where(CONV.id.in_(list(claimed))))
        return {
            conversation_id for conversation_id, wrote in rows
            if wrote is not None and (claimed[conversation_id] is None or wrote > claimed[conversation_id])
        }  # fmt: skip

    def _after_sent(self, session: Session, sent: list[tuple[Outgoing, str | None]], now: datetime) -> None:
        """What a message's arrival changes: the user can answer its options with a digit, the chat
        remembers it (a reminder with its language), a staff post is linked to its ticket, a reminder
        is sent; and the metrics."""
        if not sent:
            return
        for (channel, lang), count in Counter((item.channel, item.lang) for item, _ in sent).items():
            metrics.MESSAGES_OUT.labels(channel, lang).inc(count)
        connection = session.connection()
        facing = [item for item, _ in sent if item.kind in USER_FACING]
        if facing:
            wanted = {"ids": list({item.conversation_id for item in facing})}
            chats = {
                row.id: _Chat(recent=row.recent, pending=row.pending, lang=row.lang, lang_chosen=row.lang_chosen)
                for row in connection.execute(self._locked_chats(_CHATS), wanted)
            }
            asking = set()  # chats now waiting on an answer to options (the others keep what they wait on)
            for item in facing:
                chat = chats[item.conversation_id]
                if item.reply.options:
                    chat.pending = {**(pending_for([item.reply]) or {}), "ticket": item.ticket_id}
                    asking.add(item.conversation_id)
                if item.kind == "reminder":
                    remember(chat, "bot", item.reply.text, kind=item.kind, lang=item.lang)
                    if not chat.lang_chosen:
                        chat.lang = item.lang  # "ok" in answer to it is answered in its language
                else:
                    remember(chat, "bot", item.reply.text)
            remembering = [{"cid": cid, "rc": chat.recent, "lg": chat.lang} for cid, chat in chats.items()]
            for statement, rows in (
                (_CHAT_REMEMBERS, [row for row in remembering if row["cid"] not in asking]),
                (_CHAT_ASKS, [row | {"pd": chats[row["cid"]].pending} for row in remembering if row["cid"] in asking]),
            ):
                if rows:
                    connection.execute(statement, rows)
        posts = [{"tid": item.ticket_id, "pid": int(pid)} for item, pid in sent if item.kind == "staff_post" and pid]
        if posts:
            connection.execute(_POSTED, posts)
        reminders = [item.reminder_id for item, _ in sent if item.reminder_id is not None]
        if reminders:
            connection.execute(_REMINDERS_SENT, {"ids": reminders, "now": now})

    def _mirror_failures(
        self, connection: Connection, failed: list[Outgoing], parameters: list[dict[str, Any]], now: datetime
    ) -> None:
        for item in failed:
            metrics.OUTBOX_FAILED.labels(item.channel, item.kind).inc()
        reminders = [
            {"rid": item.reminder_id, "err": p["err"], "now": now}
            for item, p in zip(failed, parameters, strict=True)
            if item.reminder_id is not None
        ]
        if reminders:
            connection.execute(_REMINDER_FAILED, reminders)

    def _log(self, recorded: Recorded) -> None:
        for item in recorded.failed:
            logger.warning("outbox message %s (%s on %s) failed for good", item.outbox_id, item.kind, item.channel)
        if recorded.taken_over:
            logger.warning(
                "%d outbox messages were taken over by another sender before this one finished: left to it",
                len(recorded.taken_over),
            )

    # Reports from providers ---------------------------------------------------------------------

    def report(self, channel: str, provider_id: str, state: str, *, error: str | None = None) -> bool:
        """A provider's delivery report, in one conditional UPDATE so racing reports never step back."""
        allowed = replaceable_by(state)
        if not allowed:
            return False
        values: dict[str, Any] = {"state": state}
        if state == FAILED:
            values.update(last_error=(error or "failed")[:300], failed_at=func.coalesce(MSG.failed_at, self.clock()))
        statement = (
            update(OutboxMessage).where(MSG.provider_message_id == provider_id, MSG.state.in_(allowed)).values(**values)
        )
        with session_scope(self.db) as session:
            changed = session.connection().execute(statement).rowcount
        if changed and state == FAILED:
            metrics.OUTBOX_FAILED.labels(channel, "reported").inc()
        return bool(changed)

    def hold_reported(self, provider_id: str) -> bool:
        """The provider said the window had closed after all: the message waits for the user again."""
        statement = (
            update(OutboxMessage)
            .where(MSG.provider_message_id == provider_id, MSG.state.in_(replaceable_by(FAILED)))
            .values(state=HELD, sent_at=None, next_attempt_at=self.clock() + HOLD)
        )
        with session_scope(self.db) as session:
            return bool(session.connection().execute(statement).rowcount)

    def expire_held(self, channel: str) -> int:
        """Held messages whose user never wrote back: failed, with the reason."""
        now = self.clock()
        users = select(CONV.id).where(CONV.channel == channel)
        statement = (
            update(OutboxMessage)
            .where(MSG.state == HELD, MSG.next_attempt_at <= now, MSG.conversation_id.in_(users))
            .values(state=FAILED, failed_at=now, last_error=NEVER_WROTE_BACK)
        )
        with write_scope(self.db) as session:
            expired = session.connection().execute(statement).rowcount
        if expired:
            metrics.OUTBOX_FAILED.labels(channel, "held").inc(expired)
            logger.warning("%d held %s messages failed: %s", expired, channel, NEVER_WROTE_BACK)
        return expired

    # Restart hygiene ----------------------------------------------------------------------------

    def recover(self, *, starting: bool = False) -> Recovery:
        """Messages other senders left `sending`: a provably dead holder's are claimable at once, the
        others when their lease ends. A sender `starting` says what it found (a restart after a crash
        finds its old leases); later calls speak only of dead holders, live ones are normal."""
        now = self.clock()
        with write_scope(self.db) as session:
            connection = session.connection()
            holders = connection.execute(
                select(MSG.lease_owner, func.count(), func.max(MSG.lease_until))
                .where(MSG.state == SENDING, MSG.lease_owner != str(self.owner))
                .group_by(MSG.lease_owner)
            ).all()
            taken: dict[str, int] = {}
            waiting: dict[str, tuple[int, datetime]] = {}
            for holder, count, until in holders:
                owner = Owner.parse(holder or "")
                if owner is not None and owner.provably_dead():
                    connection.execute(
                        update(OutboxMessage)
                        .where(MSG.state == SENDING, MSG.lease_owner == holder)
                        .values(lease_until=now)
                    )
                    taken[holder] = count
                elif until is not None and until > now:
                    waiting[holder] = (count, until)
        for holder, count in taken.items():
            logger.warning("%d outbox messages were being sent by %s, which died: sent again now", count, holder)
        for holder, (count, until) in waiting.items() if starting else ():
            logger.info("%d outbox messages are being sent by %s; taken over at %s if it never finishes",
                        count, holder, until.isoformat(timespec="seconds"))  # fmt: skip
        return Recovery(taken_over=taken, waiting=waiting)

    # Queueing -----------------------------------------------------------------------------------

    def enqueue_replies(self, channel: str, user_key: str, replies: Sequence[Reply]) -> None:
        """Replies a channel could not send at once (network trouble, flood control), for the outbox."""
        with write_scope(self.db) as session:
            conversation = session.scalars(
                select(Conversation).where(col(Conversation.channel) == channel, col(Conversation.user_key) == user_key)
            ).first()
            if conversation is None or conversation.id is None:
                return
            lang = conversation.lang or self.default_language
            for reply in replies:
                session.add(
                    OutboxMessage(
                        conversation_id=conversation.id, kind="bot_reply", text=reply.text, lang=lang,
                        options=[{"key": option.key, "label": option.label} for option in reply.options],
                    )
                )  # fmt: skip


def outbox_for(settings: Settings, db: Engine, texts: Texts) -> Outbox:
    """The process's outbox with the deployment's retry settings."""
    retry = RetryPolicy(
        cap=timedelta(seconds=settings.delivery_retry_max_seconds),
        horizon=timedelta(hours=settings.delivery_retry_hours),
    )
    return Outbox(db, texts, default_language=settings.default_language, retry=retry)


@functools.cache
def _claim_statements(postgres: bool, *, by_kind: bool) -> tuple[Select[Any], Select[Any]]:
    """Whether anything is due, and the due ids to lease: built once (composing a statement costs
    more than running it), bound with the channel, the time, the limit and the kinds.

    On PostgreSQL a user's messages go to one claimer: their conversation row is locked by it and
    skipped by the others (and while the engine is in the middle of a turn for that user)."""
    now: BindParameter[datetime] = bindparam("now", type_=MSG.lease_until.type)
    limit: BindParameter[int] = bindparam("limit", type_=Integer)
    candidates = (
        select(MSG.id)
        .join(Conversation.__table__, CONV.id == MSG.conversation_id)
        .where(CONV.channel == bindparam("channel"), _due(now), ~_behind(now))
    )
    if by_kind:
        candidates = candidates.where(MSG.kind.in_(bindparam("kinds", expanding=True)))
    any_due = select(candidates.exists())
    if not postgres:
        return any_due, _oldest_first(candidates, limit)
    users = (
        select(CONV.id)
        .where(CONV.id.in_(candidates.with_only_columns(MSG.conversation_id).order_by(MSG.id).limit(limit)))
        .with_for_update(skip_locked=True)
    )
    chosen = candidates.where(MSG.conversation_id.in_(users)).order_by(MSG.id).limit(limit)
    return any_due, chosen.with_for_update(of=OutboxMessage.__table__, skip_locked=True)


def _due(now: Any) -> Any:
    """Ready to be claimed: queued and its retry time come, or `sending` under a lease that ran out
    (its sender died or stalled)."""
    return ((MSG.state == QUEUED) & (MSG.next_attempt_at.is_(None) | (MSG.next_attempt_at <= now))) | (
        (MSG.state == SENDING) & (MSG.lease_until <= now)
    )


def _oldest_first(candidates: Select[Any], limit: Any) -> Select[Any]:
    """The oldest `limit` candidates, each due state walked in id order on its own index range.

    One `ORDER BY id` over both states would sort the whole backlog on every claim (SQLite cannot
    merge two index ranges in order); the oldest `limit` of all are among the oldest `limit` of each.
    """
    oldest = [candidates.where(MSG.state == state).order_by(MSG.id).limit(limit).subquery() for state in UNFINISHED]
    both = union_all(*(select(part.c.id) for part in oldest)).subquery()
    return select(both.c.id).order_by(both.c.id).limit(limit)


def _behind(now: Any) -> Any:
    """An earlier message to the same user that is unfinished and cannot go now (a retry time to come,
    another sender's lease): this one waits for it, so a user's messages keep their order."""
    earlier = OutboxMessage.__table__.alias("earlier")
    waiting = ((earlier.c.state == QUEUED) & (earlier.c.next_attempt_at > now)) | (
        (earlier.c.state == SENDING) & (earlier.c.lease_until > now)
    )
    return exists().where(earlier.c.conversation_id == MSG.conversation_id, earlier.c.id < MSG.id, waiting)


def _sending_before() -> Any:
    """An earlier message to the same user is being sent by a sender right now."""
    earlier = OutboxMessage.__table__.alias("earlier")
    return exists().where(
        earlier.c.conversation_id == MSG.conversation_id, earlier.c.id < MSG.id, earlier.c.state == SENDING
    )


def _photos(connection: Connection, line_ids: list[int | None]) -> dict[int | None, str]:
    """Photos users sent on Telegram, by transcript line: the bot may post them again by file id."""
    if not line_ids:
        return {}
    return {row.id: row.attachment_ref for row in connection.execute(_PHOTOS, {"ids": line_ids})}


def _tickets(connection: Connection, ids: set[int]) -> dict[int | None, tuple[str | None, int | None]]:
    if not ids:
        return {}
    return {row.id: (row.ref, row.staff_post_id) for row in connection.execute(_TICKETS, {"ids": list(ids)})}


def _write_finish(connection: Connection, writes: dict[str, list[dict[str, Any]]], now: datetime) -> None:
    """The outcomes. Sent messages one row each, with their provider's id in the same UPDATE (a second
    one would leave PostgreSQL a second row version of every message); the rarer outcomes one UPDATE
    for each set of equal values."""
    for kind, parameters in writes.items():
        if kind == "sent":
            connection.execute(_SENT, [{**p, "now": now} for p in parameters])
            continue
        groups = ids_by_value((p["oid"], tuple((k, v) for k, v in p.items() if k != "oid")) for p in parameters)
        for values, ids in groups.items():
            connection.execute(_FINISH[kind], {**dict(values), "ids": ids, "now": now, "hold": now + HOLD})


def _fenced(**values: Any) -> Any:
    return (
        update(OutboxMessage)
        .where(MSG.id.in_(_IDS), MSG.state == SENDING)
        .values(lease_owner=None, lease_until=None, **values)
    )


# Built once: composing a statement costs more than running it.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)


class _Loaded(NamedTuple):
    """A claimed message with what its user's chat adds, as `_LOAD` reads it (a plain tuple: reading a
    field of a SQLAlchemy row costs twenty times more, and a round reads a dozen fields of each)."""

    id: int
    conversation_id: int
    kind: str
    text: str
    options: list[dict[str, str]]
    ticket_id: int | None
    reminder_id: int | None
    lang: str | None
    template: dict[str, Any] | None
    attempts: int
    created_at: datetime
    ticket_message_id: int | None
    channel: str
    user_key: str
    user_lang: str | None
    last_inbound_at: datetime | None
    verified_phone: str | None
    reminders_opted_out: bool


_FROM_CHAT = {
    "channel": CONV.channel, "user_key": CONV.user_key, "user_lang": CONV.lang.label("user_lang"),
    "last_inbound_at": CONV.last_inbound_at, "verified_phone": CONV.verified_phone,
    "reminders_opted_out": CONV.reminders_opted_out,
}  # fmt: skip
_LOAD = (
    select(*(_FROM_CHAT[name] if name in _FROM_CHAT else MSG[name] for name in _Loaded._fields))
    .join(Conversation.__table__, CONV.id == MSG.conversation_id)
    .where(MSG.id.in_(_IDS))
    .order_by(MSG.id)
)
_ANNOUNCED = select(MSG.conversation_id).where(
    MSG.state == HELD, MSG.conversation_id.in_(bindparam("chats", expanding=True))
)
_TICKETS = select(TICKET.id, TICKET.ref, TICKET.staff_post_id).where(TICKET.id.in_(_IDS))
_PHOTOS = (
    select(LINE.id, LINE.attachment_ref)
    .join(Ticket.__table__, TICKET.id == LINE.ticket_id)
    .where(LINE.id.in_(_IDS), LINE.attachment_kind == "photo", TICKET.channel == "telegram")
)
_FENCE = select(MSG.id).where(MSG.id.in_(_IDS), MSG.lease_owner == bindparam("owner"), MSG.state == SENDING)
_CHATS = select(CONV.id, CONV.recent, CONV.pending, CONV.lang, CONV.lang_chosen).where(CONV.id.in_(_IDS))
# A reminder combined into another's message (one a day per person) follows that message.
_REMINDERS_SENT = (
    update(Reminder)
    .where(REM.id.in_(_IDS) | REM.combined_into.in_(_IDS))
    .values(status=ReminderStatus.SENT.value, finished_at=bindparam("now"))
)
_SENT = (
    update(OutboxMessage)
    .where(MSG.id == bindparam("oid"), MSG.state == SENDING)
    .values(state=SENT, sent_at=bindparam("now"), provider_message_id=bindparam("pid"), last_error=None,
            lease_owner=None, lease_until=None)
)  # fmt: skip
_FINISH = {
    "held": _fenced(state=HELD, next_attempt_at=bindparam("hold")),
    "released": _fenced(state=QUEUED, attempts=MSG.attempts - 1, next_attempt_at=bindparam("at")),
    "retry": _fenced(state=QUEUED, next_attempt_at=bindparam("at"), last_error=bindparam("err")),
    "failed": _fenced(state=FAILED, failed_at=bindparam("now"), last_error=bindparam("err")),
}
_CHAT_REMEMBERS = (
    update(Conversation).where(CONV.id == bindparam("cid")).values(recent=bindparam("rc"), lang=bindparam("lg"))
)
_CHAT_ASKS = _CHAT_REMEMBERS.values(pending=bindparam("pd"))
_POSTED = (
    update(Ticket)
    .where(TICKET.id == bindparam("tid"), TICKET.staff_post_id.is_(None))
    .values(staff_post_id=bindparam("pid"))
)
_REMINDER_FAILED = (
    update(Reminder)
    .where((REM.id == bindparam("rid")) | (REM.combined_into == bindparam("rid")))
    .values(status=ReminderStatus.FAILED.value, last_error=bindparam("err"), finished_at=bindparam("now"))
)
