"""Replies about an employee's own courses, in their language."""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import Texts
from bot.messages import Option, Reply
from bot.phones import mask_phone
from bot.records.status import CourseLine, StatusView


class StatusReplies:
    """Composes status texts; knows nothing of channels or the database."""

    def __init__(self, texts: Texts):
        self.texts = texts

    def t(self, lang: str, message: str, **values: object) -> str:
        return self.texts.t(lang, message, **values)

    def status(self, lang: str, view: StatusView) -> Reply:
        """All of the employee's enrolments with hints where the data says more than the FAQ."""
        t = self.t
        header = t(lang, "{name}, your courses (records for {phone}):", name=view.name, phone=mask_phone(view.phone))
        if not view.courses:
            return Reply(f"{header}\n\n{self.no_enrolments(lang)}")
        # The verb agrees with the number completed: "1 कोर्स पूरा", "3 कोर्स पूरे".
        summary = self.texts.n(
            lang,
            "{done} of {total} completed; {mandatory} mandatory still pending.",
            "{done} of {total} completed; {mandatory} mandatory still pending.",
            len(view.completed),
            done=len(view.completed),
            total=len(view.courses),
            mandatory=len(view.pending_mandatory),
        )
        sections = [f"{header}\n{summary}"]
        groups = (
            (
                t(lang, "Mandatory courses not yet completed:"),
                [line for line in view.courses if line.pending and line.mandatory],
            ),
            (
                t(lang, "Other courses not yet completed:"),
                [line for line in view.courses if line.pending and not line.mandatory],
            ),
            (t(lang, "Completed courses:"), list(view.completed)),
        )
        for title, lines in groups:
            if lines:
                sections.append("\n".join([title, *(self.course_line(lang, line) for line in lines)]))
        hints = self.hints(lang, view.courses)
        sections.extend(hints)
        options = (
            (Option("intent:human", t(lang, "Talk to a person")),)
            if any(line.certificate_late for line in view.courses)
            else ()
        )
        return Reply("\n\n".join(sections), options)

    def section(self, lang: str, view: StatusView, topic: str) -> str:
        """The part of the status a personal FAQ answer is about; nothing is said that the records do
        not show (no "all your certificates are ready" for someone with no course at all)."""
        t = self.t
        if not view.courses:
            return self.no_enrolments(lang)
        if topic == "course.mandatory":
            lines = view.pending_mandatory
            empty = t(lang, "You have no pending mandatory courses in the records.")
            title = t(lang, "Your pending mandatory courses:")
        elif topic == "certificate.not_generated":
            lines = tuple(line for line in view.courses if not line.pending and not line.certificate_generated)
            empty = (
                t(lang, "All your completed courses in the records have their certificates.")
                if view.completed
                else t(lang, "None of your courses is completed in the records yet.")
            )
            title = t(lang, "Your completed courses without a certificate:")
        else:
            lines = tuple(line for line in view.courses if line.pending and line.progress > 0)
            empty = t(lang, "You have no course in progress in the records.")
            title = t(lang, "Your courses in progress, as the last report shows them:")
        if not lines:
            return empty
        return "\n".join([title, *(self.course_line(lang, line) for line in lines), *self.hints(lang, lines)])

    def no_enrolments(self, lang: str) -> str:
        return self.t(
            lang,
            "No course enrolments are in your department's report yet. "
            "Courses you join on iGOT appear here after the next report is imported.",
        )

    def only_own(self, lang: str) -> str:
        """Said when someone asks for another person's status: the bot never shows it."""
        return self.t(
            lang,
            "I can show only your own course status, for the mobile number this chat is linked to, "
            "never another person's.",
        )

    def course_line(self, lang: str, line: CourseLine) -> str:
        t = self.t
        parts = [f"• {line.title(lang)}"]
        if not line.pending:
            done = (
                t(lang, "completed on {date}", date=self.texts.date(lang, line.completed_on))
                if line.completed_on
                else t(lang, "completed")
            )
            parts.append(done)
            parts.append(
                t(lang, "certificate ready") if line.certificate_generated else t(lang, "certificate not generated yet")
            )
        else:
            state = (
                t(lang, "not started")
                if line.progress == 0
                else t(lang, "in progress, {progress}%", progress=line.progress)
            )
            parts.append(state)
            if line.batch_end_date:
                parts.append(t(lang, "ends {date}", date=self.texts.date(lang, line.batch_end_date)))
        return " — ".join(parts)

    def hints(self, lang: str, lines: Iterable[CourseLine]) -> list[str]:
        t = self.t
        hints = []
        for line in lines:
            if line.past_end_date and line.mandatory and line.batch_end_date:
                hints.append(
                    t(
                        lang,
                        '"{course}" ended on {date} and can no longer be resumed. '
                        "Ask your MDO admin or nodal officer about a new batch.",
                        course=line.title(lang),
                        date=self.texts.date(lang, line.batch_end_date),
                    )
                )
            if line.certificate_late:
                hints.append(
                    t(
                        lang,
                        '"{course}" is finished but its certificate has not appeared for more than 24 hours. '
                        'Reply "talk to a person" and the helpdesk will look into it.',
                        course=line.title(lang),
                    )
                )
        return hints

    def share_phone(self, lang: str) -> Reply:
        return Reply(
            self.t(
                lang,
                "To show your own course status I need your mobile number, confirmed by the app you are writing from. "
                "Please share it with the button below. It must be the number in your iGOT profile.",
            ),
            request_phone=self.t(lang, "Share my phone number"),
        )

    def unknown_phone(self, lang: str, phone: str) -> Reply:
        return Reply(
            self.t(
                lang,
                "I could not find {phone} in your department's iGOT records. "
                "I can show course status only for the mobile number that is in your iGOT profile "
                "and your department's records. "
                "If that is this number, your department may not have sent its latest report yet. "
                "Would you like to ask a helpdesk person?",
                phone=mask_phone(phone),
            ),
            (Option("intent:human", self.t(lang, "Talk to a person")), Option("intent:help", self.t(lang, "Menu"))),
            yes_no=("intent:human", "intent:help"),
        )

    def ambiguous_phone(self, lang: str, phone: str) -> Reply:
        return Reply(
            self.t(
                lang,
                "{phone} appears in the records of more than one employee, so I cannot show any course status for it. "
                "Please ask your MDO admin to correct the records, or ask a helpdesk person.",
                phone=mask_phone(phone),
            ),
            (Option("intent:human", self.t(lang, "Talk to a person")),),
        )
