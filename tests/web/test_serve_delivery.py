"""Delivery as an operator meets it: `helpdesk serve` as real processes, SQLite and PostgreSQL, the fake
Bot API and the fake Twilio going down, hanging and coming back, workers killed with SIGKILL."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from bot.config import PROJECT_ROOT
from bot.delivery.worker import CHUNK
from bot.dialogue import Engine
from bot.messages import Incoming
from bot.models import OutboxMessage, Ticket
from bot.tickets import service
from bot.tickets.staff import add_staff
from tests.channels.fake_bot_api import FakeBotApi, ServerThread
from tests.channels.fake_twilio import FakeTwilio
from tests.web.serving import PUBLIC, SECRET, TOKEN, TWILIO_ACCOUNT, TWILIO_TOKEN, Server, environment, eventually

TELEGRAM_USERS = [str(7000 + number) for number in range(40)]
WHATSAPP_USERS = [f"+9198760{number:05d}" for number in range(40)]


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with ServerThread(FakeBotApi(token=TOKEN)) as api:
        yield api


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(TWILIO_ACCOUNT, TWILIO_TOKEN).start()
    yield fake
    fake.stop()


def database_url(db_engine) -> str:
    return db_engine.url.render_as_string(hide_password=False)


def env_for(db_engine, bot_api: FakeBotApi, twilio: FakeTwilio, **extra: str) -> dict[str, str]:
    return environment(database_url(db_engine), bot_api_url=bot_api.api_base_url, twilio_url=twilio.base_url, **extra)


def staff_replies(engine: Engine, telegram: list[str], whatsapp: list[str]) -> None:
    """Each user asks for a person; the helpdesk answers every ticket (queued in the outbox)."""
    for channel, users in (("telegram", telegram), ("whatsapp", whatsapp)):
        turns = [Incoming(channel=channel, user_key=user, text="talk to a person") for user in users]
        if turns:
            engine.handle_many(turns)
    with Session(engine.db) as session:
        desk = add_staff(session, name="desk1", password=None)
        for ticket in session.exec(select(Ticket).order_by(Ticket.id)).all():
            service.reply(session, ref=ticket.ref or "", staff=desk, text=f"Answer for {ticket.ref}")
        session.commit()


def states(db_engine) -> Counter[str]:
    with Session(db_engine) as session:
        return Counter(session.exec(select(OutboxMessage.state)).all())


@pytest.mark.parametrize("workers", [2, 3])
def test_several_workers_send_every_queued_message_exactly_once(engine, db_engine, bot_api, twilio, tmp_path, workers):
    staff_replies(engine, TELEGRAM_USERS, WHATSAPP_USERS)
    with Server(env_for(db_engine, bot_api, twilio), workers=workers, cwd=tmp_path) as server:
        server.wait_ready()
        eventually(lambda: states(db_engine) == {"sent": 80}, what="all 80 replies sent", timeout=90)
    telegram = Counter(call.chat_id for call in bot_api.sent())
    whatsapp = Counter(form["To"] for form in twilio.messages)
    assert telegram == {int(user): 1 for user in TELEGRAM_USERS}
    assert whatsapp == {f"whatsapp:{user}": 1 for user in WHATSAPP_USERS}


def test_with_the_bot_api_down_serve_comes_up_answers_whatsapp_and_telegram_follows(
    engine, db_engine, bot_api, twilio, tmp_path
):
    bot_api.down()
    try:
        with Server(env_for(db_engine, bot_api, twilio), workers=2, cwd=tmp_path) as server:
            health = server.wait_ready().json()
            assert health == {"database": "ok", "telegram": "degraded", "whatsapp": "ok"}
            params = {"MessageSid": "SM" + "1" * 32, "From": "whatsapp:+919876500001", "Body": "otp nahi aa raha",
                      "To": "whatsapp:+14155238886", "NumMedia": "0"}  # fmt: skip
            signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/twilio/whatsapp", params)
            answer = httpx.post(
                f"{server.base}/twilio/whatsapp", data=params, headers={"X-Twilio-Signature": signature}
            )
            assert answer.status_code == 200 and "ओटीपी" in answer.text
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 1764000000,
                    "text": "hello",
                    "chat": {"id": 7001, "type": "private"},
                    "from": {"id": 7001, "is_bot": False, "first_name": "A"},
                },
            }
            telegram = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            waiting = httpx.post(f"{server.base}/telegram/webhook", json=update, headers=telegram)
            assert waiting.status_code == 503  # Telegram retries it
            bot_api.up()

            # Telegram retries the update until a worker takes it; which worker a post reaches is the
            # kernel's choice, so the test retries the same way instead of guessing when both are ready.
            def retried() -> bool:
                return httpx.post(f"{server.base}/telegram/webhook", json=update, headers=telegram).status_code == 200

            eventually(retried, what="the retried update accepted", timeout=90)
            eventually(lambda: len(bot_api.sent(7001)) == 1, what="the retried update answered")
            assert len(bot_api.sent(7001)) == 1  # however many retries it took: answered once
    finally:
        if not bot_api.serving:
            bot_api.up()


def test_a_reply_queued_during_a_bot_api_outage_arrives_after_it(engine, db_engine, bot_api, twilio, tmp_path):
    # A short backoff cap keeps the outage (and the test) short; the retries outlast it all the same.
    env = env_for(db_engine, bot_api, twilio, DELIVERY_RETRY_MAX_SECONDS="1")
    with Server(env, workers=2, cwd=tmp_path) as server:
        server.wait_ready()
        eventually(lambda: server.wait_ready().json().get("telegram") == "ok", what="telegram ready")
        bot_api.down()
        staff_replies(engine, TELEGRAM_USERS[:1], [])
        try:
            eventually(lambda: _attempts(db_engine) > 8, what="more than 8 attempts during the outage")
            assert states(db_engine) == {"queued": 1} or states(db_engine) == {"sending": 1}  # still trying
        finally:
            bot_api.up()
        eventually(lambda: states(db_engine) == {"sent": 1}, what="the reply sent after the outage")
    assert [call.text.split("\n")[1] for call in bot_api.sent(int(TELEGRAM_USERS[0]))] == ["Answer for HD-000001"]


def _attempts(db_engine) -> int:
    with Session(db_engine) as session:
        return max(session.exec(select(OutboxMessage.attempts)).all(), default=0)


def test_a_worker_killed_in_the_middle_of_sending_loses_nothing(engine, db_engine, bot_api, twilio, tmp_path):
    staff_replies(engine, TELEGRAM_USERS, [])
    bot_api.hang("sendMessage", 0.2, times=10_000)  # a slow Bot API: rounds take a while
    with Server(env_for(db_engine, bot_api, twilio), workers=2, cwd=tmp_path) as server:
        server.wait_ready()
        eventually(lambda: len(bot_api.sent()) >= 3, what="sending under way")
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)  # uvicorn starts a new worker; the dead one's messages are taken over
        eventually(lambda: states(db_engine) == {"sent": 40}, what="all 40 sent", timeout=120)
    received = Counter(call.chat_id for call in bot_api.sent())
    assert set(received) == {int(user) for user in TELEGRAM_USERS}  # nothing lost
    assert sum(received.values()) - len(received) <= CHUNK  # the documented bound: the killed worker's sends in flight


def test_a_worker_that_cannot_start_stops_the_server_with_a_failure(db_engine, bot_api, twilio, tmp_path):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("a database the workers cannot reach: the parent only migrates SQLite itself")
    missing = db_engine.url.set(database=f"{db_engine.url.database}_absent").render_as_string(hide_password=False)
    env = environment(missing, bot_api_url=bot_api.api_base_url, twilio_url=twilio.base_url)
    server = Server(env, workers=2, cwd=tmp_path)
    try:
        assert server.process.wait(timeout=90) != 0
        assert "this worker cannot start" in server.output()
    finally:
        server.stop()


def test_a_worker_killed_between_its_commit_and_its_response_loses_no_reply(
    engine, db_engine, bot_api, twilio, tmp_path
):
    """The kill comes from a test hook (tests/web/hooks/sitecustomize.py), never from the product."""
    crash = tmp_path / "crash-once"
    crash.touch()
    env = env_for(db_engine, bot_api, twilio, HELPDESK_TEST_CRASH_FLAG=str(crash),
                  PYTHONPATH=os.pathsep.join([str(Path(__file__).parent / "hooks"), str(PROJECT_ROOT)]))  # fmt: skip
    params = {"MessageSid": "SM" + "3" * 32, "From": "whatsapp:+919876500002", "Body": "talk to a person",
              "To": "whatsapp:+14155238886", "NumMedia": "0"}  # fmt: skip
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/twilio/whatsapp", params)
    headers = {"X-Twilio-Signature": signature}
    with Server(env, workers=2, cwd=tmp_path) as server:
        server.wait_ready()
        with pytest.raises(httpx.HTTPError):  # the worker died after committing, before answering
            httpx.post(f"{server.base}/twilio/whatsapp", data=params, headers=headers, timeout=30)
        assert not crash.exists()
        retried = httpx.post(f"{server.base}/twilio/whatsapp", data=params, headers=headers, timeout=30)
    assert retried.status_code == 200 and "HD-000001" in retried.text  # the reply the user never saw
    with Session(db_engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1  # and no second ticket
