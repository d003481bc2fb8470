"""Twilio's signed form posts: size and type checks, the form parsed strictly, the signature verified."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from twilio.request_validator import RequestValidator

from bot.config import Settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # Twilio's webhook forms are a few kB even with ten media items
MAX_FORM_FIELDS = 200
FORM = "application/x-www-form-urlencoded"


class Refused(Exception):
    """A webhook request that is not handled, with the HTTP status that says why."""

    def __init__(self, status_code: int, reason: str):
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


async def verified_form(request: Request, settings: Settings) -> FormData:
    """The request's form fields, once the body is a small form and Twilio's signature checks out."""
    signature = request.headers.get("x-twilio-signature")
    if not settings.twilio_auth_token:
        raise Refused(403, "WhatsApp is not configured")
    if not signature:
        raise Refused(403, "missing signature")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise Refused(415, "expected application/x-www-form-urlencoded")
    body = await read_body(request, MAX_BODY_BYTES)
    form = parse_form(body)
    url = signed_url(request, settings.public_base_url)
    if not RequestValidator(settings.twilio_auth_token).validate(url, form, signature):
        logger.warning("twilio webhook with an invalid signature path=%s", request.url.path)
        raise Refused(403, "invalid signature")
    return form


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "bad Content-Length")
        if int(declared) > limit:
            raise Refused(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, "body too large")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "client disconnected") from None
    return b"".join(chunks)


def parse_form(body: bytes) -> FormData:
    """An url-encoded UTF-8 form; anything else is a malformed request (400)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:  # UnicodeDecodeError is one too
        raise Refused(400, "malformed form body") from None
    # Starlette declares an invariant list of str-or-upload pairs; a list of str pairs is one.
    return FormData(pairs)  # type: ignore[arg-type]


def signed_url(request: Request, public_base_url: str | None) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (+ query) behind a proxy, else the request's own."""
    if not public_base_url:
        return str(request.url)
    url = public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url
