"""A file a user sent on a ticket, for signed-in staff only: fetched from the channel on first view,
then served from the database; images inline, other files as downloads."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access.roles import TICKET_ROLES
from bot.db import session_scope
from bot.models import Staff
from bot.providers import media
from bot.tickets import attachments, service
from bot.web.console.auth import console_page

logger = logging.getLogger(__name__)


def _lookup(db: Engine, ref: str, line_id: int) -> tuple[str, attachments.Wanted, tuple[str, bytes] | None] | None:
    """The ticket's reference, the file wanted and, if kept already, its type and bytes."""
    with session_scope(db) as session:
        try:
            ticket = service.get_ticket(session, ref=ref)
        except service.TicketError:
            return None
        found = attachments.wanted(session, ticket, line_id)
        if found is None:
            return None
        stored = attachments.kept(session, line_id)
        return ticket.ref or ref, found, (stored.content_type, stored.data) if stored else None


def _keep(db: Engine, line_id: int, data: bytes) -> None:
    try:
        with session_scope(db) as session:
            attachments.keep(session, line_id, data)
    except IntegrityError:
        pass  # another worker kept the same file a moment earlier: the same bytes


def served(ref: str, line_id: int, content_type: str, data: bytes) -> Response:
    """Images inline, anything else as a download named after the ticket (never the user's file name)."""
    disposition = "inline" if content_type in attachments.INLINE else "attachment"
    name = attachments.file_name(ref, line_id, content_type)
    return Response(data, media_type=content_type, headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


@console_page(*TICKET_ROLES)
async def attachment(request: Request, staff: Staff) -> Response:
    """The file, or why it cannot be shown."""
    state = request.app.state
    line_id: int = request.path_params["line_id"]
    found = await run_in_threadpool(_lookup, state.db, request.path_params["ref"], line_id)
    if found is None:
        return PlainTextResponse("No such file on this ticket.", status_code=404)
    ref, wanted, stored = found
    if stored is not None:
        return served(ref, line_id, *stored)
    limit = int(state.settings.attachment_max_mb * 1024 * 1024)
    try:
        data = await media.fetch(state.settings, wanted.channel, wanted.ref, limit=limit)
        content_type = attachments.recognise(data)
    except media.TooLarge as error:
        return PlainTextResponse(f"The file is too large to show here: {error}.", status_code=413)
    except media.MediaError as error:
        logger.warning("file on %s line %s could not be fetched from %s: %s", ref, line_id, wanted.channel, error)
        return PlainTextResponse(f"The file could not be fetched from {wanted.channel}: {error}.", status_code=502)
    except attachments.UnknownType as error:
        return PlainTextResponse(f"This file is not shown: {error}.", status_code=415)
    await run_in_threadpool(_keep, state.db, line_id, data)
    return served(ref, line_id, content_type, data)


routes = [Route("/tickets/{ref}/files/{line_id:int}", attachment, name="attachment")]
