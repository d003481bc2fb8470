"""The audit trail of staff work beyond single tickets: accounts, canned answers, and later pages."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.models import StaffEvent

OPERATOR = "operator"  # the actor for changes made on the command line, where nobody logs in


def record(session: Session, *, actor: str, action: str, subject: str, detail: str = "") -> None:
    """Who did what to what; `detail` says enough to see what changed (never a password)."""
    session.add(StaffEvent(actor=actor, action=action, subject=subject, detail=detail))


def events(session: Session, *, subject_prefix: str = "", limit: int = 50) -> list[StaffEvent]:
    """The newest events first, optionally only those about e.g. `canned:`."""
    query = select(StaffEvent).order_by(col(StaffEvent.id).desc()).limit(limit)
    if subject_prefix:
        query = query.where(col(StaffEvent.subject).startswith(subject_prefix))
    return list(session.exec(query))
