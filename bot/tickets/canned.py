"""Canned answers: replies staff save once, in English and Hindi, and insert in the user's language.

Every change is in the staff audit trail; a deleted answer's texts are kept there.
"""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from bot.access import audit
from bot.models import CannedAnswer, Staff, utcnow
from bot.tickets.service import MAX_REPLY_CHARS

MAX_TITLE_CHARS = 80


class CannedError(ValueError):
    """A canned answer that cannot be saved as given; the message says what to fix."""


def list_canned(session: Session) -> list[CannedAnswer]:
    """Every canned answer, by title."""
    return list(session.exec(select(CannedAnswer).order_by(col(CannedAnswer.title))))


def get_canned(session: Session, canned_id: int) -> CannedAnswer | None:
    return session.get(CannedAnswer, canned_id)


def text_for(answer: CannedAnswer, lang: str) -> str:
    """The answer in the user's language (Hindi for anyone who does not read English)."""
    return answer.text_en if lang == "en" else answer.text_hi


def _checked(session: Session, title: str, text_en: str, text_hi: str, *, own_id: int | None = None) -> tuple[str, ...]:
    title, text_en, text_hi = title.strip(), text_en.strip(), text_hi.strip()
    if not title:
        raise CannedError("give the canned answer a title")
    if len(title) > MAX_TITLE_CHARS:
        raise CannedError(f"the title has {len(title)} characters; keep it under {MAX_TITLE_CHARS}")
    for language, text in (("English", text_en), ("Hindi", text_hi)):
        if not text:
            raise CannedError(f"the {language} text is empty: a canned answer needs both languages")
        if len(text) > MAX_REPLY_CHARS:
            raise CannedError(f"the {language} text has {len(text)} characters; keep it under {MAX_REPLY_CHARS}")
    same_title = session.exec(select(CannedAnswer).where(CannedAnswer.title == title)).first()
    if same_title is not None and same_title.id != own_id:
        raise CannedError(f"there is already a canned answer called '{title}'")
    return title, text_en, text_hi


def create_canned(session: Session, *, title: str, text_en: str, text_hi: str, staff: Staff) -> CannedAnswer:
    title, text_en, text_hi = _checked(session, title, text_en, text_hi)
    answer = CannedAnswer(title=title, text_en=text_en, text_hi=text_hi, updated_by=staff.name)
    session.add(answer)
    session.flush()
    audit.record(session, actor=staff.name, action="canned.created", subject=f"canned:{answer.id}", detail=title)
    return answer


def update_canned(
    session: Session, *, canned_id: int, title: str, text_en: str, text_hi: str, staff: Staff
) -> CannedAnswer:
    answer = session.get(CannedAnswer, canned_id)
    if answer is None:
        raise CannedError("that canned answer does not exist any more")
    title, text_en, text_hi = _checked(session, title, text_en, text_hi, own_id=canned_id)
    changed = [
        name
        for name, old, new in (("title", answer.title, title), ("English", answer.text_en, text_en),
                               ("Hindi", answer.text_hi, text_hi))
        if old != new
    ]  # fmt: skip
    if not changed:
        return answer
    answer.title, answer.text_en, answer.text_hi = title, text_en, text_hi
    answer.updated_at, answer.updated_by = utcnow(), staff.name
    detail = f"{title}: changed {', '.join(changed)}"
    audit.record(session, actor=staff.name, action="canned.updated", subject=f"canned:{canned_id}", detail=detail)
    return answer


def delete_canned(session: Session, *, canned_id: int, staff: Staff) -> str:
    """Delete it; its texts stay in the audit trail. The deleted answer's title."""
    answer = session.get(CannedAnswer, canned_id)
    if answer is None:
        raise CannedError("that canned answer does not exist any more")
    kept = json.dumps({"title": answer.title, "en": answer.text_en, "hi": answer.text_hi}, ensure_ascii=False)
    session.delete(answer)
    audit.record(session, actor=staff.name, action="canned.deleted", subject=f"canned:{canned_id}", detail=kept)
    return answer.title
