"""Logs never carry phones, emails or what users wrote; JSON lines for collectors."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from bot.logs import JsonFormatter, MaskingFilter, configure_logging, mask, mask_pii


def test_phones_and_emails_are_masked_but_dates_and_refs_are_not():
    text = "call 98765 43210 or +91-98765-43210, mail ramesh.kumar@up.gov.in on 2026-11-20 about HD-000123"
    assert mask_pii(text) == "call ******3210 or +91******3210, mail r***@up.gov.in on 2026-11-20 about HD-000123"


def test_user_keys_and_messages_are_reduced():
    assert mask("+919876543210") == "+91******3210"
    assert mask("123456789") == "*****6789"  # long digit ids are treated like phones, to be safe
    assert mask("42") == "42"
    assert mask("mera naam Ramesh hai") == "<text 20 chars>"


def test_json_lines_are_masked_too():
    record = logging.LogRecord(
        "bot", logging.INFO, __file__, 1, "user %s wrote from %s", ("a@b.gov.in", "+919876543210"), None
    )
    MaskingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "user a***@b.gov.in wrote from +91******3210"
    assert entry["level"] == "INFO" and entry["logger"] == "bot"


def failing_turn(text: str) -> None:
    """A bug meeting a user's message: the exception carries the text, the phone and the email."""
    try:
        raise KeyError(text)
    except KeyError as error:
        raise ValueError(f"could not answer {text!r} for +919876543210 (ramesh.kumar@up.gov.in)") from error


SAID = " ".join(["mera naam Ramesh hai,", "mera certificate nahi aaya"])  # what the user wrote


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_tracebacks_are_masked_like_every_line(log_format, capsys):
    configure_logging("INFO", log_format)
    try:
        failing_turn(SAID)
    except ValueError:
        logging.getLogger("bot.dialogue.engine").exception("failed to handle a message")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")  # uvicorn's own
    logged = capsys.readouterr().err
    if log_format == "json":
        logged = "\n".join(json.loads(line)["exception"] for line in logged.splitlines())
    assert logged.count("Traceback (most recent call last)") == 4 and "failing_turn" in logged  # still useful
    masked = f"<text {len(SAID)} chars>"
    assert f"ValueError: could not answer {masked} for +91******3210 (r***@up.gov.in)" in logged
    assert f"KeyError: {masked}" in logged and "direct cause" in logged
    for secret in ("9876543210", "ramesh.kumar", "mera naam", "certificate nahi"):
        assert secret not in logged


def test_a_cached_unmasked_traceback_is_not_reused(capsys):
    configure_logging("INFO", "text")
    try:
        failing_turn(SAID)
    except ValueError:
        record = logging.getLogger("bot").makeRecord("bot", logging.ERROR, __file__, 1, "x", (), sys.exc_info())
    record.exc_text = logging.Formatter().formatException(record.exc_info)  # another formatter's cache
    logging.getLogger("bot").handle(record)
    assert "mera naam" not in capsys.readouterr().err
