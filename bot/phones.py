"""Phone numbers: Indian report formats to E.164, and masking for display and logs."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")
_INDIAN_MOBILE = re.compile(r"[6-9]\d{9}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{7,14}")


class PhoneError(ValueError):
    """Not a phone number the bot can use."""


def to_e164(raw: str) -> str:
    """`98765 43210`, `+91 98765-43210`, `919876543210` or `09876543210` -> `+919876543210`."""
    raw = raw.strip()
    if len(raw) == 10 and raw.isdigit() and raw[0] in "6789":
        return "+91" + raw  # the common case, without the regular expressions
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("whatsapp:"):
        digits = digits.removeprefix("whatsapp:")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("+"):
        if digits.startswith("+91") and not _INDIAN_MOBILE.fullmatch(digits[3:]):
            raise PhoneError(f"not an Indian mobile number: {raw!r}")
        if not _INTERNATIONAL.fullmatch(digits):
            raise PhoneError(f"not a phone number: {raw!r}")
        return digits
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if not _INDIAN_MOBILE.fullmatch(digits):
        raise PhoneError(f"not a 10-digit mobile number: {raw!r}")
    return "+91" + digits


def mask_phone(phone: str) -> str:
    """`+919876543210` -> `+91******3210`: enough for a person to recognise their own number."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    country = digits[:2] if phone.strip().startswith("+") and len(digits) > 10 else ""
    hidden = len(digits) - len(country) - 4
    return f"{'+' if country else ''}{country}{'*' * hidden}{digits[-4:]}"


def mask_email(email: str) -> str:
    """`sunita.sahu@cg.gov.in` -> `s***@cg.gov.in`."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "***"
