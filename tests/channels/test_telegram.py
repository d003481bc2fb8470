"""Telegram private chats, the outbox, the webhook and polling: the real python-telegram-bot against a
local fake of the Bot API (tests/channels/fake_bot_api.py). Nothing reaches the internet."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.routing import Route
from telegram.error import RetryAfter

from bot.channels.telegram import (
    MAX_UPDATE_BYTES,
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
    run_polling,
    set_webhook,
    telegram_webhook,
)
from bot.delivery.worker import Sender
from bot.messages import Incoming, Option, Reply
from bot.models import Conversation, Employee, InboundReceipt, OutboxMessage, Ticket, TicketMessage, utcnow
from bot.providers.telegram import (
    CALLBACK_DATA_LIMIT,
    HelpdeskRateLimiter,
    TelegramSetupError,
    api_urls,
    callback_data,
    retry_after_seconds,
    send_reply,
)
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name
from tests.channels import updates as u
from tests.channels.conftest import PUBLIC_URL, SECRET, STAFF_CHAT, deliver
from tests.channels.fake_bot_api import BOT_ID, BOT_USERNAME

SUNITA = "+919876500001"
# RetryAfter's own constructor reads its deprecated int `retry_after`: not this code's doing.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")


async def say(channel, *sent: dict) -> None:
    for update in sent:
        await channel.process(update)


def open_ticket_by_telegram(drive, text: str = "I want to talk to a person") -> None:
    drive(lambda channel: say(channel, u.text(text)))


def staff_reply(db_engine, text: str, ref: str = "HD-000001") -> None:
    with Session(db_engine) as session:
        member = staff_by_name(session, name="desk1") or add_staff(session, name="desk1", password=None)
        service.reply(session, ref=ref, staff=member, text=text)
        session.commit()


def messages(db_engine) -> list[OutboxMessage]:
    with Session(db_engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


# Private chats ------------------------------------------------------------------------------


def test_a_hindi_question_gets_the_hindi_answer_with_buttons(drive, bot_api):
    drive(lambda channel: say(channel, u.text("otp nahi aa raha")))
    [answer] = bot_api.sent(chat_id=u.USER)
    assert "ओटीपी नहीं आ रहा तो ये करके देखें" in answer.text
    assert [(b["text"], b["callback_data"]) for b in answer.buttons] == [
        ("हाँ", "yes"), ("नहीं", "no"), ("हेल्पडेस्क से बात करें", "intent:human"),
    ]  # fmt: skip
    assert all(len(row) == 1 for row in answer.reply_markup["inline_keyboard"])  # one button per row


def test_a_button_press_is_the_users_choice(drive, bot_api):
    async def scenario(channel):
        await say(channel, u.text("otp nahi aa raha"))
        await say(channel, u.button("no", message_id=bot_api.next_message_id))

    drive(scenario)
    assert len(bot_api.requests("answerCallbackQuery")) == 1
    offer = bot_api.sent(chat_id=u.USER)[-1]
    assert "इससे समस्या हल नहीं हुई" in offer.text
    assert [b["callback_data"] for b in offer.buttons] == ["escalate", "intent:help"]
    [edit] = bot_api.requests("editMessageReplyMarkup")  # the tapped buttons are taken away
    assert "reply_markup" not in edit.params or not edit.params["reply_markup"]


def test_start_greets_with_the_menu(drive, bot_api):
    drive(lambda channel: say(channel, u.text("/start")))
    [greeting] = bot_api.sent()
    assert "intent:my_status" in [b["callback_data"] for b in greeting.buttons]


def test_commands_answer_in_the_language_the_users_app_is_set_to(drive, bot_api):
    drive(
        lambda channel: say(
            channel,
            u.text("/start", language_code="hi"),
            u.text("/stop", language_code="hi"),
            u.text("/start@" + BOT_USERNAME, language_code="hi"),
            u.text("/language", chat_id=222, language_code="en"),
        )
    )
    greeting, stopped, again = bot_api.sent(chat_id=u.USER)
    assert greeting.text.startswith("नमस्ते! मैं iGOT कर्मयोगी हेल्पडेस्क सहायक हूँ।")
    assert "रिमाइंडर नहीं भेजे जाएंगे" in stopped.text
    assert "intent:reminders_start" in [b["callback_data"] for b in again.buttons]  # /start did not opt in again
    [language] = bot_api.sent(chat_id=222)
    assert language.text == "Which language would you like?"


def test_a_long_reply_is_split_under_telegrams_limit_with_buttons_on_the_last_part(drive, bot_api):
    long = Reply("\n".join(f"line {number}: " + "शब्द " * 40 for number in range(60)), (Option("yes", "Yes"),))
    drive(lambda channel: send_reply(channel.bot, u.USER, long))
    parts = bot_api.sent(chat_id=u.USER)
    assert len(parts) > 1
    assert all(len(part.text) <= 4096 for part in parts)
    assert [bool(part.buttons) for part in parts] == [False] * (len(parts) - 1) + [True]
    assert "\n".join(part.text for part in parts) == long.text


def test_my_status_without_a_contact_asks_for_the_phone_in_the_users_language(drive, bot_api):
    drive(lambda channel: say(channel, u.text("my status"), u.text("mera status batao", chat_id=222)))
    for chat_id, label in ((u.USER, "Share my phone number"), (222, "अपना मोबाइल नंबर भेजें")):
        [ask] = bot_api.sent(chat_id=chat_id)
        [[button]] = ask.reply_markup["keyboard"]
        assert button == {"text": label, "request_contact": True}
        assert ask.reply_markup["one_time_keyboard"] is True


def test_the_users_own_contact_verifies_them_and_shows_their_status(drive, bot_api, db_engine):
    with Session(db_engine) as session:
        session.add(Employee(name="Sunita Sahu", phone=SUNITA))
        session.commit()
    drive(lambda channel: say(channel, u.text("mera status batao"), u.contact("919876500001", owner=u.USER)))
    status = bot_api.sent(chat_id=u.USER)[-1]
    assert "Sunita Sahu जी, आपके कोर्स" in status.text and "+91******0001" in status.text
    assert status.reply_markup == {"remove_keyboard": True}
    with Session(db_engine) as session:
        assert session.exec(select(Conversation)).one().verified_phone == SUNITA


@pytest.mark.parametrize("owner", [222, None], ids=["someone-elses", "typed-in"])
def test_a_contact_that_is_not_the_users_own_is_refused(drive, bot_api, db_engine, owner):
    with Session(db_engine) as session:
        session.add(Employee(name="Sunita Sahu", phone=SUNITA))
        session.commit()
    drive(lambda channel: say(channel, u.contact(SUNITA, owner=owner)))
    [answer] = bot_api.sent(chat_id=u.USER)
    assert "Sunita" not in answer.text and "0001" not in answer.text
    assert answer.reply_markup["keyboard"][0][0]["request_contact"] is True  # asked again for their own
    with Session(db_engine) as session:
        assert session.exec(select(Conversation)).one().verified_phone is None


def test_a_photo_while_a_ticket_is_open_is_attached_to_it(drive, bot_api, db_engine):
    drive(
        lambda channel: say(
            channel, u.text("I want to talk to a person"), u.photo("AgACAgUAAxkBAAIB", caption="error screen")
        )
    )
    assert "Added to your request HD-000001" in bot_api.sent(chat_id=u.USER)[-1].text
    with Session(db_engine) as session:
        line = session.exec(select(TicketMessage).order_by(TicketMessage.id.desc())).first()
        assert (line.attachment_kind, line.attachment_ref, line.text) == ("photo", "AgACAgUAAxkBAAIB", "error screen")


@pytest.mark.parametrize("update", [u.voice("voice-1"), u.sticker("sticker-1")], ids=["voice", "sticker"])
def test_a_voice_note_or_sticker_without_a_ticket_gets_a_polite_answer(drive, bot_api, db_engine, update):
    drive(lambda channel: say(channel, update))
    [answer] = bot_api.sent(chat_id=u.USER)
    assert "मैं फ़ोटो, वॉइस मैसेज या फ़ाइल नहीं पढ़ सकता" in answer.text
    with Session(db_engine) as session:
        assert session.exec(select(Ticket)).all() == []


def test_a_repeated_update_is_handled_once(drive, bot_api, db_engine):
    update = u.text("I want to talk to a person")
    drive(lambda channel: say(channel, update, update, json.loads(json.dumps(update))))
    assert len(bot_api.sent(chat_id=u.USER)) == 1  # its reply went out: the stored copy is forgotten
    with Session(db_engine) as session:
        assert len(session.exec(select(Ticket)).all()) == 1
        assert session.exec(select(InboundReceipt.external_id)).all() == [f"{BOT_ID}:{update['update_id']}"]


def test_messages_in_other_groups_are_ignored(drive, bot_api):
    drive(lambda channel: say(channel, u.text("/tickets", chat_id=-555), u.text("otp nahi aa raha", chat_id=-555)))
    assert bot_api.sent() == []


def test_a_reply_that_could_not_be_sent_goes_out_through_the_outbox(drive, bot_api, db_engine):
    async def scenario(channel):
        bot_api.fail("sendMessage", 502, "Bad Gateway")
        await say(channel, u.text("I want to talk to a person"))
        assert len(bot_api.sent(chat_id=u.USER)) == 1  # the failed attempt
        return await deliver(channel)

    assert drive(scenario) == 1
    delivered = bot_api.sent(chat_id=u.USER)[-1]
    assert "HD-000001" in delivered.text
    assert [message.kind for message in messages(db_engine)] == ["bot_reply"]


def test_every_option_key_fits_in_a_button(brain, engine):
    """Telegram's callback_data is at most 64 bytes; the engine's keys must all fit."""
    keys = [f"topic:{topic}" for topic in brain.knowledge.faqs] + [f"intent:{name}" for name in engine._intents]
    keys += ["yes", "no", "escalate", "none", "lang:en", "lang:hi"] + [f"rate:{stars}" for stars in range(1, 6)]
    assert all(callback_data(key, 1) == key for key in keys)
    assert max(len(key.encode()) for key in keys) <= CALLBACK_DATA_LIMIT
    assert callback_data("topic:" + "x" * 80, 3) == "#3"  # too long: sent as its number


def test_an_overlong_key_is_answered_as_its_number(drive, bot_api):
    async def scenario(channel):
        await say(channel, u.text("otp nahi aa raha"), u.button("#2"))  # the second option: "no"

    drive(scenario)
    assert "इससे समस्या हल नहीं हुई" in bot_api.sent(chat_id=u.USER)[-1].text


# The outbox ---------------------------------------------------------------------------------


def test_a_staff_reply_is_delivered_to_the_user_and_marked_delivered(drive, bot_api, db_engine):
    open_ticket_by_telegram(drive)
    staff_reply(db_engine, "Your certificate is generated now.")
    assert drive(deliver) == 1
    message = bot_api.sent(chat_id=u.USER)[-1]
    assert message.text.startswith("Helpdesk reply to HD-000001:\nYour certificate is generated now.")
    [queued] = messages(db_engine)
    assert (queued.state, queued.provider_message_id) == ("sent", str(bot_api.next_message_id))
    assert queued.sent_at is not None and queued.lease_owner is None
    assert drive(deliver) == 0  # once


def test_a_long_queued_message_is_split(drive, bot_api, db_engine):
    open_ticket_by_telegram(drive)
    with Session(db_engine) as session:
        conversation = session.exec(select(Conversation)).one()
        session.add(
            OutboxMessage(conversation_id=conversation.id, kind="bot_reply", text="Please check these steps. " * 400)
        )
        session.commit()
    assert drive(deliver) == 1
    parts = bot_api.sent(chat_id=u.USER)[1:]
    assert len(parts) == 3 and all(0 < len(part.text) <= 4096 for part in parts)
    assert " ".join(part.text for part in parts).count("Please check these steps.") == 400  # cut at spaces


@pytest.mark.parametrize("timedeltas", [False, True], ids=["int", "timedelta"])
def test_flood_control_is_retried_not_failed(drive, bot_api, db_engine, outbox, monkeypatch, timedeltas):
    if timedeltas:
        monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB's coming behaviour: retry_after is a timedelta
    open_ticket_by_telegram(drive)
    staff_reply(db_engine, "Your certificate is generated now.")

    async def scenario(channel):
        bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        sender = Sender(channel.outbox, channel.provider)
        _, recorded = await sender.round()
        return len(recorded.sent), sender.paused_for

    assert drive(scenario, max_retries=0) == (0, 7.0)
    [queued] = messages(db_engine)
    assert (queued.state, queued.failed_at, queued.sent_at, queued.lease_owner) == ("queued", None, None, None)
    assert "retry after 7 s" in queued.last_error
    assert queued.next_attempt_at >= utcnow() + timedelta(seconds=6)  # the wait Telegram asked for
    assert drive(deliver) == 0  # not before it is over
    later = utcnow() + timedelta(seconds=8)
    outbox.clock = lambda: later
    assert drive(deliver) == 1


def test_the_rate_limiter_waits_out_a_short_flood_wait_itself(drive, bot_api, db_engine):
    open_ticket_by_telegram(drive)
    staff_reply(db_engine, "Your certificate is generated now.")
    bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    assert drive(deliver) == 1  # AIORateLimiter retried after 1 s
    assert len(bot_api.sent(chat_id=u.USER)) == 3  # the answer, the 429, the retry


@pytest.mark.parametrize(
    "trouble", ["blocked", "gone"], ids=["forbidden-user-blocked-the-bot", "bad-request-chat-not-found"]
)
def test_a_user_who_cannot_be_reached_fails_permanently(drive, bot_api, db_engine, trouble):
    open_ticket_by_telegram(drive)
    staff_reply(db_engine, "Your certificate is generated now.")
    getattr(bot_api, trouble).add(u.USER)
    assert drive(deliver) == 0
    [queued] = messages(db_engine)
    assert (queued.state, queued.sent_at, queued.attempts) == ("failed", None, 1) and queued.failed_at is not None
    assert queued.last_error.startswith("forbidden" if trouble == "blocked" else "bad request")
    assert drive(deliver) == 0  # never tried again


def test_a_network_error_is_retried_next_round(drive, bot_api, db_engine):
    open_ticket_by_telegram(drive)
    staff_reply(db_engine, "Your certificate is generated now.")
    bot_api.fail("sendMessage", 502, "Bad Gateway")
    assert drive(deliver) == 0
    assert (messages(db_engine)[0].state, messages(db_engine)[0].failed_at) == ("queued", None)
    assert drive(deliver) == 1


def test_private_chats_are_paced_per_chat_and_groups_by_ptbs_group_limit():
    limiter = HelpdeskRateLimiter()

    async def main():
        first, again, other = (limiter._private_limiter(chat) for chat in (111, "111", 222))
        assert first is again and first is not other
        assert limiter._private_limiter(-1001234567890) is None  # groups: AIORateLimiter's 20/min
        assert limiter._private_limiter(None) is None  # no chat (answerCallbackQuery, getUpdates)
        for _ in range(3):  # a burst of three (a split reply), then about one a second
            async with first:
                pass
        assert not first.has_capacity() and other.has_capacity()

    asyncio.run(main())


def test_retry_after_is_read_as_seconds_whether_int_or_timedelta(monkeypatch):
    assert retry_after_seconds(RetryAfter(5)) == 5.0
    assert retry_after_seconds(RetryAfter(timedelta(seconds=2.5))) == 2.5
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert retry_after_seconds(RetryAfter(5)) == 5.0


def test_the_outbox_loop_runs_until_cancelled(drive, bot_api, db_engine):
    open_ticket_by_telegram(drive)
    staff_reply(db_engine, "Your certificate is generated now.")

    async def scenario(channel):
        loop = asyncio.create_task(channel.run(interval=0.05))
        await eventually(lambda: len(bot_api.sent(chat_id=STAFF_CHAT)) == 1 and len(bot_api.sent(chat_id=u.USER)) == 2)
        loop.cancel()
        done, _ = await asyncio.wait({loop}, timeout=10)
        assert done, "the outbox loop did not stop when cancelled"
        with pytest.raises(asyncio.CancelledError):
            await loop

    drive(scenario)
    assert "HD-000001" in bot_api.sent(chat_id=STAFF_CHAT)[0].text  # the staff group is served too


async def eventually(condition, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


# The webhook route, set-webhook and polling -------------------------------------------------


def test_the_webhook_checks_the_secret_and_the_body(drive, bot_api, tg_settings):
    update = u.text("otp nahi aa raha")

    async def scenario(channel):
        app = Starlette(routes=[Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"])])
        app.state.settings, app.state.telegram = tg_settings, channel
        good = {SECRET_HEADER: SECRET, "content-type": "application/json"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            post = client.post
            return [
                (await post(WEBHOOK_PATH, json=update)).status_code,  # no secret
                (await post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET + "x"})).status_code,
                (
                    await post(
                        WEBHOOK_PATH,
                        content=b"update_id=1",
                        headers={**good, "content-type": "application/x-www-form-urlencoded"},
                    )
                ).status_code,
                (await post(WEBHOOK_PATH, content=b"{not json", headers=good)).status_code,
                (await post(WEBHOOK_PATH, content=b"[1, 2]", headers=good)).status_code,
                (await post(WEBHOOK_PATH, content=json.dumps({"update_id": "x"}), headers=good)).status_code,
                (await post(WEBHOOK_PATH, content=b" " * (MAX_UPDATE_BYTES + 1), headers=good)).status_code,
                (await post(WEBHOOK_PATH, content=json.dumps(update), headers=good)).status_code,
                (await post(WEBHOOK_PATH, content=json.dumps(update), headers=good)).status_code,  # Telegram's retry
            ]

    assert drive(scenario) == [403, 403, 415, 400, 400, 400, 413, 200, 200]
    assert len(bot_api.sent(chat_id=u.USER)) == 1  # handled once


def test_the_webhook_is_not_found_when_telegram_is_off(tg_settings):
    async def main():
        app = Starlette(routes=[Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"])])
        app.state.settings, app.state.telegram = tg_settings, None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return (await client.post(WEBHOOK_PATH, json={}, headers={SECRET_HEADER: SECRET})).status_code

    assert asyncio.run(main()) == 404


def test_set_webhook_registers_the_public_url_with_the_secret(bot_api, tg_settings):
    assert asyncio.run(set_webhook(tg_settings)) == f"{PUBLIC_URL}/telegram/webhook"
    [call] = bot_api.requests("setWebhook")
    assert call.params["url"] == f"{PUBLIC_URL}/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"public_base_url": None}, "PUBLIC_BASE_URL"),
        ({"public_base_url": "http://helpdesk.example.org"}, "PUBLIC_BASE_URL"),
        ({"telegram_webhook_secret": None}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"telegram_webhook_secret": "has spaces"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"telegram_bot_token": None}, "TELEGRAM_BOT_TOKEN"),
    ],
)
def test_set_webhook_refuses_an_unusable_configuration(bot_api, tg_settings, change, problem):
    with pytest.raises(TelegramSetupError, match=problem):
        asyncio.run(set_webhook(tg_settings.model_copy(update=change)))
    assert bot_api.requests("setWebhook") == []


def test_polling_feeds_the_same_handlers_and_acknowledges_updates(bot_api, engine, tg_settings, outbox):
    first = u.text("otp nahi aa raha")
    bot_api.updates.extend([first, first])  # Telegram may serve an update again

    async def main():
        polling = asyncio.create_task(run_polling(tg_settings, engine, outbox, interval=0.05, poll_timeout=1))
        await eventually(lambda: len(bot_api.sent(chat_id=u.USER)) == 1)
        await eventually(
            lambda: any(
                int(call.params.get("offset") or 0) == first["update_id"] + 1 for call in bot_api.requests("getUpdates")
            )
        )
        polling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await polling

    asyncio.run(main())
    assert bot_api.requests("deleteWebhook")  # polling and a webhook exclude each other
    assert bot_api.requests("getUpdates")[0].params["allowed_updates"] == ["message", "callback_query"]
    assert len(bot_api.sent(chat_id=u.USER)) == 1  # an update served again is not answered again


def test_the_api_base_url_gives_the_file_url():
    assert api_urls("http://127.0.0.1:8081/bot") == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert api_urls("https://api.telegram.org/bot/") == (
        "https://api.telegram.org/bot",
        "https://api.telegram.org/file/bot",
    )


def test_unreachable_at_start_the_channel_retries_and_its_webhook_says_503_meanwhile(
    bot_api, engine, tg_settings, outbox
):

    update = u.text("otp nahi aa raha")
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}

    async def main():
        channel = TelegramChannel(tg_settings, engine, outbox)
        app = Starlette(routes=[Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"])])
        app.state.settings, app.state.telegram = tg_settings, channel
        running = asyncio.create_task(channel.run(interval=0.05))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            await eventually(lambda: bool(bot_api.requests("getMe")) or channel.health.state == "degraded")
            await asyncio.sleep(0.3)  # a failed getMe or two
            starting = await client.post(WEBHOOK_PATH, content=json.dumps(update), headers=headers)
            health = channel.health.state
            bot_api.up()
            await eventually(lambda: channel.ready, timeout=15)
            ready = await client.post(WEBHOOK_PATH, content=json.dumps(update), headers=headers)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        return (
            starting.status_code,
            starting.headers.get("retry-after"),
            health,
            ready.status_code,
            channel.health.state,
        )

    bot_api.down()
    try:
        assert asyncio.run(main()) == (503, "5", "degraded", 200, "ok")
    finally:
        if not bot_api.serving:
            bot_api.up()
    assert len(bot_api.sent(chat_id=u.USER)) == 1  # Telegram's retry of the update was answered once


def test_a_deeply_nested_body_is_a_bad_request_and_a_lone_surrogate_is_answered(drive, bot_api, tg_settings):
    good = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    nested = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # 200 KB
    surrogate = json.dumps(u.text("otp nahi aa raha")).replace("otp", "otp \\ud800")  # JSON may carry one

    async def scenario(channel):
        app = Starlette(routes=[Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"])])
        app.state.settings, app.state.telegram = tg_settings, channel
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            deep = await client.post(WEBHOOK_PATH, content=nested, headers=good)
            odd = await client.post(WEBHOOK_PATH, content=surrogate.encode(), headers=good)
        return deep.status_code, odd.status_code

    assert len(nested) > 200_000 and drive(scenario) == (400, 200)
    [answer] = bot_api.sent(chat_id=u.USER)
    assert "ओटीपी नहीं आ रहा" in answer.text  # understood, not the apology


def test_a_hanging_bot_api_is_a_failed_send_retried_later(bot_api, engine, tg_settings, db_engine, outbox):
    from bot.providers.health import Health
    from bot.providers.telegram import TelegramProvider, application_builder

    async def main():
        # The production timeout is 15 s; the same classes with half a second.
        application = application_builder(tg_settings).updater(None).read_timeout(0.5).build()
        await application.initialize()
        try:
            provider = TelegramProvider(application.bot, Health("telegram"))
            bot_api.hang("sendMessage", 3)
            _, first = await Sender(outbox, provider).round()
            _, second = await Sender(outbox, provider).round()
            return first, second, provider.health.state
        finally:
            await application.shutdown()

    engine.handle(Incoming(channel="telegram", user_key=str(u.USER), text="I want to talk to a person"))
    staff_reply(db_engine, "Your certificate is generated now.")
    first, second, health = asyncio.run(main())
    assert (len(first.retrying), len(second.sent), health) == (1, 1, "ok")
    [message] = messages(db_engine)
    assert message.state == "sent" and message.attempts == 2 and message.last_error is None
