"""Campaigns made in the staff console, kept in the database beside the file's, and scoped.

A nodal officer's campaign reaches only their own districts/departments: its audience names only
those (left empty, it is filled with all of them), so the campaign itself says whom it reaches and
plans, previews and reports need no other rule. They see and change only the campaigns whose
audience lies within their scope; an administrator sees and changes every stored campaign. The
file's campaigns are read-only here, and an id is used by one campaign only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.access import audit
from bot.access.roles import Scope, scope_of
from bot.models import Reminder, ReminderStatus, Staff, StoredCampaign, utcnow
from bot.reminders.campaigns import Campaign, check_campaign, load_campaigns
from bot.yamlfile import Problem

logger = logging.getLogger(__name__)


class CampaignRefused(ValueError):
    """The change cannot be made: every mistake, by field."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{'.'.join(map(str, p.location)) or 'campaign'}: {p.message}" for p in problems))


def _folded(names: Iterable[str]) -> set[str]:
    return {name.strip().casefold() for name in names}


def covers(scope: Scope, campaign: Campaign) -> bool:
    """Whether everyone the campaign can reach is within the scope."""
    if scope.everything:
        return True
    if scope.nothing:
        return False
    audience = campaign.audience
    if scope.districts and not (audience.districts and _folded(audience.districts) <= scope.districts):
        return False
    return not scope.departments or bool(audience.departments and _folded(audience.departments) <= scope.departments)


def _fit_to_scope(staff: Staff, definition: dict[str, Any]) -> list[Problem]:
    """Limit the audience to the officer's scope (empty lists become their districts/departments);
    the names outside it are mistakes."""
    scope = scope_of(staff)
    if scope.everything:
        return []
    if scope.nothing:
        return [Problem(None, ("audience",), "your account has no districts or departments to reach")]
    audience = definition.setdefault("audience", {})
    if not isinstance(audience, dict):
        return []  # the model names this mistake
    found = []
    for kind, own, names in (("districts", scope.districts, staff.districts),
                             ("departments", scope.departments, staff.departments)):  # fmt: skip
        if not own:
            continue
        given = audience.get(kind) or []
        if not given:
            audience[kind] = sorted(names)
        elif isinstance(given, list) and (outside := [name for name in given if name.strip().casefold() not in own]):
            found.append(
                Problem(
                    None, ("audience", kind), f"{', '.join(outside)}: you may reach only {', '.join(sorted(names))}"
                )
            )
    return found


def _read(row: StoredCampaign) -> Campaign | None:
    try:
        return Campaign.model_validate(row.definition)
    except ValidationError as error:  # saved by an older version whose fields have changed since
        logger.error("stored campaign %s cannot be read any more, left out: %s", row.id, error)
        return None


def stored_campaigns(session: Session) -> list[Campaign]:
    """Every campaign made in the console, in id order."""
    rows = session.exec(select(StoredCampaign).order_by(col(StoredCampaign.id))).all()
    return [campaign for row in rows if (campaign := _read(row)) is not None]


def all_campaigns(session: Session, path: Path | None = None) -> list[Campaign]:
    """The file's campaigns, then the console's; an id in both is the file's (CampaignError: the file's mistakes)."""
    from_file = load_campaigns(path)
    taken = {campaign.id for campaign in from_file}
    stored = []
    for campaign in stored_campaigns(session):
        if campaign.id in taken:
            logger.warning("campaign %s is in the campaigns file and in the console: the file's is used", campaign.id)
            continue
        stored.append(campaign)
    return from_file + stored


def visible_campaigns(session: Session, staff: Staff) -> list[Campaign]:
    """The console's campaigns this account may see and change."""
    scope = scope_of(staff)
    return [campaign for campaign in stored_campaigns(session) if covers(scope, campaign)]


def find_campaign(session: Session, staff: Staff, campaign_id: str) -> Campaign | None:
    """One console campaign, if this account may see it (else None, as if it did not exist)."""
    row = session.get(StoredCampaign, campaign_id)
    campaign = _read(row) if row else None
    return campaign if campaign is not None and covers(scope_of(staff), campaign) else None


def check_draft(
    session: Session, *, staff: Staff, definition: dict[str, Any], file_ids: Iterable[str], editing: str | None = None
) -> Campaign:
    """The campaign as saving it would save it (limited to the account's scope), without saving it;
    CampaignRefused lists every mistake."""
    definition = dict(definition)
    if editing is not None:
        definition["id"] = editing
        if find_campaign(session, staff, editing) is None:
            raise CampaignRefused([Problem(None, ("id",), "no such campaign (deleted?)")])
    found = _fit_to_scope(staff, definition)
    checked = check_campaign(definition)
    if isinstance(checked, list):
        raise CampaignRefused(found + checked)
    if found:
        raise CampaignRefused(found)
    if editing is None and (checked.id in set(file_ids) or session.get(StoredCampaign, checked.id) is not None):
        raise CampaignRefused([Problem(None, ("id",), f"{checked.id} is used by another campaign; choose another")])
    return checked


def save_campaign(
    session: Session, *, staff: Staff, definition: dict[str, Any], file_ids: Iterable[str], editing: str | None = None
) -> Campaign:
    """Create (editing=None) or replace a console campaign; CampaignRefused lists every mistake."""
    checked = check_draft(session, staff=staff, definition=definition, file_ids=file_ids, editing=editing)
    stored = checked.model_dump(mode="json", exclude_defaults=True)
    row = session.get(StoredCampaign, checked.id)
    if row is None:
        row = StoredCampaign(id=checked.id, definition=stored, created_by=staff.name, updated_by=staff.name)
    else:
        row.definition, row.updated_by, row.updated_at = stored, staff.name, utcnow()
    session.add(row)
    audit.record(session, actor=staff.name, action="campaign.created" if editing is None else "campaign.changed",
                 subject=f"campaign:{checked.id}", detail=_summary(checked))  # fmt: skip
    return checked


def set_enabled(session: Session, *, staff: Staff, campaign_id: str, enabled: bool) -> Campaign:
    """Pause (nothing planned or sent until resumed) or resume a console campaign."""
    campaign = find_campaign(session, staff, campaign_id)
    row = session.get(StoredCampaign, campaign_id)
    if campaign is None or row is None:
        raise CampaignRefused([Problem(None, ("id",), "no such campaign (deleted?)")])
    row.definition = {**row.definition, "enabled": enabled}
    row.updated_by, row.updated_at = staff.name, utcnow()
    session.add(row)
    audit.record(session, actor=staff.name, action="campaign.resumed" if enabled else "campaign.paused",
                 subject=f"campaign:{campaign_id}")  # fmt: skip
    return campaign.model_copy(update={"enabled": enabled})


def delete_campaign(session: Session, *, staff: Staff, campaign_id: str) -> None:
    """Delete a console campaign and its reminders not queued yet; those sent stay, for the reports."""
    row = session.get(StoredCampaign, campaign_id)
    if row is None or find_campaign(session, staff, campaign_id) is None:
        raise CampaignRefused([Problem(None, ("id",), "no such campaign (deleted?)")])
    session.connection().execute(
        delete(Reminder).where(
            col(Reminder.campaign) == campaign_id, col(Reminder.status) == ReminderStatus.PLANNED.value
        )
    )
    session.delete(row)
    audit.record(session, actor=staff.name, action="campaign.deleted", subject=f"campaign:{campaign_id}",
                 detail=str(row.definition.get("name", "")))  # fmt: skip


def _summary(campaign: Campaign) -> str:
    audience = campaign.audience
    parts = [campaign.name, campaign.schedule.every]
    parts += [f"{kind} {', '.join(names)}" for kind, names in (
        ("districts", audience.districts), ("departments", audience.departments),
        ("designations", audience.designations)) if names]  # fmt: skip
    return "; ".join(parts)[:300]
