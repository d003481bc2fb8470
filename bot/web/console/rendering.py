"""Pages of the console: templates and their filters, links that survive a proxy, redirects, notices."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.numbers import format_decimal
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.logs import mask_pii
from bot.web.console.csrf import csrf_token
from bot.web.console.nav import visible_entries

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


def console_templates(zone: ZoneInfo) -> Jinja2Templates:
    """The Jinja2 templates, autoescaped, with the console's filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = partial(local_time, zone=zone)
    env.filters["masked"] = mask_pii
    env.filters["words"] = lambda value: str(value).replace("_", " ")
    env.filters["duration"] = duration
    env.filters["number"] = number
    env.filters["percent"] = percent
    return Jinja2Templates(env=env, context_processors=[console_context])


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """A timestamp in the deployment's time zone, e.g. `21 Nov 2026, 14:05 IST`."""
    return moment.astimezone(zone).strftime("%d %b %Y, %H:%M %Z") if moment else ""


def duration(span: timedelta) -> str:
    """`45 min`, `5 h`, `3 d 4 h`: how long, to the precision a queue needs."""
    minutes = int(abs(span).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"


def number(value: int) -> str:
    """A count as India writes it: 12,34,567."""
    return format_decimal(value, locale="en_IN")


def percent(rate: float) -> str:
    """A rate 0..1 as a percentage to one decimal where it matters: 62.5%, 100% (only when all are done)."""
    text = f"{min(rate * 100, 99.9) if rate < 1 else 100:.1f}".removesuffix(".0")
    return f"{text}%"


def console_context(request: Request) -> dict[str, Any]:
    """What every template gets: the CSRF token, links, who is signed in and the pages they may open."""
    staff = getattr(request.state, "staff", None)
    return {
        "csrf_token": csrf_token(request),
        "path_for": partial(path_for, request),
        "static": partial(static_path, request),
        "signed_in_as": staff.name if staff is not None else None,
        "nav": visible_entries(request, staff),
        "current_nav": getattr(request.state, "nav", None),
    }


def path_for(request: Request, route: str, /, **params: Any) -> str:
    """A console route's path, wherever the console is mounted (a path, so proxies keep the scheme)."""
    return str(request.scope["root_path"]) + str(request.app.url_path_for(route, **params))


@lru_cache(maxsize=64)
def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_path(request: Request, name: str) -> str:
    """A static file's path with its content's fingerprint: cached for long, refetched when it changes."""
    return f"{path_for(request, 'static', path=name)}?v={_fingerprint(name)}"


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A page, showing (once) any notice left by the previous request."""
    templates: Jinja2Templates = request.app.state.templates
    context = {"notice": request.session.pop("flash", None), "error": None, **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a form, the browser fetches the next page with GET."""
    return RedirectResponse(url, status_code=303)


def flash(request: Request, text: str) -> None:
    """A short message for the next page the browser loads."""
    request.session["flash"] = text


def field(form: FormData, name: str) -> str:
    """A text field of the form, empty when missing (or when a file was sent in its place)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
