"""A reminder's words: the campaign's message in the reader's language, their pending courses, the stop line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from bot.i18n import Texts
from bot.models import Course, Enrolment, EnrolmentStatus
from bot.reminders.campaigns import Campaign


@dataclass(frozen=True)
class PendingCourse:
    name: str
    name_hi: str | None
    batch_end_date: date | None
    mandatory: bool = True

    def title(self, lang: str) -> str:
        return self.name_hi if lang == "hi" and self.name_hi else self.name


def pending_courses(
    session: Session, employee_ids: Iterable[int], *, mandatory_only: bool
) -> dict[int, list[PendingCourse]]:
    """Each employee's courses not completed yet (mandatory ones only, if asked), nearest last date first."""
    ids = list(employee_ids)
    found: dict[int, list[PendingCourse]] = {employee_id: [] for employee_id in ids}
    if not ids:
        return found
    query = (
        sql_select(  # five columns: more than sqlmodel's typed select takes
            col(Enrolment.employee_id),
            col(Course.name),
            col(Course.name_hi),
            col(Enrolment.batch_end_date),
            col(Enrolment.mandatory),
        )
        .join(Course, col(Course.id) == Enrolment.course_id)
        .where(col(Enrolment.employee_id).in_(ids), col(Enrolment.status) != EnrolmentStatus.COMPLETED.value)
    )
    if mandatory_only:
        query = query.where(col(Enrolment.mandatory).is_(True))
    for employee_id, name, name_hi, end, mandatory in session.connection().execute(query):
        found[employee_id].append(PendingCourse(name, name_hi, end, bool(mandatory)))
    for courses in found.values():
        courses.sort(key=lambda course: (course.batch_end_date is None, course.batch_end_date or date.max, course.name))
    return found


def nearest_deadline(courses: list[PendingCourse], today: date) -> date | None:
    """The nearest last date still ahead, else the latest one already passed."""
    dates = [course.batch_end_date for course in courses if course.batch_end_date]
    ahead = [day for day in dates if day >= today]
    if ahead:
        return min(ahead)
    return max(dates) if dates else None


@dataclass(frozen=True)
class Rendered:
    text: str  # the whole message, stop line included
    template_variables: dict[str, str]  # the WhatsApp template's {{1}}, {{2}}, ...


def render(
    texts: Texts, campaign: Campaign, lang: str, *, name: str, courses: list[PendingCourse], today: date
) -> Rendered:
    """The campaign's message for one employee in `lang` (en or hi)."""
    lines = []
    for course in courses:
        if course.batch_end_date is None:
            lines.append(texts.t(lang, "• {course}", course=course.title(lang)))
        elif course.batch_end_date < today:
            lines.append(texts.t(lang, "• {course} — last date was {date}", course=course.title(lang),
                                 date=texts.date(lang, course.batch_end_date)))  # fmt: skip
        else:
            lines.append(texts.t(lang, "• {course} — last date {date}", course=course.title(lang),
                                 date=texts.date(lang, course.batch_end_date)))  # fmt: skip
    deadline = nearest_deadline(courses, today)
    values = {
        "name": name,
        "courses": "\n".join(lines),
        "course_names": ", ".join(course.title(lang) for course in courses),
        "deadline": texts.date(lang, deadline) if deadline else texts.t(lang, "no last date given"),
        "count": str(len(courses)),
    }
    message = getattr(campaign.message, lang).format(**values).strip()
    stop = texts.t(lang, "To stop these reminders, reply STOP.")
    variables = {key: value.format(**values) for key, value in campaign.whatsapp_template.variables.items()}
    return Rendered(text=f"{message}\n\n{stop}", template_variables=variables)
