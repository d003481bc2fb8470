"""Reminder campaigns in the console: nodal officers and administrators create, edit, pause and delete
them, within their scope (see `bot.reminders.stored`); the campaigns file's are shown, read-only.

A mistake in the form is answered with the form as it was sent and every mistake listed at once,
each under its field's label, in the words the campaigns file gets.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access import audit
from bot.access.roles import REPORT_ROLES, scope_of
from bot.db import session_scope, write_scope
from bot.models import Staff
from bot.providers import network_channels
from bot.records.completion import today_in
from bot.reminders.campaigns import Campaign, CampaignError, load_campaigns
from bot.reminders.effect import WINDOWS, effectiveness
from bot.reminders.preview import Preview, preview
from bot.reminders.stored import (
    CampaignRefused,
    check_draft,
    covers,
    delete_campaign,
    find_campaign,
    save_campaign,
    set_enabled,
    visible_campaigns,
)
from bot.tickets.staff import find_staff
from bot.web.console.auth import console_form, console_page
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import field, flash, path_for, redirect, render
from bot.yamlfile import Problem

HISTORY = 30
LISTS = ("designations", "departments", "districts")
FIELDS = ("id", "name", *LISTS, "pending_mandatory", "batch_ends_within_days", "inactive_days", "every", "start",
          "end", "message_en", "message_hi", "send_window")  # fmt: skip
LABELS = {
    "id": "Campaign id",
    "name": "Name",
    "designations": "Designations or groups",
    "departments": "Departments",
    "districts": "Districts",
    "pending_mandatory": "Only those with a pending mandatory course",
    "batch_ends_within_days": "A pending course's batch ends within (days)",
    "inactive_days": "No activity for (days)",
    "every": "How often",
    "start": "First day",
    "end": "Last day",
    "message_en": "Message in English",
    "message_hi": "Message in Hindi",
    "send_window": "Send between (local hours)",
}
# Where a mistake's location (the campaign model's fields) is on the form.
FORM_FIELD: dict[tuple[str | int, ...], str] = {
    ("id",): "id",
    ("name",): "name",
    ("audience",): "districts",
    **{("audience", name): name for name in (*LISTS, "pending_mandatory", "batch_ends_within_days", "inactive_days")},
    ("schedule",): "end",
    ("schedule", "every"): "every",
    ("schedule", "start"): "start",
    ("schedule", "end"): "end",
    ("message",): "message_en",
    ("message", "en"): "message_en",
    ("message", "hi"): "message_hi",
    ("send_window",): "send_window",
}
EVERY = {"once": "Once", "daily": "Every day", "weekly": "Every week"}
ACTIONS = ("pause", "resume", "delete")
REASONS = {
    "no_phone": "No phone number in the reports",
    "shared_phone": "Phone shared with another employee",
    "opted_out": "Said STOP to reminders",
    "no_channel": "Never wrote to the bot, and WhatsApp is not set up",
}

GROUPS = {
    "reminded": "Reminded",
    "not_reminded": "Planned for, not reminded",
    "before": "Reminded, in the days before",
}

nav = (NavEntry("Campaigns", "campaigns", REPORT_ROLES),)


def _names(text: str) -> list[str]:
    """A list field as typed: one name per line or between commas."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def draft_of_form(form: FormData) -> dict[str, str]:
    return {name: field(form, name) for name in FIELDS}


def draft_of(campaign: Campaign) -> dict[str, str]:
    """The form's fields for a saved campaign."""
    audience, schedule = campaign.audience, campaign.schedule
    return {
        "id": campaign.id, "name": campaign.name,
        **{name: ", ".join(getattr(audience, name)) for name in LISTS},
        "pending_mandatory": "1" if audience.pending_mandatory else "",
        **{name: "" if getattr(audience, name) is None else str(getattr(audience, name))
           for name in ("batch_ends_within_days", "inactive_days")},
        "every": schedule.every,
        "start": schedule.start.isoformat() if schedule.start else "",
        "end": schedule.end.isoformat() if schedule.end else "",
        "message_en": campaign.message.en, "message_hi": campaign.message.hi,
        "send_window": campaign.send_window or "",
    }  # fmt: skip


def definition_of(draft: dict[str, str], kept: dict[str, Any] | None = None) -> dict[str, Any]:
    """The campaign a form describes, as the campaigns file would write it; `kept`: what the form does
    not show of a saved campaign (its WhatsApp template, time zone, paused or not)."""
    audience: dict[str, Any] = {name: _names(draft[name]) for name in LISTS if _names(draft[name])}
    if draft["pending_mandatory"]:
        audience["pending_mandatory"] = True
    for name in ("batch_ends_within_days", "inactive_days"):
        if draft[name].strip():
            audience[name] = draft[name].strip()
    schedule = {"every": draft["every"] or "once"}
    schedule |= {name: draft[name].strip() for name in ("start", "end") if draft[name].strip()}
    definition: dict[str, Any] = {
        **{name: value for name, value in (kept or {}).items() if name in ("enabled", "timezone", "whatsapp_template")},
        "id": draft["id"].strip(),
        "name": draft["name"].strip(),
        "audience": audience,
        "schedule": schedule,
        "message": {"en": draft["message_en"].strip(), "hi": draft["message_hi"].strip()},
    }
    if draft["send_window"].strip():
        definition["send_window"] = draft["send_window"].strip()
    return definition


def mistakes(problems: list[Problem]) -> list[tuple[str, str, str]]:
    """(form field, its label, the mistake) for each problem, in the form's order."""
    found = []
    for problem in problems:
        location = problem.location
        name = FORM_FIELD.get(location[:2]) or FORM_FIELD.get(location[:1]) or "name"
        found.append((name, LABELS[name], problem.message))
    return sorted(found, key=lambda item: FIELDS.index(item[0]))


def _file_campaigns(request: Request) -> tuple[list[Campaign], str | None]:
    """The campaigns file's campaigns, or the file's mistakes."""
    try:
        return load_campaigns(request.app.state.settings.reminder_campaigns_file), None
    except CampaignError as error:
        return [], str(error)


def _overview(db: Engine, staff: Staff, timezone: str, from_file: list[Campaign]) -> dict[str, Any]:
    """The account's console campaigns, their history, and how well each campaign it can see worked."""
    with session_scope(db) as session:
        own = visible_campaigns(session, staff)
        history = [event for event in audit.events(session, subject_prefix="campaign:", limit=HISTORY * 4)
                   if event.subject.removeprefix("campaign:") in {c.id for c in own}][:HISTORY]  # fmt: skip
    measured = own + from_file
    return {
        "campaigns": own,
        "history": history,
        "measured": measured,
        "effect": effectiveness(db, measured, today=today_in(timezone), timezone=timezone),
    }


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS} | {"every": "weekly", "pending_mandatory": "1"}


async def _list(
    request: Request, staff: Staff, *, draft: dict[str, str] | None = None, problems: list[Problem] | None = None
) -> Response:
    from_file, file_error = _file_campaigns(request)
    scope = scope_of(staff)
    from_file = [campaign for campaign in from_file if covers(scope, campaign)]
    timezone = request.app.state.settings.timezone
    overview = await run_in_threadpool(_overview, request.app.state.db, staff, timezone, from_file)
    context = {
        **overview,
        "from_file": from_file,
        "file_error": file_error if scope.everything else None,
        "scope": scope.describe(),
        "limited": not scope.everything,
        "draft": draft or _blank(),
        "mistakes": mistakes(problems or []),
        "labels": LABELS,
        "every": EVERY,
        "windows": [str(days) for days in WINDOWS],
        "groups": GROUPS,
    }
    request.state.nav = "campaigns"
    return render(request, "campaigns.html", context, status_code=422 if problems else 200)


@console_page(*REPORT_ROLES)
async def campaigns_page(request: Request, staff: Staff) -> Response:
    """The campaigns this account may run, the file's they can see, a form for a new one, the history."""
    return await _list(request, staff)


def _save(db: Engine, name: str, definition: dict[str, Any], file_ids: list[str], editing: str | None) -> Campaign:
    with write_scope(db) as session:
        staff = find_staff(session, name=name)
        return save_campaign(session, staff=staff, definition=definition, file_ids=file_ids, editing=editing)


@console_form(*REPORT_ROLES)
async def campaign_create(request: Request, staff: Staff, form: FormData) -> Response:
    draft = draft_of_form(form)
    from_file, _ = _file_campaigns(request)
    try:
        campaign = await run_in_threadpool(
            _save, request.app.state.db, staff.name, definition_of(draft), [c.id for c in from_file], None
        )
    except CampaignRefused as refused:
        return await _list(request, staff, draft=draft, problems=refused.problems)
    flash(request, f"Campaign '{campaign.name}' saved. Nothing is sent until reminders are planned.")
    return redirect(path_for(request, "campaigns"))


def _load(db: Engine, staff: Staff, campaign_id: str) -> Campaign | None:
    with session_scope(db) as session:
        return find_campaign(session, staff, campaign_id)


async def _edit(
    request: Request, campaign: Campaign, draft: dict[str, str], problems: list[Problem] | None = None
) -> Response:
    request.state.nav = "campaigns"
    context = {"campaign": campaign, "draft": draft, "mistakes": mistakes(problems or []), "labels": LABELS,
               "every": EVERY}  # fmt: skip
    return render(request, "campaign_edit.html", context, status_code=422 if problems else 200)


def _missing() -> Response:
    return PlainTextResponse("No such campaign (deleted?).", status_code=404)


@console_page(*REPORT_ROLES)
async def campaign_edit(request: Request, staff: Staff) -> Response:
    campaign_id = request.path_params["campaign_id"]
    campaign = await run_in_threadpool(_load, request.app.state.db, staff, campaign_id)
    return _missing() if campaign is None else await _edit(request, campaign, draft_of(campaign))


@console_form(*REPORT_ROLES)
async def campaign_update(request: Request, staff: Staff, form: FormData) -> Response:
    campaign_id, draft = request.path_params["campaign_id"], draft_of_form(form)
    saved = await run_in_threadpool(_load, request.app.state.db, staff, campaign_id)
    if saved is None:
        return _missing()
    draft["id"] = campaign_id
    definition = definition_of(draft, kept=saved.model_dump(mode="json", exclude_defaults=True))
    try:
        campaign = await run_in_threadpool(_save, request.app.state.db, staff.name, definition, [], campaign_id)
    except CampaignRefused as refused:
        return await _edit(request, saved, draft, refused.problems)
    flash(request, f"Campaign '{campaign.name}' saved.")
    return redirect(path_for(request, "campaigns"))


def _preview(db: Engine, staff: Staff, campaign_id: str, **options: Any) -> Preview | None:
    with session_scope(db) as session:
        campaign = find_campaign(session, staff, campaign_id)
    return None if campaign is None else preview(db, campaign, **options)


@console_page(*REPORT_ROLES)
async def campaign_preview(request: Request, staff: Staff) -> Response:
    """Whom the campaign would reach now, by channel, and its message in both languages; nothing is planned."""
    settings = request.app.state.settings
    result = await run_in_threadpool(
        _preview, request.app.state.db, staff, request.path_params["campaign_id"],
        texts=request.app.state.brain().texts, channels=network_channels(settings), timezone=settings.timezone,
    )  # fmt: skip
    if result is None:
        return _missing()
    request.state.nav = "campaigns"
    return render(request, "campaign_preview.html", {"preview": result, "reasons": REASONS, "draft": False})


def _draft_preview(
    db: Engine, name: str, definition: dict[str, Any], file_ids: list[str], editing: str | None, **options: Any
) -> Preview:
    with session_scope(db) as session:
        staff = find_staff(session, name=name)
        campaign = check_draft(session, staff=staff, definition=definition, file_ids=file_ids, editing=editing)
    return preview(db, campaign, **options)


@console_form(*REPORT_ROLES)
async def draft_preview(request: Request, staff: Staff, form: FormData) -> Response:
    """The preview of the form as it is, before it is saved (so before anything can be planned for it)."""
    draft, editing = draft_of_form(form), field(form, "editing") or None
    saved = await run_in_threadpool(_load, request.app.state.db, staff, editing) if editing else None
    if editing and saved is None:
        return _missing()
    if editing:
        draft["id"] = editing
    kept = saved.model_dump(mode="json", exclude_defaults=True) if saved else None
    from_file, _ = _file_campaigns(request)
    settings = request.app.state.settings
    try:
        result = await run_in_threadpool(
            _draft_preview, request.app.state.db, staff.name, definition_of(draft, kept),
            [campaign.id for campaign in from_file], editing,
            texts=request.app.state.brain().texts, channels=network_channels(settings), timezone=settings.timezone,
        )  # fmt: skip
    except CampaignRefused as refused:
        if saved is not None:
            return await _edit(request, saved, draft, refused.problems)
        return await _list(request, staff, draft=draft, problems=refused.problems)
    request.state.nav = "campaigns"
    return render(request, "campaign_preview.html", {"preview": result, "reasons": REASONS, "draft": True})


def _act(db: Engine, name: str, campaign_id: str, action: str) -> None:
    with write_scope(db) as session:
        staff = find_staff(session, name=name)
        if action == "delete":
            delete_campaign(session, staff=staff, campaign_id=campaign_id)
        else:
            set_enabled(session, staff=staff, campaign_id=campaign_id, enabled=action == "resume")


@console_form(*REPORT_ROLES)
async def campaign_action(request: Request, staff: Staff, form: FormData) -> Response:
    """Pause, resume or delete a campaign."""
    campaign_id, action = request.path_params["campaign_id"], request.path_params["action"]
    if action not in ACTIONS:
        return PlainTextResponse("No such action.", status_code=404)
    try:
        await run_in_threadpool(_act, request.app.state.db, staff.name, campaign_id, action)
    except CampaignRefused:
        return _missing()
    done = {"pause": "paused: nothing is planned or sent until it is resumed", "resume": "resumed",
            "delete": "deleted, with its reminders not sent yet"}[action]  # fmt: skip
    flash(request, f"Campaign {campaign_id} {done}.")
    return redirect(path_for(request, "campaigns"))


routes = [
    Route("/campaigns", campaigns_page, name="campaigns"),
    Route("/campaign-preview", draft_preview, methods=["POST"], name="campaign_draft_preview"),
    Route("/campaigns", campaign_create, methods=["POST"]),
    Route("/campaigns/{campaign_id:str}", campaign_edit, name="campaign_edit"),
    Route("/campaigns/{campaign_id:str}", campaign_update, methods=["POST"]),
    Route("/campaigns/{campaign_id:str}/preview", campaign_preview, name="campaign_preview"),
    Route("/campaigns/{campaign_id:str}/{action:str}", campaign_action, methods=["POST"], name="campaign_action"),
]
