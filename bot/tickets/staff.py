"""Staff accounts: created by an operator, passwords hashed with Argon2."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from bot.models import Staff

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class StaffError(ValueError):
    """A staff account cannot be created or used as asked."""


def add_staff(session: Session, *, name: str, password: str | None, telegram_user_id: int | None = None) -> Staff:
    """A new staff account; a password is needed for the web console, a Telegram id for the staff group."""
    name = name.strip()
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise StaffError("a staff name is letters, digits, '-', '_' or '.'")
    if session.exec(select(Staff).where(Staff.name == name)).first():
        raise StaffError(f"staff '{name}' already exists")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    staff = Staff(
        name=name, password_hash=_hasher.hash(password) if password else None, telegram_user_id=telegram_user_id
    )
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, *, name: str, password: str) -> Staff | None:
    """The active staff member with this name and password."""
    staff = session.exec(select(Staff).where(Staff.name == name, Staff.active)).first()
    if staff is None or not staff.password_hash:
        _hasher.hash(password)  # same work either way, so timing does not tell which names exist
        return None
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return staff


def staff_by_name(session: Session, *, name: str) -> Staff | None:
    return session.exec(select(Staff).where(Staff.name == name, Staff.active)).first()


def staff_by_telegram_id(session: Session, *, telegram_user_id: int) -> Staff | None:
    return session.exec(select(Staff).where(Staff.telegram_user_id == telegram_user_id, Staff.active)).first()
