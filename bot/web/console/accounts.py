"""Accounts: everyone's own (password, the language of topic names); an admin's view of all of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access import sessions, throttle
from bot.access.roles import ALL_ROLES, scope_of
from bot.db import session_scope, write_scope
from bot.models import Role, Staff
from bot.tickets import staff as accounts
from bot.web.console.auth import client_address, console_form, console_page, seconds
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import field, flash, path_for, redirect, render

LANGUAGES = {"en": "English", "hi": "Hindi"}
ROLE_LABELS = {
    Role.STAFF.value: "Helpdesk staff",
    Role.NODAL.value: "Nodal officer",
    Role.ADMIN.value: "Administrator",
}
ADMINS = frozenset({Role.ADMIN})

nav = (
    NavEntry("Accounts", "accounts", ADMINS),
    NavEntry("My account", "account", ALL_ROLES),
)


async def _own(request: Request, staff: Staff, *, error: str | None = None, status_code: int = 200) -> Response:
    context = {
        "staff": staff,
        "role_label": ROLE_LABELS[staff.role],
        "scope": scope_of(staff).describe(),
        "languages": LANGUAGES,
        "error": error,
    }
    request.state.nav = "account"
    return render(request, "account.html", context, status_code=status_code)


@console_page()
async def account(request: Request, staff: Staff) -> Response:
    """Your account: role and scope, the language of topic names, a new password."""
    return await _own(request, staff)


def _set_language(db: Engine, name: str, lang: str) -> None:
    with session_scope(db) as session:
        accounts.set_language(session, staff=accounts.find_staff(session, name=name), lang=lang)


@console_form()
async def change_language(request: Request, staff: Staff, form: FormData) -> Response:
    try:
        await run_in_threadpool(_set_language, request.app.state.db, staff.name, field(form, "lang"))
    except accounts.StaffError as error:
        return await _own(request, staff, error=str(error), status_code=422)
    flash(request, "Topic names are now shown in " + LANGUAGES[field(form, "lang")] + ".")
    return redirect(path_for(request, "account"))


def _change_password(db: Engine, name: str, address: str, current: str, new: str) -> str | None:
    """Check the current password (throttled like a login) and set the new one; an error, or None."""
    with write_scope(db) as session:
        verdict = throttle.attempt(session, name=name, address=address)
    if not verdict.allowed:
        return f"Too many wrong passwords. Wait {seconds(verdict.wait_seconds)}, then try again."
    with session_scope(db) as session:
        if accounts.authenticate(session, name=name, password=current) is None:
            return "Your current password is not right."
    with write_scope(db) as session:
        throttle.succeeded(session, name=name, address=address)
        accounts.set_password(session, name=name, password=new, actor=name)
    return None


@console_form()
async def change_password(request: Request, staff: Staff, form: FormData) -> Response:
    """A new password; every login of the account ends, this one too."""
    new, repeated = field(form, "new_password"), field(form, "repeat_password")
    error = None
    if new != repeated:
        error = "The two new passwords differ."
    elif len(new) < accounts.MIN_PASSWORD_LENGTH:
        error = f"The new password needs at least {accounts.MIN_PASSWORD_LENGTH} characters."
    else:
        address = client_address(request)
        error = await run_in_threadpool(
            _change_password, request.app.state.db, staff.name, address, field(form, "current_password"), new
        )
    if error:
        return await _own(request, staff, error=error, status_code=422)
    request.session.clear()
    flash(request, "Password changed; every login of your account has ended. Log in with the new password.")
    return redirect(path_for(request, "login"))


def _everyone(db: Engine) -> list[dict[str, Any]]:
    with session_scope(db) as session:
        people = accounts.list_staff(session)
        logins = sessions.last_logins(session, [person.id for person in people if person.id is not None])
        return [
            {"staff": person, "scope": scope_of(person).describe(), "last_login": logins.get(person.id or 0)}
            for person in people
        ]


async def _all(
    request: Request, staff: Staff, *, error: str | None = None, draft: dict[str, str] | None = None
) -> Response:
    context = {
        "people": await run_in_threadpool(_everyone, request.app.state.db),
        "role_labels": ROLE_LABELS,
        "me": staff.name,
        "error": error,
        "draft": draft or {"name": "", "role": Role.STAFF.value, "districts": "", "departments": ""},
    }
    request.state.nav = "accounts"
    return render(request, "accounts.html", context, status_code=422 if error else 200)


@console_page(*ADMINS)
async def all_accounts(request: Request, staff: Staff) -> Response:
    """Every account: role, scope, state and last login; disable, enable, add."""
    return await _all(request, staff)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add(db: Engine, actor: str, draft: dict[str, str], password: str) -> None:
    with session_scope(db) as session:
        accounts.add_staff(
            session,
            name=draft["name"],
            password=password,
            role=draft["role"],
            districts=_names(draft["districts"]),
            departments=_names(draft["departments"]),
            actor=actor,
        )


@console_form(*ADMINS)
async def add_account(request: Request, staff: Staff, form: FormData) -> Response:
    draft = {name: field(form, name) for name in ("name", "role", "districts", "departments")}
    try:
        await run_in_threadpool(_add, request.app.state.db, staff.name, draft, field(form, "password"))
    except accounts.StaffError as error:
        return await _all(request, staff, error=str(error), draft=draft)
    flash(request, f"Account '{draft['name'].strip()}' added.")
    return redirect(path_for(request, "accounts"))


def _switch(db: Engine, actor: str, name: str, active: bool) -> int:
    with session_scope(db) as session:
        return accounts.set_active(session, name=name, active=active, actor=actor)[1]


@console_form(*ADMINS)
async def switch_account(request: Request, staff: Staff, form: FormData) -> Response:
    """Disable (its logins end at once) or enable another account."""
    name, switch = request.path_params["name"], request.path_params["switch"]
    if switch not in ("enable", "disable"):
        return PlainTextResponse("No such action.", status_code=404)
    active = switch == "enable"
    if name == staff.name:
        return await _all(request, staff, error="You cannot disable your own account here.")
    try:
        ended = await run_in_threadpool(_switch, request.app.state.db, staff.name, name, active)
    except accounts.StaffError as error:
        return await _all(request, staff, error=str(error))
    flash(request, f"'{name}' enabled." if active else f"'{name}' disabled; {ended} login(s) ended.")
    return redirect(path_for(request, "accounts"))


routes = [
    Route("/account", account, name="account"),
    Route("/account/language", change_language, methods=["POST"], name="account_language"),
    Route("/account/password", change_password, methods=["POST"], name="account_password"),
    Route("/accounts", all_accounts, name="accounts"),
    Route("/accounts", add_account, methods=["POST"]),
    Route("/accounts/{name}/{switch:str}", switch_account, methods=["POST"], name="account_switch"),
]
