"""The helpdesk staff group on Telegram (`TELEGRAM_STAFF_CHAT_ID`).

Each new ticket is posted once with its summary and a "Claim" button; a staff member answers the
user by replying to that post; `/tickets`, `/claim REF`, `/resolve REF` work the queue; overdue
tickets are announced once. Only registered staff (`helpdesk staff add NAME --telegram-id ID`) may
act; anyone else in the group gets a short refusal. Staff see the user as `user_label` shows them
(name and masked contacts), and phone numbers or emails inside the user's messages are masked too.

Posts and overdue notices are outbox messages to the group (a conversation like any chat): queued
once (a ticket's post is unique in the database, whichever worker queues it), sent and retried by the
outbox; the post's message id is linked to its ticket when it is sent.

Staff-facing texts are English, like the staff CLI. Every staff action runs in one transaction with
the update's receipt, so a webhook retry never replies to a user twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine as DatabaseEngine
from sqlmodel import Session, col, select
from telegram import Bot, ReplyParameters, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.conversations import lock_conversations
from bot.db import dialect_insert, session_scope, write_scope
from bot.delivery.outbox import FOLLOW_UP, Outbox
from bot.logs import mask_pii
from bot.models import ACTIVE_STATUSES, OutboxMessage, Staff, Ticket, TicketMessage, saved_id, utcnow
from bot.receipts import first_delivery
from bot.tickets import service
from bot.tickets.presenting import ticket_summary, user_label
from bot.tickets.staff import staff_by_telegram_id

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
CLAIM_PREFIX = "claim:"
QUEUE_LINES = 30  # /tickets shows the oldest open tickets, this many
RECENT_USER_MESSAGES = 5
EXCERPT_CHARS = 300
POST_LIMIT = 4096
STAFF_LANGUAGE = "en"
REASONS = {
    "asked": "asked for a person",
    "not_helped": "an answer did not help",
    "not_understood": "the bot did not understand",
}
LANGUAGES = {"en": "English", "hi": "Hindi"}


@dataclass(frozen=True)
class Outcome:
    """What a staff action came to: the text for the group, and what changed."""

    text: str
    ref: str | None = None
    post_id: int | None = None
    done: bool = False  # the action changed the ticket
    refused: bool = False  # not registered staff
    duplicate: bool = False  # a repeated update: say nothing


class StaffDesk:
    """The staff group: queues ticket posts and overdue notices, and lets registered staff work tickets."""

    def __init__(
        self,
        *,
        db: DatabaseEngine,
        outbox: Outbox,
        chat_id: int,
        prefix: str = "HD-",
        timezone: str = "Asia/Kolkata",
        now: Callable[[], datetime] = utcnow,
    ):
        self.db = db
        self.outbox = outbox
        self.chat_id = chat_id
        self.prefix = prefix
        self.zone = ZoneInfo(timezone)
        self.now = now

    def handlers(self) -> list[BaseHandler[Update, ContextTypes.DEFAULT_TYPE, None]]:
        """The group's handlers; messages anywhere else never reach them."""
        group = filters.Chat(chat_id=self.chat_id) & filters.UpdateType.MESSAGE
        return [
            CommandHandler("tickets", self.on_tickets, filters=group),
            CommandHandler("claim", self.on_claim, filters=group),
            CommandHandler("resolve", self.on_resolve, filters=group),
            MessageHandler(group & filters.REPLY & filters.TEXT & ~filters.COMMAND, self.on_reply),
        ]

    # Posting and flagging (queued for the outbox) ---------------------------------------------

    async def run(self, *, interval: float = 2.0) -> None:
        """Until cancelled: queue posts for new tickets and notices for newly overdue ones."""
        while True:
            try:
                await asyncio.to_thread(self.queue_posts)
                await asyncio.to_thread(self.queue_follow_ups)
                await asyncio.to_thread(self.queue_overdue)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("staff group: queueing posts failed")
            await asyncio.sleep(interval)

    def queue_posts(self, limit: int = 50) -> int:
        """A post for each active ticket the group has not seen, queued once; how many were queued."""
        with write_scope(self.db) as session:
            group = self._group(session)
            posted = select(OutboxMessage.ticket_id).where(OutboxMessage.kind == "staff_post")
            tickets = session.exec(
                select(Ticket)
                .where(
                    col(Ticket.staff_post_id).is_(None),
                    col(Ticket.status).in_(ACTIVE_STATUSES),
                    col(Ticket.ref).is_not(None),
                    col(Ticket.id).not_in(posted),
                )
                .order_by(col(Ticket.id))
                .limit(limit)
            ).all()
            posts = {ticket.id: post_of(session, ticket, self.zone) for ticket in tickets}
            rows = [
                {
                    "conversation_id": group, "kind": "staff_post", "text": posts[ticket.id][0],
                    "options": [{"key": f"{CLAIM_PREFIX}{ticket.ref}", "label": "Claim"}], "ticket_id": ticket.id,
                    "lang": STAFF_LANGUAGE, "state": "queued", "attempts": 0, "created_at": utcnow(),
                }
                for ticket in tickets
            ]  # fmt: skip
            if not rows:
                return 0
            insert = dialect_insert(session.get_bind())
            once = insert(OutboxMessage).on_conflict_do_nothing(
                index_elements=["ticket_id"], index_where=col(OutboxMessage.kind) == "staff_post"
            )
            queued = session.connection().execute(once.returning(col(OutboxMessage.ticket_id)), rows).scalars().all()
            # The post shows the ticket up to its newest line: the group follows it from there.
            seen = [{"tid": ticket_id, "seen": posts[ticket_id][1]} for ticket_id in queued]
            if seen:
                session.connection().execute(_SEEN_FROM_POST, seen)
            return len(queued)

    def queue_follow_ups(self, limit: int = 100) -> int:
        """What users wrote or sent after their ticket's post, queued as replies to the post, once each
        (of two workers, the one that moves the ticket's mark on queues them); how many were queued."""
        with session_scope(self.db) as session:  # looked for without the write lock: mostly nothing is new
            lines = session.exec(
                select(TicketMessage, Ticket)
                .join(Ticket, col(Ticket.id) == TicketMessage.ticket_id)
                .where(
                    col(Ticket.status).in_(ACTIVE_STATUSES),  # only an active ticket takes the user's messages
                    col(Ticket.staff_seen_line_id).is_not(None),
                    col(TicketMessage.id) > Ticket.staff_seen_line_id,
                    TicketMessage.author == "user",
                    col(TicketMessage.before_ticket).is_(False),
                )
                .order_by(col(TicketMessage.id))
                .limit(limit)
            ).all()
            new: dict[int, tuple[int | None, list[tuple[int, str]]]] = {}
            for line, ticket in lines:
                _, said = new.setdefault(saved_id(ticket), (ticket.staff_seen_line_id, []))
                said.append((saved_id(line), follow_text(ticket, line)))
        if not new:
            return 0
        queued = 0
        with write_scope(self.db) as session:
            group = self._group(session)
            for ticket_id, (seen, said) in new.items():
                moved = session.connection().execute(_SEEN_AFTER, {"tid": ticket_id, "old": seen, "new": said[-1][0]})
                if moved.rowcount != 1:
                    continue  # another worker queued these
                for line_id, text in said:
                    session.add(
                        OutboxMessage(
                            conversation_id=group, kind=FOLLOW_UP, text=text, ticket_id=ticket_id,
                            ticket_message_id=line_id, lang=STAFF_LANGUAGE,
                        )
                    )  # fmt: skip
                    queued += 1
        return queued

    def queue_overdue(self) -> int:
        """A notice, once, for each active ticket that passed its SLA; how many were queued."""
        with write_scope(self.db) as session:
            due = service.flag_overdue(session, now=self.now())
            if not due:
                return 0
            group = self._group(session)
            for ticket in due:
                session.add(
                    OutboxMessage(
                        conversation_id=group, kind="sla_notice", text=overdue_text(session, ticket, self.zone),
                        ticket_id=ticket.id, lang=STAFF_LANGUAGE,
                    )
                )  # fmt: skip
            return len(due)

    def _group(self, session: Session) -> int:
        """The staff group's conversation id (the group is a chat like any other for the outbox)."""
        key = (CHANNEL, str(self.chat_id))
        conversation = lock_conversations(session, [key])[key]
        assert conversation.id is not None
        return conversation.id

    # Handlers ------------------------------------------------------------------------------

    async def on_tickets(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/tickets: the open queue, oldest first."""
        outcome = await asyncio.to_thread(self._queue, update)
        await self._say(update, outcome)

    async def on_claim(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/claim HD-000123 (or /claim as a reply to a ticket's post): the ticket is yours."""
        await self._command(update, context, "claim")

    async def on_resolve(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/resolve HD-000123 (or as a reply to the post): solved; the user is asked for a rating."""
        await self._command(update, context, "resolve")

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply to a ticket's post: relayed to the user in their language frame."""
        message = update.effective_message
        assert message is not None  # the handler's filter admits messages only
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
            return  # staff talking among themselves
        outcome = await asyncio.to_thread(
            self._act, update, "reply", post_id=replied.message_id, text=message.text or ""
        )
        await self._say(update, outcome)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The "Claim" button under a ticket's post."""
        query = update.callback_query
        assert query is not None  # a CallbackQueryHandler's update
        data = query.data or ""
        if not data.startswith(CLAIM_PREFIX):
            await self._quietly(query.answer())
            return
        outcome = await asyncio.to_thread(self._act, update, "claim", ref=data.removeprefix(CLAIM_PREFIX))
        if outcome.duplicate:
            await self._quietly(query.answer())
            return
        await self._quietly(query.answer(outcome.text[:200], show_alert=not outcome.done))
        if outcome.done:
            await self._announce(context.bot, outcome)

    async def _command(self, update: Update, context: ContextTypes.DEFAULT_TYPE, action: str) -> None:
        message = update.effective_message
        assert message is not None  # the handlers' filters admit messages only
        replied = message.reply_to_message
        args = list(context.args or [])
        # `/resolve HD-000123 duplicate`, or `/resolve duplicate` as a reply to the ticket's post.
        reason = args.pop() if action == "resolve" and args and args[-1] in service.RESOLVE_REASONS else ""
        ref = args[0] if args else None
        post_id = replied.message_id if ref is None and replied is not None else None
        outcome = await asyncio.to_thread(self._act, update, action, ref=ref, post_id=post_id, text=reason)
        await self._say(update, outcome)

    async def _say(self, update: Update, outcome: Outcome) -> None:
        """The outcome in the group, under the staff member's message; the Claim button retired."""
        if outcome.duplicate:
            return
        assert update.effective_message is not None  # a command or a reply in the group
        await self._quietly(update.effective_message.reply_text(outcome.text))
        if outcome.done and outcome.post_id:
            await self._retire_button(update.get_bot(), outcome.post_id)

    async def _announce(self, bot: Bot, outcome: Outcome) -> None:
        """After a button press: the outcome under the ticket's post, and its button removed."""
        await self._quietly(
            bot.send_message(chat_id=self.chat_id, text=outcome.text, reply_parameters=_under(outcome.post_id))
        )
        if outcome.post_id:
            await self._retire_button(bot, outcome.post_id)

    async def _retire_button(self, bot: Bot, post_id: int) -> None:
        await self._quietly(bot.edit_message_reply_markup(chat_id=self.chat_id, message_id=post_id, reply_markup=None))

    @staticmethod
    async def _quietly(call: Awaitable[object]) -> object:
        """A cosmetic call (answer, edit, delete): its failure must not undo the work."""
        try:
            return await call
        except TelegramError as error:
            if not (isinstance(error, BadRequest) and "not modified" in error.message.lower()):
                logger.warning("telegram staff group call failed: %s", error)
            return None

    # Database work (in a worker thread) ----------------------------------------------------

    def _act(
        self, update: Update, action: str, *, ref: str | None = None, post_id: int | None = None, text: str = ""
    ) -> Outcome:
        """One staff action in one transaction with the update's receipt; refused unless staff."""
        sender = update.effective_user
        with session_scope(self.db) as session:
            if not first_delivery(session, channel=CHANNEL, external_id=external_id(update)):
                return Outcome("", duplicate=True)
            member = staff_by_telegram_id(session, telegram_user_id=sender.id) if sender else None
            if member is None:
                return refusal(sender.id if sender else None)
            ticket_ref = self._ref(session, ref, post_id)
            if ticket_ref is None:
                return Outcome(USAGE[action].format(example=f"{self.prefix}000123"))
            try:
                with session.begin_nested():
                    if action == "claim" and service.get_ticket(session, ref=ticket_ref).assignee_id == member.id:
                        # A second tap changes nothing: the group heard "claimed by" once already.
                        return Outcome(f"{ticket_ref} is already yours.", ref=ticket_ref)
                    ticket = _ACTIONS[action](session, ref=ticket_ref, staff=member, text=text)
            except service.TicketError as error:
                return Outcome(f"{error}.", ref=ticket_ref)
            done = DONE_WITH_REASON if action == "resolve" and text else DONE[action]
            return Outcome(
                done.format(ref=ticket.ref, name=member.name, reason=text.replace("_", " ")),
                ticket.ref,
                ticket.staff_post_id,
                done=True,
            )

    def _ref(self, session: Session, ref: str | None, post_id: int | None) -> str | None:
        """The ticket meant: named (`HD-000123`, `123`) or the one whose post was replied to."""
        if ref:
            ref = ref.strip().upper()
            return f"{self.prefix}{int(ref):06d}" if ref.isdigit() else ref
        if post_id is not None:
            return session.exec(select(Ticket.ref).where(Ticket.staff_post_id == post_id)).first()
        return None

    def _queue(self, update: Update) -> Outcome:
        with session_scope(self.db) as session:
            if not first_delivery(session, channel=CHANNEL, external_id=external_id(update)):
                return Outcome("", duplicate=True)
            sender = update.effective_user
            if sender is None or staff_by_telegram_id(session, telegram_user_id=sender.id) is None:
                return refusal(sender.id if sender else None)
            return Outcome(queue_text(session, self.zone))


# Texts and pure helpers --------------------------------------------------------------------


USAGE = {
    "claim": "Which ticket? Send /claim {example}, or send /claim as a reply to the ticket's post.",
    "resolve": "Which ticket? Send /resolve {example} (add duplicate, user_unreachable or solved_elsewhere "
    "if no reply reached the user), or send /resolve as a reply to the ticket's post.",
    "reply": "To answer a user, reply to the ticket's post (the message with the Claim button).",
}
DONE = {
    "claim": "{ref} claimed by {name}.",
    "resolve": "{ref} resolved by {name}; the user is asked to rate the help.",
    "reply": "Reply to {ref} by {name} sent to the user.",
}
DONE_WITH_REASON = "{ref} resolved by {name} ({reason}); no rating is asked."


def _reply(session: Session, *, ref: str, staff: Staff, text: str) -> Ticket:
    return service.reply(session, ref=ref, staff=staff, text=text)


def _claim(session: Session, *, ref: str, staff: Staff, text: str) -> Ticket:
    return service.claim(session, ref=ref, staff=staff)


def _resolve(session: Session, *, ref: str, staff: Staff, text: str) -> Ticket:
    return service.resolve(session, ref=ref, staff=staff, reason=text or None)


_ACTIONS = {"claim": _claim, "resolve": _resolve, "reply": _reply}


def refusal(telegram_user_id: int | None) -> Outcome:
    """What anyone who is not registered staff hears, with what an administrator needs to register them."""
    hint = (
        f" Your Telegram id is {telegram_user_id}; an administrator can register it with "
        f"`helpdesk staff add NAME --telegram-id {telegram_user_id}`."
        if telegram_user_id is not None
        else ""
    )
    return Outcome(f"Sorry, only registered helpdesk staff can work on tickets here.{hint}", refused=True)


def external_id(update: Update) -> str:
    """The update's receipt key: the bot's id and the update id (ids restart with a new bot)."""
    bot = update.get_bot()
    return f"{bot.id}:{update.update_id}"


def _under(post_id: int | None) -> ReplyParameters | None:
    return ReplyParameters(message_id=post_id, allow_sending_without_reply=True) if post_id else None


def _stamp(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _excerpt(text: str, attachment_kind: str | None) -> str:
    text = mask_pii(" ".join(text.split()))
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    if attachment_kind:
        text = f"[{attachment_kind}] {text}".strip()
    return text


def post_of(session: Session, ticket: Ticket, zone: ZoneInfo) -> tuple[str, int | None]:
    """A ticket's post, and the newest transcript line it was written from (the group has seen up to it)."""
    lines = service.transcript(session, ticket=ticket)
    return _post_text(session, ticket, zone, lines), max((saved_id(line) for line in lines), default=None)


def post_text(session: Session, ticket: Ticket, zone: ZoneInfo) -> str:
    """A ticket's post for the staff group: what it is about, who asked (masked), what they said."""
    return _post_text(session, ticket, zone, service.transcript(session, ticket=ticket))


def _post_text(session: Session, ticket: Ticket, zone: ZoneInfo, transcript: list[TicketMessage]) -> str:
    lines = [
        f"New ticket {ticket.ref}",
        f"Category: {ticket.category}",
        (
            f"Language: {LANGUAGES.get(ticket.lang, ticket.lang)} · Channel: {ticket.channel} · "
            f"Opened because: {REASONS.get(ticket.reason, ticket.reason)}"
        ),
        f"User: {user_label(session, ticket)}",
        f"Answer due: {_stamp(ticket.sla_due_at, zone)}",
    ]
    said = [line for line in transcript if line.author == "user"]
    said = [line for line in said if line.text or line.attachment_kind][-RECENT_USER_MESSAGES:]
    if said:
        lines += ["", "Last messages from the user:"]
        lines += [f"• {_excerpt(line.text, line.attachment_kind)}" for line in said]
    lines += ["", "Reply to this message to answer the user, or tap Claim."]
    return "\n".join(lines)[:POST_LIMIT]


def follow_text(ticket: Ticket, line: TicketMessage) -> str:
    """What the user wrote or sent after the post, under it: the ticket's reference first, so that it
    stands alone when the post is gone (or was not sent yet)."""
    return f"{ticket.ref} · the user wrote: {_excerpt(line.text, line.attachment_kind)}"[:POST_LIMIT]


def overdue_text(session: Session, ticket: Ticket, zone: ZoneInfo) -> str:
    summary = ticket_summary(session, ticket)
    owner = summary["assignee"] or "nobody yet"
    return (
        f"Overdue: {ticket.ref} ({ticket.category}) was due {_stamp(ticket.sla_due_at, zone)}. "
        f"Status: {ticket.status}; claimed by {owner}."
    )


def queue_text(session: Session, zone: ZoneInfo) -> str:
    """The open queue in a few lines, oldest first."""
    active = col(Ticket.status).in_(ACTIVE_STATUSES)
    tickets = session.exec(select(Ticket).where(active).order_by(col(Ticket.id)).limit(QUEUE_LINES)).all()
    if not tickets:
        return "No open tickets."
    total = len(session.exec(select(Ticket.id).where(active)).all())
    lines = [f"Open tickets: {total}"]
    for ticket in tickets:
        summary = ticket_summary(session, ticket)
        late = " · OVERDUE" if summary["overdue"] else ""
        owner = summary["assignee"] or "unclaimed"
        lines.append(
            f"{ticket.ref} · {ticket.status} · {ticket.category} · {ticket.lang} · {ticket.channel} · "
            f"due {_stamp(ticket.sla_due_at, zone)}{late} · {owner}"
        )
    if total > len(tickets):
        lines.append(f"… and {total - len(tickets)} more (see the web console).")
    return "\n".join(lines)[:POST_LIMIT]


_TICKET = Ticket.__table__.c
_SEEN_FROM_POST = update(Ticket).where(_TICKET.id == bindparam("tid")).values(staff_seen_line_id=bindparam("seen"))
_SEEN_AFTER = (
    update(Ticket)
    .where(_TICKET.id == bindparam("tid"), _TICKET.staff_seen_line_id == bindparam("old"))
    .values(staff_seen_line_id=bindparam("new"))
)
