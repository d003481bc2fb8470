"""Cross-site request forgery: every console form carries its session's token, checked on POST."""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse

CSRF_FIELD = "csrf_token"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use (the login page makes it before anyone logs in)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
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
