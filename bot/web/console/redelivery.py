"""A staff reply that did not get through: "try again", or on WhatsApp "send as template"."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access.roles import TICKET_ROLES
from bot.config import Settings
from bot.db import session_scope
from bot.models import Staff
from bot.tickets import delivery, service
from bot.tickets.staff import find_staff
from bot.web.console.auth import console_form
from bot.web.console.rendering import flash, path_for, redirect
from bot.web.console.ticket import render_ticket

DONE = {
    "retry": "The reply on {ref} is queued again.",
    "template": "The reply on {ref} goes to the user inside the approved WhatsApp template.",
}


def redeliver(db: Engine, settings: Settings, how: str, ref: str, outbox_id: int, name: str) -> str:
    """Re-queue the reply in its own transaction; the ticket's reference."""
    with session_scope(db) as session:
        staff = find_staff(session, name=name)
        if how == "retry":
            return delivery.try_again(session, ref=ref, staff=staff, outbox_id=outbox_id).ref or ref
        ticket = service.get_ticket(session, ref=ref)
        sid = delivery.reply_template(settings.twilio_reply_templates, ticket.lang, settings.default_language)
        if sid is None:
            raise service.TicketError(
                f"no approved reply template for {ticket.lang}: set TWILIO_REPLY_TEMPLATES to send replies as templates"
            )
        sent = delivery.send_as_template(session, ref=ref, staff=staff, outbox_id=outbox_id, template_sid=sid)
        return sent.ref or ref


@console_form(*TICKET_ROLES)
async def redeliver_reply(request: Request, staff: Staff, form: FormData) -> Response:
    """Back to the ticket with a confirmation, or the page with why it could not be done."""
    how, ref = request.path_params["how"], request.path_params["ref"]
    if how not in DONE:
        return PlainTextResponse("No such action.", status_code=404)
    state = request.app.state
    try:
        done = await run_in_threadpool(
            redeliver, state.db, state.settings, how, ref, request.path_params["outbox_id"], staff.name
        )
    except service.TicketError as error:
        return await render_ticket(request, ref, staff, error=str(error), status_code=422)
    flash(request, DONE[how].format(ref=done))
    return redirect(path_for(request, "ticket", ref=done))


routes = [
    Route("/tickets/{ref}/replies/{outbox_id:int}/{how}", redeliver_reply, methods=["POST"], name="redeliver"),
]
