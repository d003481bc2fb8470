"""Logging that never writes a phone number, an email address or what a user wrote."""

from __future__ import annotations

import json
import logging
import re

from bot.phones import mask_phone

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(\+?\d[\d -]{8,}\d)")
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


class MaskingFilter(logging.Filter):
    """A last line of defence: masks phones and emails in every formatted log message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
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
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Lines on stderr (`key=value` text or JSON), with masking on every handler."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs request URLs, and a Telegram URL carries the bot token.
    for noisy in ("httpx", "alembic", "twilio.http_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
