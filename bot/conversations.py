"""Per-user conversation state, kept in the database so any worker can serve any user."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.models import Conversation


def get_or_create_conversation(session: Session, *, channel: str, user_key: str) -> Conversation:
    """The user's conversation row, locked for this transaction where the database can lock rows."""
    query = (
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.user_key == user_key)
        .with_for_update()
    )
    conversation = session.exec(query).first()
    if conversation is not None:
        return conversation
    try:
        with session.begin_nested():
            conversation = Conversation(channel=channel, user_key=user_key)
            session.add(conversation)
    except IntegrityError:
        # Another worker created it between our select and insert: use theirs.
        conversation = session.exec(query).one()
    return conversation
