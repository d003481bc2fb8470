"""Staff accounts: created, listed, disabled and re-enabled by an operator; passwords hashed with Argon2.

Every change is in the staff audit trail, and disabling an account or changing its password ends
its console logins at once. See bot/access/roles.py for what each role may do.
"""

from __future__ import annotations

from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from bot.access import audit, sessions
from bot.access.roles import TICKET_ROLES
from bot.config import LANGUAGES
from bot.models import Role, Staff

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_SCOPE_NAMES = 50
ROLE_NAMES = ", ".join(role.value for role in Role)


class StaffError(ValueError):
    """A staff account cannot be created or used as asked."""


def _clean_names(values: Sequence[str], what: str) -> list[str]:
    names = list(dict.fromkeys(value.strip() for value in values if value.strip()))
    if len(names) > MAX_SCOPE_NAMES:
        raise StaffError(f"at most {MAX_SCOPE_NAMES} {what}s per account")
    if any(len(name) > 80 for name in names):
        raise StaffError(f"a {what} name has at most 80 characters")
    return names


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def add_staff(
    session: Session,
    *,
    name: str,
    password: str | None,
    telegram_user_id: int | None = None,
    role: str = Role.STAFF.value,
    districts: Sequence[str] = (),
    departments: Sequence[str] = (),
    actor: str = audit.OPERATOR,
) -> Staff:
    """A new account; a password is needed for the web console, a Telegram id for the staff group.

    A nodal officer needs at least one district or department; the other roles take none.
    """
    name = name.strip()
    if not name or len(name) > 60 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise StaffError("a staff name is 1 to 60 letters, digits, '-', '_' or '.'")
    if role not in {member.value for member in Role}:
        raise StaffError(f"no role '{role}': a role is one of {ROLE_NAMES}")
    district_names = _clean_names(districts, "district")
    department_names = _clean_names(departments, "department")
    if role == Role.NODAL and not (district_names or department_names):
        raise StaffError("a nodal officer needs at least one --district or --department")
    if role != Role.NODAL and (district_names or department_names):
        raise StaffError(f"districts and departments are for nodal officers; a {role} account sees all or none")
    if session.exec(select(Staff).where(Staff.name == name)).first():
        raise StaffError(f"staff '{name}' already exists")
    if (
        telegram_user_id is not None
        and session.exec(select(Staff).where(Staff.telegram_user_id == telegram_user_id)).first()
    ):
        raise StaffError(f"Telegram id {telegram_user_id} already belongs to another account")
    if password is not None:
        check_password(password)
    staff = Staff(
        name=name,
        password_hash=_hasher.hash(password) if password else None,
        telegram_user_id=telegram_user_id,
        role=role,
        districts=district_names,
        departments=department_names,
    )
    session.add(staff)
    session.flush()
    scope = ", ".join([*district_names, *department_names])
    audit.record(session, actor=actor, action="staff.added", subject=f"staff:{name}", detail=f"{role} {scope}".strip())
    return staff


def find_staff(session: Session, *, name: str) -> Staff:
    """The account with this name, active or not."""
    staff = session.exec(select(Staff).where(Staff.name == name.strip())).first()
    if staff is None:
        raise StaffError(f"no staff account '{name}' (see `helpdesk staff list`)")
    return staff


def list_staff(session: Session) -> list[Staff]:
    """Every account, by name."""
    return list(session.exec(select(Staff).order_by(col(Staff.name))))


def set_active(session: Session, *, name: str, active: bool, actor: str = audit.OPERATOR) -> tuple[Staff, int]:
    """Disable (its console logins end at once) or enable an account; the account and the logins ended."""
    staff = find_staff(session, name=name)
    if staff.active == active:
        return staff, 0
    staff.active = active
    ended = 0 if active else sessions.end_all(session, staff=staff, reason="disabled")
    action = "staff.enabled" if active else "staff.disabled"
    audit.record(session, actor=actor, action=action, subject=f"staff:{staff.name}")
    return staff, ended


def set_password(session: Session, *, name: str, password: str, actor: str = audit.OPERATOR) -> int:
    """A new password; every console login of the account ends. How many logins ended."""
    check_password(password)
    staff = find_staff(session, name=name)
    staff.password_hash = _hasher.hash(password)
    ended = sessions.end_all(session, staff=staff, reason="password")
    audit.record(session, actor=actor, action="staff.password", subject=f"staff:{staff.name}")
    return ended


def set_language(session: Session, *, staff: Staff, lang: str) -> None:
    """The language the console shows topic names in for this account."""
    if lang not in LANGUAGES:
        raise StaffError(f"no language '{lang}': choose one of {', '.join(LANGUAGES)}")
    staff.lang = lang


def authenticate(session: Session, *, name: str, password: str) -> Staff | None:
    """The active account with this name and password; its hash is renewed if Argon2's settings changed."""
    staff = session.exec(select(Staff).where(Staff.name == name, Staff.active)).first()
    if staff is None or not staff.password_hash:
        _hasher.hash(password)  # same work either way, so timing does not tell which names exist
        return None
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return staff


def staff_by_name(session: Session, *, name: str) -> Staff | None:
    """The active account with this name."""
    return session.exec(select(Staff).where(Staff.name == name, Staff.active)).first()


def staff_by_telegram_id(session: Session, *, telegram_user_id: int) -> Staff | None:
    """The active account with this Telegram id that may work tickets (nodal officers may not)."""
    return session.exec(
        select(Staff).where(
            Staff.telegram_user_id == telegram_user_id,
            Staff.active,
            col(Staff.role).in_([role.value for role in TICKET_ROLES]),
        )
    ).first()
