"""A person's preferences (reminders on or off, language), whichever channel they use.

The person is the phone a channel vouched for (WhatsApp's sender, Telegram's shared contact, the
console's `--phone`). A conversation without one keeps its own opt-out until a phone is vouched for;
then the opt-out moves to the person, so "STOP" on one channel and "start reminders" on another
are one switch, and the last word counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from bot.db import dialect_insert
from bot.models import Conversation, Person, utcnow


def _upsert(session: Session, phone: str, **values: Any) -> None:
    """Create the person's row or change the given preferences, in one statement (no read first)."""
    insert = dialect_insert(session.get_bind())
    statement = insert(Person).values(phone=phone, updated_at=utcnow(), **values)
    session.connection().execute(
        statement.on_conflict_do_update(index_elements=["phone"], set_={**values, "updated_at": utcnow()})
    )


def set_reminders(session: Session, conversation: Conversation, *, opted_out: bool) -> None:
    """STOP or START: for the person when the channel vouched for a phone, else for this chat."""
    conversation.reminders_opted_out = opted_out
    if conversation.verified_phone:
        _upsert(session, conversation.verified_phone, reminders_opted_out=opted_out)
        if not opted_out:  # an old STOP said in another chat before its phone was known is undone too
            for other in _chats_of(session, conversation.verified_phone):
                other.reminders_opted_out = False


def _chats_of(session: Session, phone: str) -> list[Conversation]:
    return list(session.scalars(select(Conversation).where(col(Conversation.verified_phone) == phone)))


def phone_vouched(session: Session, conversation: Conversation) -> None:
    """A channel just vouched for the conversation's phone: a STOP said here before now counts for the person."""
    if conversation.reminders_opted_out and conversation.verified_phone:
        _upsert(session, conversation.verified_phone, reminders_opted_out=True)


def reminders_opted_out(session: Session, conversation: Conversation) -> bool:
    """Whether this user asked for no reminders (the person's choice once their phone is known)."""
    if not conversation.verified_phone:
        return conversation.reminders_opted_out
    person = session.get(Person, conversation.verified_phone)
    return person.reminders_opted_out if person is not None else conversation.reminders_opted_out


def choose_language(session: Session, conversation: Conversation, lang: str) -> None:
    """The person picked a language: reminders on any channel use it when no chat says otherwise."""
    if conversation.verified_phone:
        _upsert(session, conversation.verified_phone, lang=lang)


def opted_out_phones(connection: Connection, phones: Iterable[str]) -> set[str]:
    """Those of these phones whose person said STOP (one indexed read)."""
    wanted = sorted(set(phones))
    if not wanted:
        return set()
    query = select(col(Person.phone)).where(col(Person.phone).in_(wanted), col(Person.reminders_opted_out).is_(True))
    return set(connection.execute(query).scalars())


def languages(connection: Connection, phones: Iterable[str]) -> dict[str, str]:
    """The languages these people chose, by phone (those who chose one)."""
    wanted = sorted(set(phones))
    if not wanted:
        return {}
    query = select(col(Person.phone), col(Person.lang)).where(
        col(Person.phone).in_(wanted), col(Person.lang).is_not(None)
    )
    return {phone: lang for phone, lang in connection.execute(query) if lang}
