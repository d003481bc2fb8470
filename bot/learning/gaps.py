"""Recording the questions the bot did not answer, inside the transaction that handles the message.

Only the question is kept, with phones, email addresses and long numbers (ids, certificate and
ticket numbers) replaced by placeholders: staff need to see what people ask, never who asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.models import GapKind, MessageOutcome, UnansweredQuestion, utcnow

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


@dataclass
class Recorded:
    """The unanswered questions and message outcomes of one batch of messages, written together at its end:
    one statement per table per batch, in the transaction that writes the replies anyway."""

    questions: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def question(self, *, kind: GapKind, text: str, lang: str | None, channel: str, candidates: Iterable[str]) -> None:
        """Keep one unanswered question (masked; an empty one is not kept)."""
        masked = masked_question(text)
        if masked:
            self.questions.append(
                {"kind": kind, "text": masked, "lang": lang, "channel": channel[:20],
                 "candidates": list(candidates)[:3], "created_at": utcnow()}
            )  # fmt: skip

    def outcome(self, *, channel: str, lang: str, topic: str | None, outcome: str, feedback: str | None) -> None:
        """What became of one message, for the insights (no user, no text)."""
        self.outcomes.append(
            {"channel": channel[:20], "lang": lang, "topic": topic, "outcome": outcome, "feedback": feedback,
             "created_at": utcnow()}
        )  # fmt: skip

    def write(self, session: Session) -> None:
        if self.questions:
            session.connection().execute(UnansweredQuestion.__table__.insert(), self.questions)
        if self.outcomes:
            session.connection().execute(MessageOutcome.__table__.insert(), self.outcomes)
        self.questions, self.outcomes = [], []
