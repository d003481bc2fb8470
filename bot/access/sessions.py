"""Console logins kept on the server: the browser holds a random token, the database its hash.

A login is valid while its row is neither ended nor expired and its account is active; one UPDATE
ends it everywhere (logout, password change, disabled account), whatever copies of the cookie exist.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.models import Staff, StaffSession, saved_id, utcnow

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """What the database keeps of a token: a leaked table gives nobody a working cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, *, staff: Staff, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new login for this account; the token for the browser's cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = StaffSession(
        token_hash=token_hash(token), staff_id=saved_id(staff), created_at=now, expires_at=now + lifetime
    )
    session.add(row)
    return token


def signed_in(session: Session, token: str, *, now: datetime | None = None) -> Staff | None:
    """The active account this token belongs to, while its login is neither ended nor expired."""
    return session.exec(
        select(Staff)
        .join(StaffSession, col(StaffSession.staff_id) == col(Staff.id))
        .where(
            StaffSession.token_hash == token_hash(token),
            col(StaffSession.ended_at).is_(None),
            StaffSession.expires_at > (now or utcnow()),
            Staff.active,
        )
    ).first()


def end(session: Session, token: str, *, reason: str) -> None:
    """End one login (logout)."""
    session.exec(
        update(StaffSession)
        .where(col(StaffSession.token_hash) == token_hash(token), col(StaffSession.ended_at).is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def end_all(session: Session, *, staff: Staff, reason: str) -> int:
    """End every login of an account (password changed, account disabled); how many were live."""
    result = session.exec(
        update(StaffSession)
        .where(
            col(StaffSession.staff_id) == staff.id,
            col(StaffSession.ended_at).is_(None),
            col(StaffSession.expires_at) > utcnow(),
        )
        .values(ended_at=utcnow(), end_reason=reason)
    )
    return result.rowcount


def last_logins(session: Session, staff_ids: Iterable[int]) -> dict[int, datetime]:
    """When each account last logged in to the console."""
    ids = list(staff_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(StaffSession.staff_id, func.max(StaffSession.created_at))
        .where(col(StaffSession.staff_id).in_(ids))
        .group_by(col(StaffSession.staff_id))
    ).all()
    return {staff_id: moment for staff_id, moment in rows}
