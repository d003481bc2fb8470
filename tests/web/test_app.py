"""The web app around the channels: health, and `/metrics` behind its token with the queue's figures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from bot.config import Settings
from bot.db import create_db_engine, session_scope
from bot.dialogue import Engine as DialogueEngine
from bot.models import Conversation, Employee, OutboxMessage, Reminder, utcnow
from bot.tickets import service
from bot.tickets.staff import add_staff
from bot.web.app import create_app

TOKEN = "a-scrape-token"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, staff_session_secret="secret", metrics_token=TOKEN)


def scrape(client: TestClient, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/metrics", headers=headers)


def samples(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def test_health_check_asks_the_database(db_engine, settings, tmp_path: Path):
    response = TestClient(create_app(settings=settings, db=db_engine)).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"database": "ok"})
    unreachable = create_db_engine(f"sqlite:///{tmp_path}/no/such/folder/helpdesk.db")
    response = TestClient(create_app(settings=settings, db=unreachable)).get("/healthz")
    assert response.status_code == 503


def test_metrics_need_the_bearer_token(db_engine, settings):
    client = TestClient(create_app(settings=settings, db=db_engine))
    assert scrape(client).status_code == 200
    for token in (None, "", "wrong", TOKEN + "x"):
        response = scrape(client, token)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    off = TestClient(create_app(settings=Settings(_env_file=None, staff_session_secret="s"), db=db_engine))
    response = scrape(off)
    assert response.status_code == 403 and "set METRICS_TOKEN" in response.text


def test_metrics_count_open_and_overdue_tickets_in_the_database(db_engine, settings):
    with session_scope(db_engine) as session:
        for number, hours_ago in enumerate((0, 30, 50, 0)):
            conversation = Conversation(channel="telegram", user_key=f"chat{number}", recent=[])
            session.add(conversation)
            session.flush()
            service.open_ticket(session, conversation=conversation, employee_id=None, category="general",
                                reason="asked", sla=timedelta(hours=24), prefix="HD-",
                                now=utcnow() - timedelta(hours=hours_ago))  # fmt: skip
        desk = add_staff(session, name="desk1", password=None)
        service.resolve(session, ref="HD-000004", staff=desk, reason="duplicate")
    figures = samples(scrape(TestClient(create_app(settings=settings, db=db_engine))).text)
    assert (figures["helpdesk_tickets_open"], figures["helpdesk_tickets_overdue"]) == (3.0, 2.0)


def labelled(text: str, name: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_count_the_outbox_backlog_failures_and_reminders_in_the_database(db_engine, settings):
    """Read from the database: every worker answers the same, whichever of them sent or failed what."""
    states = {"telegram": ["queued", "sending", "failed", "sent"], "whatsapp": ["held", "held", "failed", "failed"]}
    with session_scope(db_engine) as session:
        for channel, chat_states in states.items():
            chat = Conversation(channel=channel, user_key=f"{channel}-user", recent=[])
            session.add(chat)
            session.flush()
            for state in chat_states:
                session.add(OutboxMessage(conversation_id=chat.id, kind="staff_reply", text="x", state=state))
        person = Employee(name="Asha", phone="+919876500001")
        session.add(person)
        session.flush()
        for period, status in enumerate(("sent", "sent", "failed", "planned")):
            session.add(Reminder(campaign="pending", employee_id=person.id, period=str(period), status=status,
                                 due_at=utcnow()))  # fmt: skip
    text = scrape(TestClient(create_app(settings=settings, db=db_engine))).text
    assert labelled(text, "helpdesk_outbox_backlog") == {
        ("telegram", "queued"): 2.0,  # one queued, one being sent
        ("whatsapp", "held"): 2.0,
    }
    assert labelled(text, "helpdesk_outbox_failed_messages") == {("telegram",): 1.0, ("whatsapp",): 2.0}
    figures = samples(text)
    assert (figures["helpdesk_reminders_sent"], figures["helpdesk_reminders_failed"]) == (2.0, 1.0)


def test_refused_webhook_requests_are_counted_by_path_and_status(brain, db_engine):
    settings = Settings(_env_file=None, metrics_token=TOKEN, twilio_auth_token="twilio", staff_session_secret="s",
                        telegram_webhook_secret="right")  # fmt: skip
    engine = DialogueEngine(brain=brain, db=db_engine, settings=settings)
    client = TestClient(create_app(settings=settings, db=db_engine, engine=engine))

    def rejected() -> dict[tuple[str, str], float]:
        return {
            (sample.labels["path"], sample.labels["status"]): sample.value
            for family in text_string_to_metric_families(scrape(client).text)
            for sample in family.samples
            if sample.name == "helpdesk_webhooks_rejected_total"
        }

    before = rejected()
    signed = {"X-Twilio-Signature": "whatever", "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/twilio/whatsapp", content=b"x" * 70_000, headers=signed).status_code == 413
    assert (
        client.post("/twilio/whatsapp", content=b"Body=hi", headers={**signed, "Content-Length": "x7"}).status_code
        == 400
    )
    assert client.post("/twilio/status", data={"MessageSid": "SM1"}).status_code == 403
    assert (
        client.post("/telegram/webhook", json={}, headers={"X-Telegram-Bot-Api-Secret-Token": "no"}).status_code == 403
    )
    after = rejected()
    grew = {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}
    assert grew == {
        ("/twilio/whatsapp", "413"): 1.0,
        ("/twilio/whatsapp", "400"): 1.0,
        ("/twilio/status", "403"): 1.0,
        ("/telegram/webhook", "403"): 1.0,
    }
    assert client.get("/healthz").status_code == 200 and rejected() == after  # other routes are not counted
