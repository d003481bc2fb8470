"""The staff console under /staff, an ASGI app of its own: its sessions, CSRF and headers stay inside.

Each page is a module with its `routes` and its `nav` entry (bot/web/console/nav.py); `PAGES` lists
them in navigation order. A later page (unanswered questions, insights, reports, imports,
campaigns) is one more module here, its routes guarded by `console_page(roles...)`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from types import ModuleType
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.access.roles import works_tickets
from bot.brain import Brain
from bot.config import Settings
from bot.models import Staff
from bot.web.console import (
    accounts,
    campaigns,
    canned,
    files,
    imports,
    insights,
    knowledge,
    queue,
    redelivery,
    reports,
    ticket,
)
from bot.web.console.auth import SESSION_COOKIE, console_page, login, login_page, logout
from bot.web.console.nav import visible_entries
from bot.web.console.rendering import STATIC, console_templates, path_for, redirect

logger = logging.getLogger(__name__)

STAFF_PREFIX = "/staff"
PAGES: tuple[ModuleType, ...] = (
    queue,
    canned,
    knowledge,
    insights,
    reports,
    imports,
    campaigns,
    accounts,
)  # the navigation, in order
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
HSTS = "max-age=31536000"  # a year: browsers then never try the console over plain http
STATIC_CACHE = "public, max-age=31536000, immutable"  # static links carry their content's fingerprint

__all__ = ["SECURITY_HEADERS", "SESSION_COOKIE", "STAFF_PREFIX", "served_over_https", "staff_console"]


class SecurityHeaders:
    """Adds the console's security headers to every response it sends, and HSTS behind https."""

    def __init__(self, app: ASGIApp, *, https: bool):
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        static = scope.get("path", "").startswith(f"{scope.get('root_path', '')}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if static:
                    headers["Cache-Control"] = STATIC_CACHE  # slow networks: fonts and styles fetched once
                if self.https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def served_over_https(settings: Settings) -> bool:
    """Whether browsers reach the console over https: STAFF_COOKIE_SECURE, else PUBLIC_BASE_URL's scheme."""
    if settings.staff_cookie_secure is not None:
        return settings.staff_cookie_secure
    return (settings.public_base_url or "").lower().startswith("https://")


def session_secret(settings: Settings) -> str:
    """The configured cookie-signing key, else a random one for this process."""
    if settings.staff_session_secret:
        return settings.staff_session_secret
    logger.warning(
        "STAFF_SESSION_SECRET is not set: console logins end when the server restarts "
        "and a login on one worker is not valid on another"
    )
    return secrets.token_urlsafe(32)


@console_page()
async def home(request: Request, staff: Staff) -> Response:
    """The queue for those who work tickets; anyone else starts at the first page their role has."""
    if works_tickets(staff):
        return await queue.show(request, staff)
    return redirect(path_for(request, visible_entries(request, staff)[0].route))


def staff_console(*, settings: Settings, db: Engine, brain: Callable[[], Brain]) -> Starlette:
    """The console app; `brain` gives the knowledge in use now (topic titles), which may change while running."""
    routes: list[BaseRoute] = [
        Route("/", home, name="home"),
        Route("/login", login_page, methods=["GET"], name="login"),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"], name="logout"),
        *ticket.routes,
        *redelivery.routes,
        *files.routes,
        *(route for page in PAGES for route in page.routes),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    https = served_over_https(settings)
    session_seconds = settings.staff_session_hours * 3600
    middleware = [
        Middleware(SecurityHeaders, https=https),
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(settings),
            session_cookie=SESSION_COOKIE,
            max_age=session_seconds,
            # "/" rather than the mount path: behind a proxy that adds a prefix, a narrower path would
            # never match and every login would bounce (cookie paths are no security boundary anyway).
            path="/",
            same_site="strict",
            https_only=https,
        ),
    ]
    console = Starlette(routes=routes, middleware=middleware)
    console.state.settings = settings
    console.state.db = db
    console.state.brain = brain
    console.state.nav = [entry for page in PAGES for entry in page.nav]
    console.state.templates = console_templates(ZoneInfo(settings.timezone))
    return console
