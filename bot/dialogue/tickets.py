"""Replies about helpdesk tickets, and the messages staff actions send to users."""

from __future__ import annotations

from bot.i18n import Texts
from bot.messages import Option, Reply
from bot.models import Ticket, TicketStatus

RATING_KEYS = tuple(f"rate:{stars}" for stars in range(1, 6))


class TicketReplies:
    """Composes ticket texts in the user's language; knows nothing of channels or the database."""

    def __init__(self, texts: Texts):
        self.texts = texts

    def t(self, lang: str, message: str, **values: object) -> str:
        return self.texts.t(lang, message, **values)

    def opened(self, lang: str, ticket: Ticket, sla_hours: int, *, not_understood: bool = False) -> Reply:
        lead = (
            self.t(lang, "I could not understand that twice, so I have passed your question to the helpdesk.")
            if not_understood
            else self.t(lang, "I have passed your question to the helpdesk.")
        )
        body = self.t(
            lang,
            "Your reference is {ref}. A helpdesk person will reply in this chat, usually within {hours} hours. "
            "Write here anything else they should know, or send a screenshot. Type menu to go back to questions.",
            ref=ticket.ref,
            hours=sla_hours,
        )
        return Reply(f"{lead} {body}")

    def already_open(self, lang: str, ticket: Ticket) -> Reply:
        return Reply(
            self.t(
                lang,
                "Your request {ref} is already with the helpdesk. Write here what you want to add; "
                "they will reply in this chat. Type menu to go back to questions.",
                ref=ticket.ref,
            )
        )

    def added(self, lang: str, ticket: Ticket) -> Reply:
        return Reply(
            self.t(
                lang,
                "Added to your request {ref}. The helpdesk will reply here. Type menu to go back to questions.",
                ref=ticket.ref,
            )
        )

    def also_added(self, lang: str, ticket: Ticket) -> str:
        """Said under an FAQ answer given while the user's ticket is open."""
        return self.t(lang, "I have also added your message to your ticket {ref}.", ref=ticket.ref)

    def attachment_without_ticket(self, lang: str) -> Reply:
        return Reply(
            self.t(
                lang,
                "I cannot read pictures, voice notes or files. Please type your question in words. "
                'To send a screenshot to the helpdesk, first write "talk to a person", then send it.',
            )
        )

    def status_list(self, lang: str, tickets: list[Ticket]) -> Reply:
        if not tickets:
            return Reply(self.t(lang, 'You have no helpdesk requests. To ask a person, write "talk to a person".'))
        lines = [self.t(lang, "Your helpdesk requests:")]
        lines.extend(f"• {ticket.ref} — {self.status_name(lang, ticket.status)}" for ticket in tickets)
        return Reply("\n".join(lines))

    def status_name(self, lang: str, status: str) -> str:
        return {
            TicketStatus.OPEN: self.t(lang, "waiting for a helpdesk person"),
            TicketStatus.ASSIGNED: self.t(lang, "a helpdesk person is working on it"),
            TicketStatus.WAITING_FOR_USER: self.t(lang, "the helpdesk replied and waits for you"),
            TicketStatus.RESOLVED: self.t(lang, "resolved"),
            TicketStatus.CLOSED: self.t(lang, "closed"),
        }[TicketStatus(status)]

    def rated(self, lang: str) -> Reply:
        return Reply(self.t(lang, "Thank you for your rating! Write to me any time you need help."))

    def notice(self, lang: str, kind: str, text: str, options: tuple[Option, ...], ref: str | None) -> Reply:
        """A queued message of this `kind` for the user, framed in their language (`ref`: its ticket's)."""
        ref = ref or ""
        if kind == "rating_request":
            labels = (
                self.t(lang, "1 - Poor"),
                self.t(lang, "2 - Fair"),
                self.t(lang, "3 - Good"),
                self.t(lang, "4 - Very good"),
                self.t(lang, "5 - Excellent"),
            )
            return Reply(
                self.t(
                    lang,
                    "Your helpdesk request {ref} has been marked resolved. How would you rate the help you got?",
                    ref=ref,
                ),
                tuple(Option(key, label) for key, label in zip(RATING_KEYS, labels, strict=True)),
            )
        if kind == "staff_reply":
            framed = self.t(lang, "Helpdesk reply to {ref}:", ref=ref) + f"\n{text}\n\n"
            return Reply(framed + self.t(lang, "Reply here if you need more help, or type menu."))
        return Reply(text, options)
