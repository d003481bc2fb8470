"""Logging in and out of the console, and which accounts may open which page.

A login is a row on the server (`bot.access.sessions`); the browser's signed cookie carries its
random token, the CSRF token and one-off notices. Logout, a password change or a disabled account
ends the row, so every copy of the cookie stops working at once. Logins are slowed per name and
address, and per address, by `bot.access.throttle`, in the database, for all workers together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.access import sessions, throttle
from bot.access.roles import ALL_ROLES, role_of
from bot.db import session_scope, write_scope
from bot.models import Role, Staff
from bot.tickets.staff import authenticate
from bot.web.console.csrf import csrf_ok, csrf_refused, new_csrf_token
from bot.web.console.rendering import field, flash, path_for, redirect, render

logger = logging.getLogger(__name__)

SESSION_COOKIE = "helpdesk_staff"

Page = Callable[[Request, Staff], Awaitable[Response]]
Action = Callable[[Request, Staff, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def seconds(count: int) -> str:
    return f"{count} second{'' if count == 1 else 's'}"


def client_address(request: Request) -> str:
    """The client's address (behind a trusted proxy, the one it forwarded)."""
    return request.client.host if request.client else "unknown"


def _staff_for_token(db: Engine, token: str) -> Staff | None:
    with session_scope(db) as session:
        return sessions.signed_in(session, token)


async def signed_in_staff(request: Request) -> Staff | None:
    """Whose live login this browser holds; a login ended or expired on the server is forgotten."""
    token = request.session.get("token")
    if not isinstance(token, str):
        return None
    staff = await run_in_threadpool(_staff_for_token, request.app.state.db, token)
    if staff is None:
        request.session.pop("token", None)
    return staff


def refusal(request: Request, staff: Staff, allowed: frozenset[Role]) -> Response | None:
    """None when the signed-in account's role may use this page; else 403, the page not for them."""
    request.state.staff = staff  # the navigation shows what this account may open
    if role_of(staff) in allowed:
        return None
    return render(request, "forbidden.html", {"role": staff.role}, status_code=403)


def console_page(*roles: Role) -> Callable[[Page], Endpoint]:
    """A page for signed-in accounts of these roles (all roles when none are named); anyone else goes
    to the login page and comes back after it."""
    allowed = frozenset(roles) or ALL_ROLES

    def decorate(page: Page) -> Endpoint:
        @wraps(page)
        async def endpoint(request: Request) -> Response:
            staff = await signed_in_staff(request)
            if staff is None:
                query = request.url.query
                request.session["next"] = request.url.path + (f"?{query}" if query else "")
                return redirect(path_for(request, "login"))
            return refusal(request, staff, allowed) or await page(request, staff)

        return endpoint

    return decorate


def console_form(*roles: Role) -> Callable[[Action], Endpoint]:
    """A form POST by a signed-in account of these roles that carries the session's CSRF token."""
    allowed = frozenset(roles) or ALL_ROLES

    def decorate(action: Action) -> Endpoint:
        @wraps(action)
        async def endpoint(request: Request) -> Response:
            staff = await signed_in_staff(request)
            if staff is None:
                return redirect(path_for(request, "login"))
            form = await request.form()
            if not csrf_ok(request, form):
                return csrf_refused()
            return refusal(request, staff, allowed) or await action(request, staff, form)

        return endpoint

    return decorate


async def login_page(request: Request) -> Response:
    """The login form."""
    return render(request, "login.html", {"name": ""})


def _try(db: Engine, name: str, address: str) -> throttle.Verdict:
    with write_scope(db) as session:
        return throttle.attempt(session, name=name, address=address)


def _check_password(db: Engine, name: str, password: str) -> Staff | None:
    """The active account with this name and password (Argon2: slow on purpose, so off the event loop)."""
    with session_scope(db) as session:
        return authenticate(session, name=name, password=password)


def _begin(db: Engine, staff: Staff, name: str, address: str, lifetime: timedelta) -> str:
    with write_scope(db) as session:
        throttle.succeeded(session, name=name, address=address)
        return sessions.start(session, staff=staff, lifetime=lifetime)


async def login(request: Request) -> Response:
    """Check the name and password; a fresh session on success."""
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused()
    name, password = field(form, "name").strip(), field(form, "password")
    db, address = request.app.state.db, client_address(request)
    verdict = await run_in_threadpool(_try, db, name, address)
    if not verdict.allowed:
        error = f"Too many failed logins. Wait {seconds(verdict.wait_seconds)}, then try again."
        response = render(request, "login.html", {"error": error, "name": name}, status_code=429)
        response.headers["Retry-After"] = str(verdict.wait_seconds)
        return response
    staff = await run_in_threadpool(_check_password, db, name, password)
    if staff is None:
        logger.info("staff console: a login failed")  # no name: it may be a password typed into the wrong box
        return render(request, "login.html", {"error": "Wrong name or password.", "name": name}, status_code=401)
    lifetime = timedelta(hours=request.app.state.settings.staff_session_hours)
    token = await run_in_threadpool(_begin, db, staff, name, address, lifetime)
    next_path = request.session.get("next") or path_for(request, "home")
    # A new session (and CSRF token) at every login, so nothing from before the login carries over.
    request.session.clear()
    request.session.update(token=token, csrf=new_csrf_token())
    logger.info("staff %s logged in to the console", staff.name)
    return redirect(next_path)


def _end(db: Engine, token: str) -> None:
    with session_scope(db) as session:
        sessions.end(session, token, reason="logout")


async def logout(request: Request) -> Response:
    """End the login on the server, so a copy of the cookie is worth nothing."""
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused()
    token = request.session.get("token")
    if isinstance(token, str):
        await run_in_threadpool(_end, request.app.state.db, token)
    request.session.clear()
    flash(request, "You are logged out.")
    return redirect(path_for(request, "login"))
