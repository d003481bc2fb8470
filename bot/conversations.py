"""Per-user conversation state, kept in the database so any worker can serve any user."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlmodel import Session, col, select

from bot.db import dialect_insert
from bot.models import Conversation, utcnow

UserKey = tuple[str, str]  # (channel, user_key)
RECENT_KEPT = 10  # messages both ways a conversation keeps: a ticket carries them to the helpdesk
RECENT_CHARS = 500

# Built once: composing a statement costs more than running it on a warm connection.
_LOCK_ON_CHANNEL = (
    select(Conversation)
    .where(
        Conversation.channel == bindparam("channel"), col(Conversation.user_key).in_(bindparam("keys", expanding=True))
    )
    .order_by(col(Conversation.id))
    .with_for_update()
)


def lock_conversations(session: Session, users: Iterable[UserKey]) -> dict[UserKey, Conversation]:
    """The users' conversation rows, created where missing and locked for this transaction where the
    database can lock rows.

    Rows are locked in id order and created in key order, so two workers' transactions over the
    same users queue behind each other instead of deadlocking in the common case; the database
    breaks any rarer cycle by failing one transaction, which the engine then retries message by message.
    """
    wanted = sorted(set(users))
    found = _locked(session, wanted)
    missing = [user for user in wanted if user not in found]
    if missing:
        # Column defaults fill in the rest. ON CONFLICT DO NOTHING: another worker may create the
        # same row meanwhile; then use theirs.
        rows = [{"channel": channel, "user_key": key, "recent": []} for channel, key in missing]
        insert = dialect_insert(session.get_bind())
        session.connection().execute(
            insert(Conversation).on_conflict_do_nothing(index_elements=["channel", "user_key"]), rows
        )
        found.update(_locked(session, missing))
    return found


def _locked(session: Session, users: list[UserKey]) -> dict[UserKey, Conversation]:
    by_channel: dict[str, list[str]] = defaultdict(list)
    for channel, user_key in users:
        by_channel[channel].append(user_key)
    return {
        (conversation.channel, conversation.user_key): conversation
        for channel, keys in by_channel.items()
        for conversation in session.exec(_LOCK_ON_CHANNEL, params={"channel": channel, "keys": keys})
    }


def remembered(recent: list[dict[str, Any]], author: str, *texts: str, tap: str | None = None) -> list[dict[str, Any]]:
    """The last few messages both ways, these ones added with their time (and, for an option the
    user picked, its key as `tap`: staff read the label "No", the engine knows it meant "no")."""
    at = utcnow().isoformat(timespec="seconds")
    extra = {"tap": tap[:64]} if tap else {}
    entries = [{"from": author, "text": text[:RECENT_CHARS], "at": at, **extra} for text in texts if text]
    return [*recent, *entries][-RECENT_KEPT:] if entries else recent


def note_sent(connection: Connection, sent: Iterable[tuple[int | None, str, str | None]]) -> None:
    """Messages the bot sent on its own (reminders), as (conversation id, language, text) in the
    sender's transaction: the language becomes the conversation's where it had none, so that a bare
    "ok" in answer is answered in the reminder's language; a text is remembered like a reply (None:
    the channel remembers it when it shows it, as the console's delivery does)."""
    by_conversation: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for conversation_id, lang, text in sent:
        if conversation_id is not None:
            by_conversation[conversation_id].append((lang, text))
    if not by_conversation:
        return
    table = Conversation.__table__
    rows = connection.execute(
        select(table.c.id, table.c.lang, table.c.recent)
        .where(table.c.id.in_(sorted(by_conversation)))
        .order_by(table.c.id)
        .with_for_update()
    ).all()
    for conversation_id, lang, recent in rows:
        messages = by_conversation[conversation_id]
        texts = [text for _, text in messages if text]
        connection.execute(
            update(table)
            .where(table.c.id == conversation_id)
            .values(lang=lang or messages[-1][0], recent=remembered(list(recent or []), "bot", *texts))
        )
