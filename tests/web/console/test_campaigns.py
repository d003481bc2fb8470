"""Campaigns in the console: made, edited, paused and deleted by nodal officers within their scope, every
mistake listed at once; what the console saves is what `remind plan` plans (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.db import session_scope
from bot.models import Employee, Enrolment, Reminder, StoredCampaign
from bot.records.completion import today_in
from bot.records.importer import import_report
from bot.reminders import plan
from bot.reminders.preview import preview
from bot.reminders.stored import all_campaigns
from bot.tickets.staff import add_staff
from tests.web.console.helpers import PASSWORD, post_form, staff_client
from tests.web.console.nodal import STATE_REPORT, without_lucknow

NOON = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)


def form(**fields: str) -> dict[str, str]:
    base = {"id": "posh-push", "name": "POSH push", "designations": "", "departments": "", "districts": "",
            "pending_mandatory": "1", "batch_ends_within_days": "", "inactive_days": "", "every": "weekly",
            "start": "", "end": "", "message_en": "Hello {name}: {courses}", "message_hi": "नमस्ते {name}: {courses}",
            "send_window": ""}  # fmt: skip
    return base | fields


@pytest.fixture
def state(db_engine, other_roles, tmp_path):
    """The state's report (Raipur and Lucknow) and a Lucknow officer besides the Raipur one."""
    path = tmp_path / "state.csv"
    path.write_bytes(STATE_REPORT)
    import_report(db_engine, path)
    with session_scope(db_engine) as session:
        add_staff(session, name="lucknow", password=PASSWORD, role="nodal", districts=["Lucknow"])


def create(client, **fields: str):
    return post_form(client, "/staff/campaigns", "/staff/campaigns", **form(**fields))


def planned_districts(db, campaign_id: str) -> set[str]:
    with Session(db) as session:
        rows = session.exec(
            select(Employee.district).join(Reminder, Reminder.employee_id == Employee.id)
            .where(Reminder.campaign == campaign_id)
        ).all()  # fmt: skip
        return {district.casefold() for district in rows if district}


def test_an_officers_campaign_reaches_only_their_district_and_plans_from_the_database(app, db_engine, state):
    raipur = staff_client(app, "raipur")
    response = create(raipur)
    assert response.status_code == 303, response.text
    page = raipur.get("/staff/campaigns").text
    assert "POSH push" in page and "Districts: Raipur" in page and "Running" in page
    with Session(db_engine) as session:
        stored = session.get(StoredCampaign, "posh-push")
        assert stored is not None and stored.definition["audience"]["districts"] == ["Raipur"]
        assert stored.created_by == "raipur"
        campaigns = all_campaigns(session)
    assert [campaign.id for campaign in campaigns] == ["pending-mandatory", "posh-push"]
    plan(db_engine, campaigns=campaigns, now=NOON, progress=False)
    assert planned_districts(db_engine, "posh-push") == {"raipur"}
    assert "lucknow" in planned_districts(db_engine, "pending-mandatory")  # the file's campaign: everyone


def test_every_mistake_is_listed_at_once_and_the_form_keeps_what_was_typed(app, db_engine, state):
    raipur = staff_client(app, "raipur")
    response = create(
        raipur, id="Bad Id", districts="Raipur, Lucknow", every="daily", inactive_days="soon",
        message_en="Hi {nmae}", message_hi="", start="2026-12-10", end="2026-12-01",
    )  # fmt: skip
    assert response.status_code == 422
    mistakes = re.findall(r'<li><a href="#(\w+)">[^<]+</a>: ([^<]+)</li>', response.text)
    assert [name for name, _ in mistakes] == [
        "id", "districts", "inactive_days", "end", "message_en", "message_hi",
    ]  # fmt: skip
    said = dict(mistakes)
    assert said["districts"] == "Lucknow: you may reach only Raipur"
    assert said["inactive_days"] == "must be a whole number"
    assert said["end"] == "end is before start"
    assert "unknown placeholder {nmae}" in said["message_en"].replace("&#123;", "{").replace("&#125;", "}")
    assert 'value="Raipur, Lucknow"' in response.text and 'aria-invalid="true"' in response.text
    with Session(db_engine) as session:
        assert session.exec(select(StoredCampaign)).all() == []
    assert create(raipur, id="pending-mandatory").status_code == 422  # the file's id


def test_edit_pause_resume_and_delete(app, db_engine, state):
    raipur = staff_client(app, "raipur")
    create(raipur)
    edited = post_form(raipur, "/staff/campaigns/posh-push", "/staff/campaigns/posh-push",
                       **form(name="POSH, last call", every="daily", districts=""))  # fmt: skip
    assert edited.status_code == 303, edited.text
    with Session(db_engine) as session:
        (campaign,) = [c for c in all_campaigns(session) if c.id == "posh-push"]
    assert campaign.name == "POSH, last call" and campaign.schedule.every == "daily"
    assert campaign.audience.districts == ("Raipur",)
    plan(db_engine, campaigns=[campaign], now=NOON, progress=False)
    assert planned_districts(db_engine, "posh-push") == {"raipur"}

    assert post_form(raipur, "/staff/campaigns", "/staff/campaigns/posh-push/pause").status_code == 303
    assert "Paused" in raipur.get("/staff/campaigns").text
    with Session(db_engine) as session:
        (paused,) = [c for c in all_campaigns(session) if c.id == "posh-push"]
    assert not paused.enabled and plan(db_engine, campaigns=[paused], now=NOON, progress=False).not_running == [
        "posh-push"
    ]
    assert post_form(raipur, "/staff/campaigns", "/staff/campaigns/posh-push/resume").status_code == 303
    with Session(db_engine) as session:
        assert session.get(StoredCampaign, "posh-push").definition.get("enabled", True) is True

    assert post_form(raipur, "/staff/campaigns", "/staff/campaigns/posh-push/delete").status_code == 303
    with Session(db_engine) as session:
        assert session.get(StoredCampaign, "posh-push") is None
        assert session.exec(select(Reminder).where(Reminder.campaign == "posh-push")).all() == []
    history = raipur.get("/staff/campaigns").text
    assert "No campaigns made here yet." in history


def test_an_officer_never_sees_or_changes_another_districts_campaign(app, db_engine, state):
    lucknow = staff_client(app, "lucknow")
    assert create(lucknow, id="lko", name="Lucknow drive").status_code == 303
    raipur = staff_client(app, "raipur")
    assert "Lucknow drive" not in raipur.get("/staff/campaigns").text
    assert raipur.get("/staff/campaigns/lko").status_code == 404
    for action in ("pause", "delete"):
        assert post_form(raipur, "/staff/campaigns", f"/staff/campaigns/lko/{action}").status_code == 404
    assert post_form(raipur, "/staff/campaigns", "/staff/campaigns/lko", **form(id="lko")).status_code == 404
    assert create(raipur, id="lko").status_code == 422  # the id is taken, whoever took it
    boss = staff_client(app, "boss")
    assert "Lucknow drive" in boss.get("/staff/campaigns").text
    assert boss.get("/staff/campaigns/lko").status_code == 200
    assert create(boss, id="state", name="Whole state").status_code == 303
    assert "Whole state" not in lucknow.get("/staff/campaigns").text  # reaches beyond Lucknow
    with Session(db_engine) as session:
        assert session.get(StoredCampaign, "state").definition["audience"].get("districts") is None


def test_the_console_previews_a_campaign_before_anything_is_planned(app, db_engine, state, brain):
    raipur = staff_client(app, "raipur")
    create(raipur)
    page = raipur.get("/staff/campaigns/posh-push/preview")
    assert page.status_code == 200
    with Session(db_engine) as session:
        (campaign,) = [c for c in all_campaigns(session) if c.id == "posh-push"]
        assert session.exec(select(Reminder)).all() == []
    expected = preview(db_engine, campaign, texts=brain.texts, channels=[])
    figures = dict(re.findall(r'data-figure="([\w-]+)">([^<]+)<', page.text))
    assert expected.audience > 0 and figures["audience"] == str(expected.audience)
    assert figures["reachable-console"] == str(expected.reachable["console"])
    assert figures["unreachable"] == str(expected.unreachable)
    assert 'lang="en"' in page.text and 'lang="hi"' in page.text and "नमस्ते" in page.text
    assert without_lucknow(page.text)


def test_the_campaigns_page_shows_whether_the_reminders_worked(app, db_engine, state):
    raipur = staff_client(app, "raipur")
    create(raipur)
    day = today_in("Asia/Kolkata") - timedelta(days=40)
    with Session(db_engine) as session:
        asha = session.exec(select(Employee).where(Employee.external_id == "R1")).one()
        bhim = session.exec(select(Employee).where(Employee.external_id == "R2")).one()
        sent = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)
        for employee, status in ((asha, "sent"), (bhim, "skipped")):
            session.add(Reminder(campaign="posh-push", employee_id=employee.id, period="2026-W01", status=status,
                                 due_at=sent, created_at=sent, finished_at=sent))  # fmt: skip
        pending = session.exec(select(Enrolment).where(Enrolment.employee_id == asha.id,
                                                       Enrolment.status != "completed")).one()  # fmt: skip
        pending.status, pending.completed_on = "completed", day + timedelta(days=3)
        session.add(pending)
        session.commit()
    page = raipur.get("/staff/campaigns").text
    figures = dict(re.findall(r'data-figure="([\w-]+)">(.*?)</td>', page))
    assert figures["posh-push-reminded-7"].startswith("100% <small>1 of 1</small>")
    assert figures["posh-push-not_reminded-30"].startswith("0% <small>0 of 1</small>")
    assert figures["posh-push-before-7"].startswith("0%")
    assert "pending-mandatory-reminded-7" not in figures  # the file's campaign reaches beyond Raipur
    shown = staff_client(app, "boss").get("/staff/campaigns").text
    assert 'data-figure="pending-mandatory-reminded-7"' in shown and 'data-figure="posh-push-reminded-7"' in shown


def test_a_draft_is_previewed_without_saving_it(app, db_engine, state, brain):
    raipur = staff_client(app, "raipur")
    page = post_form(raipur, "/staff/campaigns", "/staff/campaign-preview", **form())
    assert page.status_code == 200 and "Not saved yet" in page.text
    with Session(db_engine) as session:
        assert session.exec(select(StoredCampaign)).all() == [] and session.exec(select(Reminder)).all() == []
    figures = dict(re.findall(r'data-figure="([\w-]+)">([^<]+)<', page.text))
    assert int(figures["audience"]) > 0 and without_lucknow(page.text)
    refused = post_form(raipur, "/staff/campaigns", "/staff/campaign-preview", **form(districts="Lucknow"))
    assert refused.status_code == 422 and "Lucknow: you may reach only Raipur" in refused.text
    lucknow = staff_client(app, "lucknow")
    create(lucknow, id="lko", name="Lucknow drive")
    other = post_form(raipur, "/staff/campaigns", "/staff/campaign-preview", **form(editing="lko"))
    assert other.status_code == 404  # another district's campaign, as if it did not exist
    own = post_form(lucknow, "/staff/campaigns/lko", "/staff/campaign-preview", **form(editing="lko", name="New"))
    assert own.status_code == 200 and "Whom lko would reach now" in own.text
