"""One ticket: the conversation since it opened (the turns before it folded), the reply box right
after it with the canned answers, notes, resolving, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access.roles import TICKET_ROLES
from bot.brain import Brain
from bot.config import Settings
from bot.db import session_scope
from bot.models import ACTIVE_STATUSES, Staff, Ticket, utcnow
from bot.tickets import canned, delivery, service
from bot.tickets.presenting import shown_text, staff_names, ticket_summary, user_of
from bot.tickets.staff import find_staff
from bot.topics import topic_title
from bot.web.console.auth import console_form, console_page
from bot.web.console.knowledge import PUBLISH_ROLES
from bot.web.console.rendering import field, flash, path_for, redirect, render

LANGUAGES = {"en": "English", "hi": "Hindi"}
REASON_LABELS = {
    "duplicate": "Duplicate of another ticket",
    "user_unreachable": "The user cannot be reached",
    "solved_elsewhere": "Solved elsewhere (phone, office visit)",
}


@dataclass(frozen=True)
class StaffAction:
    """A form on the ticket page and the service call behind it."""

    run: Callable[..., Ticket]
    text_field: str | None  # the form field passed to the service as `text`, if any
    done: str  # the confirmation shown afterwards; {ref} is the ticket


ACTIONS = {
    "claim": StaffAction(service.claim, None, "You claimed {ref}."),
    "reply": StaffAction(service.reply, "reply", "Reply to {ref} queued for the user on their channel."),
    "note": StaffAction(service.add_note, "note", "Internal note added to {ref}."),
    "resolve": StaffAction(service.resolve, None, "{ref} resolved; the user is asked for a rating."),
}
DELIVERY_LABELS = {
    "queued": "Queued",
    "held": "Held",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "failed": "Failed",
}
INLINE_KINDS = ("photo", "sticker")  # shown as images; other files the user sent are downloads
RESOLVED_WITH_REASON = "{ref} resolved ({reason}); no rating is asked."


def load_ticket(db: Engine, brain: Brain, ref: str, lang: str, settings: Settings) -> dict[str, Any] | None:
    """Everything the ticket page shows, or None when there is no such ticket."""
    with session_scope(db) as session:
        try:
            ticket = service.get_ticket(session, ref=ref)
        except service.TicketError:
            return None
        lines = service.transcript(session, ticket=ticket)
        first = service.first_messages(session, [ticket]).get(ticket.id or 0)
        sent = delivery.deliveries(session, ticket)
        now = utcnow()
        return {
            "ticket": ticket,
            "summary": ticket_summary(session, ticket),
            "user": user_of(session, ticket),
            "topic": topic_title(brain, ticket.category, lang),
            "question": shown_text(first) if first else "",
            "age": now - ticket.created_at,
            "sla_left": ticket.sla_due_at - now,
            "workable": ticket.status in ACTIVE_STATUSES,
            "before": [line for line in lines if line.before_ticket],
            "since": [line for line in lines if not line.before_ticket],
            "staff_names": staff_names(session, {line.staff_id for line in lines if line.staff_id}),
            "deliveries": sent,
            "not_delivered": bool(delivery.undelivered(session, [ticket.id or 0], now)),
            "template_ready": ticket.channel == "whatsapp"
            and delivery.reply_template(settings.twilio_reply_templates, ticket.lang, settings.default_language)
            is not None,
            "audit": service.audit_trail(session, ticket=ticket),
            "canned": [
                (answer.id, answer.title, canned.text_for(answer, ticket.lang))
                for answer in canned.list_canned(session)
            ],
        }


async def render_ticket(
    request: Request,
    ref: str,
    staff: Staff,
    *,
    error: str | None = None,
    drafts: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The ticket page, with an error and the staff member's unsent text when an action failed."""
    brain = request.app.state.brain()
    state = request.app.state
    page = await run_in_threadpool(load_ticket, state.db, brain, ref, staff.lang, state.settings)
    if page is None:
        return PlainTextResponse(f"No ticket {ref}.", status_code=404)
    context = {
        **page,
        "error": error,
        "drafts": drafts or {},
        "languages": LANGUAGES,
        "reasons": REASON_LABELS,
        "delivery_labels": DELIVERY_LABELS,
        "inline_kinds": INLINE_KINDS,
        "may_publish": staff.role in PUBLISH_ROLES,
    }
    request.state.nav = "tickets"
    return render(request, "ticket.html", context, status_code=status_code)


@console_page(*TICKET_ROLES)
async def ticket_page(request: Request, staff: Staff) -> Response:
    """One ticket: who, what, the conversation, the staff forms and the audit trail."""
    return await render_ticket(request, request.path_params["ref"], staff)


def perform(db: Engine, run: Callable[..., Ticket], ref: str, name: str, values: dict[str, Any]) -> str:
    """One staff action in its own transaction; the ticket's reference."""
    with session_scope(db) as session:
        return run(session, ref=ref, staff=find_staff(session, name=name), **values).ref or ref


@console_form(*TICKET_ROLES)
async def act(request: Request, staff: Staff, form: FormData) -> Response:
    """Claim, reply, note or resolve; back to the ticket with a confirmation, or the page with the error."""
    name = request.path_params["action"]
    action = ACTIONS.get(name)
    if action is None:
        return PlainTextResponse("No such action.", status_code=404)
    ref = request.path_params["ref"]
    values: dict[str, Any] = {"text": field(form, action.text_field)} if action.text_field else {}
    reason = field(form, "reason") or None
    if name == "resolve":
        values["reason"] = reason
    try:
        done_ref = await run_in_threadpool(perform, request.app.state.db, action.run, ref, staff.name, values)
    except service.TicketError as error:
        drafts = {action.text_field: values["text"]} if action.text_field else {}
        return await render_ticket(request, ref, staff, error=str(error), drafts=drafts, status_code=422)
    if name == "resolve" and reason:
        flash(request, RESOLVED_WITH_REASON.format(ref=done_ref, reason=service.RESOLVE_REASONS[reason]))
    else:
        flash(request, action.done.format(ref=done_ref))
    return redirect(path_for(request, "ticket", ref=done_ref))


def _canned_text(db: Engine, ref: str, canned_id: str) -> str | None:
    """The canned answer in the language of the ticket's user; None if either is gone."""
    with session_scope(db) as session:
        answer = canned.get_canned(session, int(canned_id)) if canned_id.isdigit() else None
        try:
            ticket = service.get_ticket(session, ref=ref)
        except service.TicketError:
            return None
        return canned.text_for(answer, ticket.lang) if answer else None


@console_form(*TICKET_ROLES)
async def insert_canned(request: Request, staff: Staff, form: FormData) -> Response:
    """Without JavaScript: the chosen canned answer, in the user's language, added to the reply box."""
    ref, draft = request.path_params["ref"], field(form, "reply")
    text = await run_in_threadpool(_canned_text, request.app.state.db, ref, field(form, "canned"))
    if text is None:
        error = "Choose a canned answer first (or it was deleted meanwhile)."
        return await render_ticket(request, ref, staff, error=error, drafts={"reply": draft}, status_code=422)
    joined = f"{draft.rstrip()}\n\n{text}" if draft.strip() else text
    return await render_ticket(request, ref, staff, drafts={"reply": joined})


routes = [
    Route("/tickets/{ref}", ticket_page, name="ticket"),
    Route("/tickets/{ref}/insert", insert_canned, methods=["POST"], name="insert"),
    Route("/tickets/{ref}/{action}", act, methods=["POST"], name="act"),
]
