"""Per-user conversation state, kept in the database so any worker can serve any user."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam
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


def remembered(recent: list[dict[str, Any]], author: str, *texts: str, **details: str) -> list[dict[str, Any]]:
    """The last few messages both ways, these ones added with their time and `details` (for an option
    the user picked, its key as `tap`: staff read the label "No", the engine knows it meant "no"; for a
    delivered reminder, its kind and language)."""
    at = utcnow().isoformat(timespec="seconds")
    entries = [{"from": author, "text": text[:RECENT_CHARS], "at": at, **details} for text in texts if text]
    return [*recent, *entries][-RECENT_KEPT:] if entries else recent
