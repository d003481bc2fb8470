"""What each role may see and do, and a nodal officer's scope.

- `staff` (helpdesk staff): the ticket queue, tickets and canned answers, on the console, the
  command line and the Telegram staff group. No employee reports.
- `nodal` (nodal officer): the reports, imports and campaigns of their own districts/departments.
  Not the ticket queue: tickets carry any user's conversation, which is the helpdesk's to see.
- `admin`: everything, every district; and the staff accounts.

Pages, exports and APIs that show employees filter them with `scope_of(staff)`, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, true
from sqlmodel import col

from bot.models import Role, Staff

TICKET_ROLES = frozenset({Role.STAFF, Role.ADMIN})
REPORT_ROLES = frozenset({Role.NODAL, Role.ADMIN})  # employee reports and imports, within `scope_of`
ALL_ROLES = frozenset(Role)


def role_of(staff: Staff) -> Role:
    return Role(staff.role)


def works_tickets(staff: Staff) -> bool:
    """Whether this account may see and work the ticket queue (anywhere: console, CLI, Telegram)."""
    return staff.active and role_of(staff) in TICKET_ROLES


@dataclass(frozen=True)
class Scope:
    """The employees an account may see in reports: everyone, or those of some districts/departments.

    With districts and departments both given, an employee must match both (the Health department
    of Raipur); with one kind only, that one decides. Names compare without regard to case.
    """

    everything: bool = False
    districts: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.districts and not self.departments

    def covers(self, *, district: str | None, department: str | None) -> bool:
        """Whether one employee with this district and department is within the scope."""
        if self.everything:
            return True
        if self.nothing:
            return False
        district_ok = not self.districts or (district or "").casefold() in self.districts
        department_ok = not self.departments or (department or "").casefold() in self.departments
        return district_ok and department_ok

    def condition(self, district: Any, department: Any) -> ColumnElement[bool]:
        """The same test as `covers`, as a WHERE clause over the given columns (e.g. Employee's)."""
        if self.everything:
            return true()
        if self.nothing:
            return false()
        parts = []
        if self.districts:
            parts.append(func.lower(col(district)).in_(sorted(self.districts)))
        if self.departments:
            parts.append(func.lower(col(department)).in_(sorted(self.departments)))
        return parts[0] if len(parts) == 1 else parts[0] & parts[1]

    def describe(self) -> str:
        """For pages and exports: what the reader is looking at."""
        if self.everything:
            return "all districts and departments"
        if self.nothing:
            return "nothing"
        named = [*(f"district {name}" for name in sorted(self.districts))]
        named += [f"department {name}" for name in sorted(self.departments)]
        return ", ".join(named)


def _folded(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.strip().casefold() for name in names if name.strip())


def scope_of(staff: Staff) -> Scope:
    """Whose records this account may see in reports and exports; a disabled account sees nothing."""
    if not staff.active:
        return Scope()
    role = role_of(staff)
    if role is Role.ADMIN:
        return Scope(everything=True)
    if role is Role.NODAL:
        return Scope(districts=_folded(staff.districts), departments=_folded(staff.departments))
    return Scope()  # helpdesk staff work tickets, not employee reports
