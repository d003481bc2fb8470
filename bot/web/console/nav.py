"""The console's navigation: one entry per page, shown to the roles that may open it.

A new page adds its `NavEntry` to its module and the module to `bot.web.console.app.PAGES`; the
base template lists the entries the signed-in account's role allows, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bot.access.roles import role_of
from bot.models import Role, Staff


@dataclass(frozen=True)
class NavEntry:
    """A page in the navigation: its label, its route's name, and who sees it."""

    label: str
    route: str
    roles: frozenset[Role]


def visible_entries(request: Request, staff: Staff | None) -> list[NavEntry]:
    """The entries this account may open, in the console's order (none before login)."""
    if staff is None:
        return []
    entries: list[NavEntry] = request.app.state.nav
    return [entry for entry in entries if role_of(staff) in entry.roles]
