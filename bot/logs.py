"""Logging that never writes a phone number, an email address or what a user wrote, tracebacks included."""

from __future__ import annotations

import json
import logging
import re
import traceback
from types import TracebackType

from bot.phones import mask_phone

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(\+?\d[\d -]{8,}\d)")
_QUOTED = re.compile(
    r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
)  # 'text' or "text", as repr() and SQL params show it
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
MIN_PHONE_DIGITS = 10  # shorter digit runs are dates, amounts or ids, not phone numbers


def mask_pii(text: str) -> str:
    """The text with email addresses and phone-like digit runs masked."""
    text = _EMAIL.sub(lambda match: f"{match.group(1)}***@{match.group(2)}", text)
    return _PHONE.sub(_mask_phone_like, text)


def _mask_phone_like(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group(1))
    return mask_phone(match.group(1)) if digits >= MIN_PHONE_DIGITS else match.group(1)


def mask(value: str) -> str:
    """A user key or a message, fit for a log line: message text is reduced to its length."""
    if re.fullmatch(r"\+?[\d -]{7,}", value.strip()):
        return mask_phone(value)
    if value.isdigit():
        return value  # a short numeric id says nothing about anyone (longer ones were masked above)
    return f"<text {len(value)} chars>"


def mask_exception_message(text: str) -> str:
    """An exception's message fit for a log: quoted values (what `repr` and SQL parameters show, where
    user text ends up) reduced to their length, phones and emails masked."""
    return mask_pii(_QUOTED.sub(lambda match: f"<text {len(match.group(0)) - 2} chars>", text))


def masked_traceback(error: BaseException) -> str:
    """The traceback as Python prints it, chained exceptions included, each exception's message masked.
    The frames show code, file and line only, which is what a developer needs."""
    chain: list[tuple[BaseException, str | None]] = []  # each exception, and how it led to the one before
    seen: set[int] = set()
    current: BaseException | None = error
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    lines: list[str] = []
    for exception, leads_on in reversed(chain):
        if exception.__traceback__ is not None:  # code, files and lines; a phone in them is masked all the same
            frames = traceback.format_tb(exception.__traceback__)
            lines += ["Traceback (most recent call last):\n", *(mask_pii(frame) for frame in frames)]
        kind = type(exception)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        message = mask_exception_message(str(exception))
        lines.append(f"{name}: {message}\n" if message else f"{name}\n")
        if leads_on:
            lines.append(leads_on)
    return "".join(lines).rstrip("\n")


class MaskingFormatter(logging.Formatter):
    """A formatter whose tracebacks and stack dumps are masked too (a cached unmasked text is ignored)."""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None  # whatever another formatter cached, this one writes its own
        return super().format(record)

    def formatException(
        self, ei: tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
    ) -> str:
        return masked_traceback(ei[1]) if ei[1] is not None else ""

    def formatStack(self, stack_info: str) -> str:
        return mask_pii(stack_info)


class MaskingFilter(logging.Filter):
    """A last line of defence: masks phones and emails in every formatted log message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(MaskingFormatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Lines on stderr (`key=value` text or JSON), with masking on every handler."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's loggers (an "Exception in ASGI application" traceback among them) go through this
    # handler too, never a handler of their own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx logs request URLs, and a Telegram URL carries the bot token.
    for noisy in ("httpx", "alembic", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
