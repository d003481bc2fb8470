"""The outbox in numbers, per channel, from the database (the same for every worker): what waits to go
(queued, or held for WhatsApp's 24-hour window) and what failed for good; and which users have
anything waiting."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from bot.delivery.states import FAILED, HELD, QUEUED, SENDING, WAITING
from bot.models import Conversation, OutboxMessage

MSG = OutboxMessage.__table__.c
CONV = Conversation.__table__.c
# A message being sent right now is still waiting, as far as operators are concerned.
WAITING_AS = {QUEUED: QUEUED, SENDING: QUEUED, HELD: HELD}


def outbox_figures(session: Session) -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """Waiting messages by (channel, queued or held), and failed ones by channel."""
    rows = session.connection().execute(
        select(CONV.channel, MSG.state, func.count())
        .select_from(OutboxMessage.__table__.join(Conversation.__table__, CONV.id == MSG.conversation_id))
        .where(MSG.state.in_([*WAITING_AS, FAILED]))
        .group_by(CONV.channel, MSG.state)
    )
    waiting: Counter[tuple[str, str]] = Counter()
    failed: Counter[str] = Counter()
    for channel, state, count in rows:
        if state == FAILED:
            failed[channel] += count
        else:
            waiting[(channel, WAITING_AS[state])] += count
    return waiting, failed


def waiting_chats(session: Session, conversation_ids: Iterable[int]) -> set[int]:
    """Those of these conversations with a message waiting to go (queued or held): one indexed read."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return set()
    return set(session.connection().execute(_WAITING_CHATS, {"ids": ids}).scalars())


_WAITING_CHATS = (
    select(MSG.conversation_id)
    .where(MSG.conversation_id.in_(bindparam("ids", expanding=True)), MSG.state.in_(WAITING))
    .distinct()
)
