"""Recording the questions the bot did not answer, inside the transaction that handles the message.

Only the question is kept, with phones, email addresses and long numbers (ids, certificate and
ticket numbers) replaced by placeholders: staff need to see what people ask, never who asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session

from bot.models import GapKind, UnansweredQuestion

MAX_QUESTION_CHARS = 500
MIN_MASKED_DIGITS = 4  # "form 16" or "7th pay" say what the question is about; "123456" is someone's number
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# Digit runs, possibly split by spaces, dashes or dots ("98765 43210", "+91-98765-43210"), in any script.
_DIGITS = re.compile(r"\+?\d(?:[\d\s.-]*\d)?")
_PHONE_DIGITS = 10


def masked_question(text: str) -> str:
    """The question with emails, phone numbers and other long numbers replaced, cut to a sane length."""
    text = _EMAIL.sub("[email]", text)
    return _DIGITS.sub(_masked_number, text)[:MAX_QUESTION_CHARS].strip()


def _masked_number(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group(0))
    if digits >= _PHONE_DIGITS:
        return "[phone]"
    if digits >= MIN_MASKED_DIGITS:
        return "[number]"
    return match.group(0)


def record(
    session: Session, *, kind: GapKind, text: str, lang: str | None, channel: str, candidates: Iterable[str]
) -> None:
    """Keep one unanswered question; the caller's transaction commits it with the reply."""
    question = masked_question(text)
    if question:
        kept = list(candidates)[:3]
        session.add(UnansweredQuestion(kind=kind, text=question, lang=lang, channel=channel[:20], candidates=kept))
