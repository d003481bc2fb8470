"""Logs never carry phones, emails or what users wrote; JSON lines for collectors."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, MaskingFilter, mask, mask_pii


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
