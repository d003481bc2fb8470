"""Who is signed in to the staff console, who failed to, and what staff changed outside tickets."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class StaffSession(TableModel, table=True):
    """A console login, kept on the server: the browser holds only a random token whose hash is here.

    Ending the row (logout, password change, disabled account) ends the login everywhere at once,
    whatever copies of the cookie exist.
    """

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, description="SHA-256 of the cookie's token, hex")
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=20, description="logout, password, disabled")


class LoginThrottle(TableModel, table=True):
    """Failed console logins counted per (name, address) and per address, shared by every worker."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64, description="SHA-256 of what is counted: never the name")
    failures: int = Field(default=0)
    last_failure_at: datetime = Field(default_factory=utcnow, index=True)
    wait_until: datetime | None = Field(default=None, description="no login is tried before this")


class StaffEvent(TableModel, table=True):
    """The audit trail of staff work that is not about one ticket: accounts, canned answers, ..."""

    __tablename__ = "staff_event"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=60, description="a staff name, or 'operator' for the command line")
    action: str = Field(max_length=40, description="e.g. canned.updated, staff.disabled")
    subject: str = Field(max_length=80, description="what it was done to, e.g. canned:3 or staff:desk2")
    detail: str = ""
    created_at: datetime = Field(default_factory=utcnow, index=True)
