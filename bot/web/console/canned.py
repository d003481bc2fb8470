"""Canned answers: staff write, edit and delete saved replies in English and Hindi (all audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access import audit
from bot.access.roles import TICKET_ROLES
from bot.db import session_scope
from bot.models import Staff
from bot.tickets import canned
from bot.tickets.staff import find_staff
from bot.web.console.auth import console_form, console_page
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import field, flash, path_for, redirect, render

HISTORY = 30  # audit events shown under the list

nav = (NavEntry("Canned answers", "canned", TICKET_ROLES),)


def _draft(form: FormData) -> dict[str, str]:
    return {name: field(form, name) for name in ("title", "text_en", "text_hi")}


def _overview(db: Engine) -> dict[str, Any]:
    with session_scope(db) as session:
        return {
            "answers": canned.list_canned(session),
            "history": audit.events(session, subject_prefix="canned:", limit=HISTORY),
        }


async def _list(request: Request, *, draft: dict[str, str] | None = None, error: str | None = None) -> Response:
    overview = await run_in_threadpool(_overview, request.app.state.db)
    context = {**overview, "draft": draft or {"title": "", "text_en": "", "text_hi": ""}, "error": error}
    request.state.nav = "canned"
    return render(request, "canned.html", context, status_code=422 if error else 200)


@console_page(*TICKET_ROLES)
async def canned_list(request: Request, staff: Staff) -> Response:
    """Every canned answer, a form for a new one, and who changed what lately."""
    return await _list(request)


def _save(db: Engine, name: str, change: Callable[..., Any], **values: Any) -> None:
    with session_scope(db) as session:
        change(session, staff=find_staff(session, name=name), **values)


@console_form(*TICKET_ROLES)
async def canned_create(request: Request, staff: Staff, form: FormData) -> Response:
    draft = _draft(form)
    try:
        await run_in_threadpool(_save, request.app.state.db, staff.name, canned.create_canned, **draft)
    except canned.CannedError as error:
        return await _list(request, draft=draft, error=str(error))
    flash(request, f"Canned answer '{draft['title'].strip()}' saved.")
    return redirect(path_for(request, "canned"))


def _load(db: Engine, canned_id: int) -> dict[str, str] | None:
    with session_scope(db) as session:
        answer = canned.get_canned(session, canned_id)
        return {"title": answer.title, "text_en": answer.text_en, "text_hi": answer.text_hi} if answer else None


async def _edit(request: Request, canned_id: int, draft: dict[str, str] | None, error: str | None = None) -> Response:
    if draft is None:
        return PlainTextResponse("No such canned answer (deleted?).", status_code=404)
    request.state.nav = "canned"
    context = {"canned_id": canned_id, "draft": draft, "error": error}
    return render(request, "canned_edit.html", context, status_code=422 if error else 200)


@console_page(*TICKET_ROLES)
async def canned_edit(request: Request, staff: Staff) -> Response:
    canned_id = request.path_params["canned_id"]
    return await _edit(request, canned_id, await run_in_threadpool(_load, request.app.state.db, canned_id))


@console_form(*TICKET_ROLES)
async def canned_update(request: Request, staff: Staff, form: FormData) -> Response:
    canned_id, draft = request.path_params["canned_id"], _draft(form)
    try:
        await run_in_threadpool(
            _save, request.app.state.db, staff.name, canned.update_canned, canned_id=canned_id, **draft
        )
    except canned.CannedError as error:
        return await _edit(request, canned_id, draft, str(error))
    flash(request, f"Canned answer '{draft['title'].strip()}' saved.")
    return redirect(path_for(request, "canned"))


@console_form(*TICKET_ROLES)
async def canned_delete(request: Request, staff: Staff, form: FormData) -> Response:
    canned_id = request.path_params["canned_id"]
    try:
        await run_in_threadpool(_save, request.app.state.db, staff.name, canned.delete_canned, canned_id=canned_id)
    except canned.CannedError as error:
        flash(request, str(error).capitalize() + ".")
        return redirect(path_for(request, "canned"))
    flash(request, "Canned answer deleted (its texts stay in the history below).")
    return redirect(path_for(request, "canned"))


routes = [
    Route("/canned", canned_list, name="canned"),
    Route("/canned", canned_create, methods=["POST"]),
    Route("/canned/{canned_id:int}", canned_edit, name="canned_edit"),
    Route("/canned/{canned_id:int}", canned_update, methods=["POST"]),
    Route("/canned/{canned_id:int}/delete", canned_delete, methods=["POST"], name="canned_delete"),
]
