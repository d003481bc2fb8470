"""The staff console under /staff: log in, see the ticket queue, open a ticket and work it."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial, wraps
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders, QueryParams
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Settings
from bot.db import session_scope
from bot.logs import mask_pii
from bot.models import ACTIVE_STATUSES, Staff, Ticket, TicketStatus, saved_id, utcnow
from bot.tickets import service
from bot.tickets.presenting import ticket_summary, user_label
from bot.tickets.staff import authenticate

logger = logging.getLogger(__name__)

STAFF_PREFIX = "/staff"
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "helpdesk_staff"
CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
LOGIN_FAILURE_LIMIT = 5
LOGIN_WINDOW_SECONDS = 15 * 60
LOCKOUT_SECONDS = 15 * 60
QUEUE_LIMIT = 200  # tickets per status the queue asks the service for
STATUS_CHOICES = ("active", "all", *(status.value for status in TicketStatus))
LANGUAGES = {"en": "English", "hi": "Hindi"}


class LoginThrottle:
    """Refuses a staff name for 15 minutes once 5 logins with it failed within 15 minutes.

    Kept in this process's memory on purpose, so the schema needs nothing new: each worker counts on
    its own (with N workers a name gets at most 5 x N tries per 15 minutes) and a restart forgets.
    Only the event loop calls it, never the thread pool, so it needs no lock.
    """

    def __init__(
        self,
        *,
        limit: int = LOGIN_FAILURE_LIMIT,
        window: float = LOGIN_WINDOW_SECONDS,
        lockout: float = LOCKOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limit, self.window, self.lockout, self.clock = limit, window, lockout, clock
        self._attempts: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def attempt(self, name: str) -> bool:
        """Whether this name may try a password now; the try counts as failed until `succeeded`."""
        # Counting a try before the password is checked stops parallel guesses from slipping past the limit.
        key, now = name.strip().casefold(), self.clock()
        if self._locked_until.get(key, 0.0) > now:
            return False
        self._forget_stale(now)
        recent = [*(moment for moment in self._attempts.get(key, []) if now - moment < self.window), now]
        self._attempts[key] = recent
        if len(recent) >= self.limit:
            self._locked_until[key] = now + self.lockout
        return True

    def succeeded(self, name: str) -> None:
        """A correct password wipes the name's failures."""
        key = name.strip().casefold()
        self._attempts.pop(key, None)
        self._locked_until.pop(key, None)

    def _forget_stale(self, now: float) -> None:
        """Drop names with neither a recent try nor a lock, so made-up names cannot pile up."""
        for key in [key for key, moments in self._attempts.items() if now - moments[-1] >= self.window]:
            if self._locked_until.get(key, 0.0) <= now:
                self._attempts.pop(key)
                self._locked_until.pop(key, None)


class SecurityHeaders:
    """Adds the console's security headers to every response it sends."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class QueueFilters:
    """What the queue page shows, from its query string."""

    status: str = "active"
    category: str = ""
    lang: str = ""
    overdue: bool = False

    @classmethod
    def from_query(cls, query: QueryParams) -> QueueFilters:
        """Filters from the query string; unknown values fall back to the defaults."""
        status = query.get("status", "active")
        lang = query.get("lang", "")
        return cls(
            status=status if status in STATUS_CHOICES else "active",
            category=query.get("category", "").strip()[:64],
            lang=lang if lang in LANGUAGES else "",
            overdue=query.get("overdue") == "1",
        )


@dataclass(frozen=True)
class StaffAction:
    """A form on the ticket page and the service call behind it."""

    run: Callable[..., Ticket]
    text_field: str | None  # the form field passed to the service as `text`, if any
    done: str  # the confirmation shown afterwards; {ref} is the ticket


ACTIONS = {
    "claim": StaffAction(service.claim, None, "You claimed {ref}."),
    "reply": StaffAction(service.reply, "reply", "Reply to {ref} queued for the user on their channel."),
    "note": StaffAction(service.add_note, "note", "Internal note added to {ref}."),
    "resolve": StaffAction(service.resolve, None, "{ref} resolved; the user is asked for a rating."),
}


def staff_console(*, settings: Settings, db: Engine, https_only: bool = False) -> Starlette:
    """The console as an ASGI app of its own, so its sessions, CSRF and headers stay inside /staff."""
    routes = [
        Route("/", queue, name="queue"),
        Route("/tickets", queue, name="tickets"),
        Route("/tickets/{ref}", ticket_page, name="ticket"),
        Route("/tickets/{ref}/{action}", act, methods=["POST"], name="act"),
        Route("/login", login_page, methods=["GET"], name="login"),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    session_seconds = settings.staff_session_hours * 3600
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(settings),
            session_cookie=SESSION_COOKIE,
            max_age=session_seconds,
            # "/" rather than the mount path: behind a proxy that adds a prefix, a narrower path would
            # never match and every login would bounce (cookie paths are no security boundary anyway).
            path="/",
            same_site="strict",
            https_only=https_only,
        ),
    ]
    console = Starlette(routes=routes, middleware=middleware)
    console.state.db = db
    console.state.session_seconds = session_seconds
    console.state.throttle = LoginThrottle()
    console.state.templates = console_templates(ZoneInfo(settings.timezone))
    return console


def session_secret(settings: Settings) -> str:
    """The configured cookie-signing key, else a random one for this process."""
    if settings.staff_session_secret:
        return settings.staff_session_secret
    logger.warning(
        "STAFF_SESSION_SECRET is not set: console logins end when the server restarts "
        "and a login on one worker is not valid on another"
    )
    return secrets.token_urlsafe(32)


def console_templates(zone: ZoneInfo) -> Jinja2Templates:
    """The Jinja2 templates, autoescaped, with the console's filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["when"] = partial(local_time, zone=zone)
    env.filters["masked"] = mask_pii
    env.filters["words"] = lambda value: str(value).replace("_", " ")
    return Jinja2Templates(env=env, context_processors=[console_context])


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """A timestamp in the deployment's time zone, e.g. `21 Nov 2026, 14:05 IST`."""
    return moment.astimezone(zone).strftime("%d %b %Y, %H:%M %Z") if moment else ""


def console_context(request: Request) -> dict[str, Any]:
    """What every template gets: the CSRF token, links, and who is signed in."""
    return {
        "csrf_token": csrf_token(request),
        "path_for": partial(path_for, request),
        "signed_in_as": request.session.get("staff_name"),
    }


def path_for(request: Request, name: str, **params: Any) -> str:
    """A console route's path, wherever the console is mounted (a path, so proxies keep the scheme)."""
    return f"{request.scope['root_path']}{request.app.url_path_for(name, **params)}"


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A page, showing (once) any confirmation left by the previous request."""
    templates: Jinja2Templates = request.app.state.templates
    context = {"notice": request.session.pop("flash", None), **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form, the browser fetches the next page with GET."""
    return RedirectResponse(url, status_code=303)


def flash(request: Request, text: str) -> None:
    """A short message for the next page the browser loads."""
    request.session["flash"] = text


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use (the login page makes it before anyone logs in)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: FormData) -> bool:
    """Whether the form carries this session's CSRF token."""
    expected, given = request.session.get("csrf"), form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(given, str):
        return False
    return secrets.compare_digest(expected.encode(), given.encode())


def csrf_refused() -> PlainTextResponse:
    """403 for a form that did not come from this session's pages."""
    return PlainTextResponse(
        "Refused: this form did not come from your current console session (CSRF check failed). "
        "Go back, reload the page and try again.",
        status_code=403,
    )


def field(form: FormData, name: str) -> str:
    """A text field of the form, empty when missing (or when a file was sent in its place)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def active_staff(db: Engine, staff_id: int) -> Staff | None:
    """The staff account, unless it was deactivated since the login."""
    with session_scope(db) as session:
        staff = session.get(Staff, staff_id)
        return staff if staff is not None and staff.active else None


async def signed_in_staff(request: Request) -> Staff | None:
    """Who this session belongs to, while the login is younger than the session lifetime."""
    staff_id, login_at = request.session.get("staff_id"), request.session.get("login_at")
    if staff_id is None or login_at is None:
        return None
    # The cookie's own signature age restarts whenever the session changes; this limit does not.
    if time.time() - login_at > request.app.state.session_seconds:
        request.session.clear()
        return None
    staff = await run_in_threadpool(active_staff, request.app.state.db, staff_id)
    if staff is None:
        request.session.clear()
    return staff


Page = Callable[[Request, Staff], Awaitable[Response]]
Action = Callable[[Request, Staff, FormData], Awaitable[Response]]


def staff_page(page: Page) -> Callable[[Request], Awaitable[Response]]:
    """A page for signed-in staff; anyone else goes to the login page and comes back after it."""

    @wraps(page)
    async def endpoint(request: Request) -> Response:
        staff = await signed_in_staff(request)
        if staff is None:
            query = request.url.query
            request.session["next"] = request.url.path + (f"?{query}" if query else "")
            return redirect(path_for(request, "login"))
        return await page(request, staff)

    return endpoint


def staff_form(action: Action) -> Callable[[Request], Awaitable[Response]]:
    """A form POST by signed-in staff that carries the session's CSRF token."""

    @wraps(action)
    async def endpoint(request: Request) -> Response:
        staff = await signed_in_staff(request)
        if staff is None:
            return redirect(path_for(request, "login"))
        form = await request.form()
        if not csrf_ok(request, form):
            return csrf_refused()
        return await action(request, staff, form)

    return endpoint


async def login_page(request: Request) -> Response:
    """The login form."""
    return render(request, "login.html", {})


async def login(request: Request) -> Response:
    """Check the name and password; a fresh session on success."""
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused()
    name, password = field(form, "name").strip(), field(form, "password")
    if not request.app.state.throttle.attempt(name):
        error = "Too many failed logins with this name. Try again in 15 minutes."
        return render(request, "login.html", {"error": error, "name": name}, status_code=429)
    staff = await run_in_threadpool(check_password, request.app.state.db, name, password)
    if staff is None:
        logger.info("staff console: a login failed")  # no name: it may be a password typed into the wrong box
        return render(request, "login.html", {"error": "Wrong name or password.", "name": name}, status_code=401)
    request.app.state.throttle.succeeded(name)
    next_path = request.session.get("next") or path_for(request, "queue")
    # A new session (and CSRF token) at every login, so nothing from before the login carries over.
    request.session.clear()
    request.session.update(
        staff_id=staff.id, staff_name=staff.name, login_at=time.time(), csrf=secrets.token_urlsafe(32)
    )
    logger.info("staff %s logged in to the console", staff.name)
    return redirect(next_path)


def check_password(db: Engine, name: str, password: str) -> Staff | None:
    """The active staff member with this name and password (Argon2: slow on purpose, so off the event loop)."""
    with session_scope(db) as session:
        return authenticate(session, name=name, password=password)


async def logout(request: Request) -> Response:
    """End the session."""
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused()
    request.session.clear()
    flash(request, "You are logged out.")
    return redirect(path_for(request, "login"))


@staff_page
async def queue(request: Request, staff: Staff) -> Response:
    """The ticket queue with its filters."""
    filters = QueueFilters.from_query(request.query_params)
    tickets, truncated = await run_in_threadpool(load_queue, request.app.state.db, filters)
    context = {
        "filters": filters,
        "tickets": tickets,
        "truncated": truncated,
        "status_choices": STATUS_CHOICES,
        "languages": LANGUAGES,
        "queue_limit": QUEUE_LIMIT,
    }
    return render(request, "queue.html", context)


def load_queue(db: Engine, filters: QueueFilters) -> tuple[list[dict[str, Any]], bool]:
    """The queue's lines, oldest first, and whether the per-status limit cut any of them off."""
    if filters.status == "active":
        statuses: list[str | None] = [status.value for status in ACTIVE_STATUSES]
    else:
        statuses = [None if filters.status == "all" else filters.status]
    overdue_at = utcnow() if filters.overdue else None
    with session_scope(db) as session:
        # The service filters by one status at a time, so "active" asks once for each active status.
        batches = [
            service.list_tickets(
                session,
                status=status,
                category=filters.category or None,
                lang=filters.lang or None,
                overdue_at=overdue_at,
                limit=QUEUE_LIMIT,
            )
            for status in statuses
        ]
        tickets = sorted((ticket for batch in batches for ticket in batch), key=saved_id)
        lines = [{**ticket_summary(session, ticket), "sla_due_at": ticket.sla_due_at} for ticket in tickets]
    return lines, any(len(batch) == QUEUE_LIMIT for batch in batches)


@staff_page
async def ticket_page(request: Request, staff: Staff) -> Response:
    """One ticket: who, what, the transcript, the audit trail and the staff forms."""
    return await render_ticket(request, request.path_params["ref"])


async def render_ticket(
    request: Request,
    ref: str,
    *,
    error: str | None = None,
    drafts: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The ticket page, with an error and the staff member's unsent text when an action failed."""
    page = await run_in_threadpool(load_ticket, request.app.state.db, ref)
    if page is None:
        return PlainTextResponse(f"No ticket {ref}.", status_code=404)
    context = {**page, "error": error, "drafts": drafts or {}}
    return render(request, "ticket.html", context, status_code=status_code)


def load_ticket(db: Engine, ref: str) -> dict[str, Any] | None:
    """Everything the ticket page shows, or None when there is no such ticket."""
    with session_scope(db) as session:
        try:
            ticket = service.get_ticket(session, ref=ref)
        except service.TicketError:
            return None
        lines = service.transcript(session, ticket=ticket)
        return {
            "ticket": ticket,
            "summary": ticket_summary(session, ticket),
            "user": user_label(session, ticket),
            "workable": ticket.status in ACTIVE_STATUSES,
            "transcript": lines,
            "staff_names": staff_names(session, {line.staff_id for line in lines if line.staff_id}),
            "audit": service.audit_trail(session, ticket=ticket),
        }


def staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Staff names by id, for the transcript's replies and notes."""
    if not ids:
        return {}
    return {saved_id(staff): staff.name for staff in session.exec(select(Staff).where(col(Staff.id).in_(ids)))}


@staff_form
async def act(request: Request, staff: Staff, form: FormData) -> Response:
    """Claim, reply, note or resolve; back to the ticket with a confirmation, or the page with the error."""
    action = ACTIONS.get(request.path_params["action"])
    if action is None:
        return PlainTextResponse("No such action.", status_code=404)
    ref = request.path_params["ref"]
    values = {"text": field(form, action.text_field)} if action.text_field else {}
    try:
        done_ref = await run_in_threadpool(perform, request.app.state.db, action.run, ref, saved_id(staff), values)
    except service.TicketError as error:
        drafts = {action.text_field: values["text"]} if action.text_field else {}
        return await render_ticket(request, ref, error=str(error), drafts=drafts, status_code=422)
    flash(request, action.done.format(ref=done_ref))
    return redirect(path_for(request, "ticket", ref=done_ref))


def perform(db: Engine, run: Callable[..., Ticket], ref: str, staff_id: int, values: dict[str, str]) -> str:
    """One staff action in its own transaction; the ticket's reference."""
    with session_scope(db) as session:
        staff = session.get(Staff, staff_id)
        return run(session, ref=ref, staff=staff, **values).ref or ref  # a saved ticket always has its ref
