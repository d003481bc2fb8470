"""The Telegram staff group: ticket posts with a Claim button, replies to posts, commands, overdue flags,
and refusals for anyone who is not registered staff. Real python-telegram-bot, fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.channels.telegram import TelegramChannel
from bot.delivery.outbox import Outbox
from bot.models import OutboxMessage, Ticket, TicketEvent, utcnow
from bot.providers.telegram import HelpdeskRateLimiter
from bot.tickets.staff import add_staff
from tests.channels import updates as u
from tests.channels.conftest import AT_ONCE, STAFF_CHAT, deliver
from tests.channels.conftest import posted as send_posts

DESK1 = 777  # a registered staff member's Telegram user id
STRANGER = 999


@pytest.fixture
def desk(db_engine):
    with Session(db_engine) as session:
        add_staff(session, name="desk1", password=None, telegram_user_id=DESK1)
        session.commit()


def ticket(db_engine, ref: str = "HD-000001") -> Ticket:
    with Session(db_engine) as session:
        return session.exec(select(Ticket).where(Ticket.ref == ref)).one()


def outbox_kinds(db_engine) -> list[str]:
    """What was queued for users (the staff group's own posts and notices left out)."""
    with Session(db_engine) as session:
        kinds = session.exec(select(OutboxMessage.kind).order_by(OutboxMessage.id))
        return [kind for kind in kinds if kind not in ("staff_post", "sla_notice")]


async def posted(channel) -> None:
    """A Telegram user opens a ticket, and the staff group gets its post."""
    await channel.process(u.text("mera certificate nahi bana, number 9876543210"))
    await channel.process(u.text("kisi insaan se baat karao"))
    await send_posts(channel)


def group(bot_api) -> list:
    return bot_api.sent(chat_id=STAFF_CHAT)


def test_a_new_ticket_is_posted_once_with_its_summary_and_a_claim_button(drive, bot_api, db_engine):
    async def scenario(channel):
        await posted(channel)
        assert await asyncio.to_thread(channel.staff.queue_posts) == 0
        await send_posts(channel)

    drive(scenario)
    [post] = group(bot_api)
    assert post.buttons == [{"text": "Claim", "callback_data": "claim:HD-000001"}]
    assert "New ticket HD-000001" in post.text and "Language: Hindi · Channel: telegram" in post.text
    assert "User: unverified telegram user" in post.text
    assert "kisi insaan se baat karao" in post.text
    assert "9876543210" not in post.text and "******3210" in post.text  # numbers in messages are masked
    assert ticket(db_engine).staff_post_id == post.message_id


def test_two_workers_posting_at_once_leave_exactly_one_post(engine, tg_settings, bot_api, db_engine):
    async def main():
        workers = [
            TelegramChannel(tg_settings, engine, Outbox(engine.db, engine.brain.texts, retry=AT_ONCE),
                            rate_limiter=HelpdeskRateLimiter())
            for _ in range(2)
        ]  # fmt: skip
        for worker in workers:
            await worker.start()
        try:
            await workers[0].process(u.text("kisi insaan se baat karao"))
            await asyncio.gather(*(asyncio.to_thread(worker.staff.queue_posts) for worker in workers))
            await asyncio.gather(*(deliver(worker) for worker in workers))
        finally:
            for worker in workers:
                await worker.stop()

    asyncio.run(main())
    [post] = group(bot_api)  # queued once (the database's unique post per ticket), sent once
    assert ticket(db_engine).staff_post_id == post.message_id


def test_registered_staff_claim_with_the_button(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        post_id = ticket(db_engine).staff_post_id
        await channel.process(u.button("claim:HD-000001", chat_id=STAFF_CHAT, message_id=post_id, sender=DESK1))
        return post_id

    post_id = drive(scenario)
    assert ticket(db_engine).status == "assigned"
    [answer] = bot_api.requests("answerCallbackQuery")
    assert answer.params["text"] == "HD-000001 claimed by desk1." and answer.params.get("show_alert") in (
        None,
        False,
        "false",
    )
    assert group(bot_api)[-1].text == "HD-000001 claimed by desk1."
    [retired] = bot_api.requests("editMessageReplyMarkup")
    assert int(retired.params["message_id"]) == post_id


def test_anyone_else_is_refused(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        post_id = ticket(db_engine).staff_post_id
        await channel.process(u.button("claim:HD-000001", chat_id=STAFF_CHAT, message_id=post_id, sender=STRANGER))
        await channel.process(u.text("I will handle it", chat_id=STAFF_CHAT, sender=STRANGER, reply_to=post_id))
        await channel.process(u.text("/resolve HD-000001", chat_id=STAFF_CHAT, sender=STRANGER))
        await channel.process(u.text("/tickets", chat_id=STAFF_CHAT, sender=STRANGER))

    drive(scenario)
    assert ticket(db_engine).status == "open" and ticket(db_engine).assignee_id is None
    [answer] = bot_api.requests("answerCallbackQuery")
    assert answer.params["text"].startswith("Sorry, only registered helpdesk staff") and answer.params[
        "show_alert"
    ] in (True, "true")
    refusals = group(bot_api)[1:]
    assert len(refusals) == 3 and all(f"Your Telegram id is {STRANGER}" in call.text for call in refusals)
    assert outbox_kinds(db_engine) == []


def test_a_staff_reply_to_the_post_reaches_the_user(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        post_id = ticket(db_engine).staff_post_id
        await channel.process(
            u.text("Aapka certificate ab ban gaya hai.", chat_id=STAFF_CHAT, sender=DESK1, reply_to=post_id)
        )
        return await deliver(channel)

    assert drive(scenario) == 1
    assert group(bot_api)[-1].text == "Reply to HD-000001 by desk1 sent to the user."
    to_user = bot_api.sent(chat_id=u.USER)[-1]
    assert to_user.text.startswith("HD-000001 पर हेल्पडेस्क का जवाब:\nAapka certificate ab ban gaya hai.")
    assert (ticket(db_engine).status, outbox_kinds(db_engine)) == ("waiting_for_user", ["staff_reply"])


def test_resolving_after_the_reply_was_sent_asks_the_user_for_a_rating(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        post_id = ticket(db_engine).staff_post_id
        await channel.process(u.text("Aapka certificate ban gaya.", chat_id=STAFF_CHAT, sender=DESK1, reply_to=post_id))
        await deliver(channel)
        await channel.process(u.text("/resolve", chat_id=STAFF_CHAT, sender=DESK1, reply_to=post_id))
        return await deliver(channel)

    assert drive(scenario) == 1
    assert group(bot_api)[-1].text == "HD-000001 resolved by desk1; the user is asked to rate the help."
    rating = bot_api.sent(chat_id=u.USER)[-1]
    assert rating.text.startswith("आपका हेल्पडेस्क टिकट HD-000001 हल कर दिया गया है।")
    assert [button["callback_data"] for button in rating.buttons] == [f"rate:{stars}" for stars in range(1, 6)]
    assert outbox_kinds(db_engine) == ["staff_reply", "rating_request"]


def test_a_repeated_staff_update_acts_once(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        reply = u.text(
            "Done, please check.", chat_id=STAFF_CHAT, sender=DESK1, reply_to=ticket(db_engine).staff_post_id
        )
        await channel.process(reply)
        await channel.process(reply)  # Telegram retried the webhook

    drive(scenario)
    assert outbox_kinds(db_engine) == ["staff_reply"]
    assert len(group(bot_api)) == 2  # the post and one confirmation


def test_replies_to_other_messages_are_not_relayed(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        await channel.process(u.text("thanks", chat_id=STAFF_CHAT, sender=DESK1, reply_to=4242))  # not a post
        await channel.process(u.text("chat among staff", chat_id=STAFF_CHAT, sender=DESK1))

    drive(scenario)
    assert outbox_kinds(db_engine) == []
    assert group(bot_api)[-1].text.startswith("To answer a user, reply to the ticket's post")


def test_commands_claim_resolve_and_the_queue(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        await channel.process(u.text("/tickets", chat_id=STAFF_CHAT, sender=DESK1))
        await channel.process(u.text("/claim 1", chat_id=STAFF_CHAT, sender=DESK1))
        await channel.process(u.text("/claim", chat_id=STAFF_CHAT, sender=DESK1))
        await channel.process(u.text("/resolve HD-000001", chat_id=STAFF_CHAT, sender=DESK1))
        await channel.process(u.text("/resolve HD-000001 duplicate", chat_id=STAFF_CHAT, sender=DESK1))
        await channel.process(u.text("/resolve hd-000001", chat_id=STAFF_CHAT, sender=DESK1))
        await channel.process(u.text("/tickets", chat_id=STAFF_CHAT, sender=DESK1))

    drive(scenario)
    said = [call.text for call in group(bot_api)[1:]]
    assert said[0].startswith("Open tickets: 1\nHD-000001 · open · ")
    assert said[1:3] == [
        "HD-000001 claimed by desk1.",
        "Which ticket? Send /claim HD-000123, or send /claim as a reply to the ticket's post.",
    ]
    # Nobody answered the user: resolving needs a reason, and then no rating is asked.
    assert said[3].startswith("HD-000001 has no reply that reached the user yet")
    assert said[4:6] == [
        "HD-000001 resolved by desk1 (duplicate); no rating is asked.",
        "HD-000001 is already resolved.",
    ]
    assert said[6] == "No open tickets."
    assert outbox_kinds(db_engine) == []
    with Session(db_engine) as session:
        actions = [event.action for event in session.exec(select(TicketEvent).order_by(TicketEvent.id))]
    assert actions == ["created", "claimed", "resolved"]


def test_a_command_as_a_reply_to_the_post_needs_no_reference(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        await channel.process(
            u.text("/claim", chat_id=STAFF_CHAT, sender=DESK1, reply_to=ticket(db_engine).staff_post_id)
        )

    drive(scenario)
    assert ticket(db_engine).status == "assigned"


def test_an_overdue_ticket_is_announced_once_under_its_post(drive, bot_api, db_engine):
    async def scenario(channel):
        await posted(channel)
        with Session(db_engine) as session:
            late = session.exec(select(Ticket)).one()
            late.sla_due_at = utcnow() - timedelta(hours=1)
            session.add(late)
            session.commit()
        for _ in range(2):
            await asyncio.to_thread(channel.staff.queue_overdue)
            await deliver(channel)

    drive(scenario)
    _post, notice = group(bot_api)
    assert notice.text.startswith("Overdue: HD-000001 (")
    assert notice.params["reply_parameters"]["message_id"] == ticket(db_engine).staff_post_id
    assert ticket(db_engine).overdue_flagged_at is not None


def test_an_overdue_notice_that_could_not_be_sent_is_sent_next_round(drive, bot_api, db_engine):
    async def scenario(channel):
        await posted(channel)
        with Session(db_engine) as session:
            late = session.exec(select(Ticket)).one()
            late.sla_due_at = utcnow() - timedelta(hours=1)
            session.add(late)
            session.commit()
        bot_api.fail("sendMessage", 502, "Bad Gateway", chat_id=STAFF_CHAT)
        await asyncio.to_thread(channel.staff.queue_overdue)
        await deliver(channel)
        await deliver(channel)

    drive(scenario)
    notices = [call for call in group(bot_api) if call.text.startswith("Overdue")]
    assert len(notices) == 2  # the failed one and the one that went through


def test_a_failed_post_is_retried(drive, bot_api, db_engine):
    async def scenario(channel):
        bot_api.fail("sendMessage", 502, "Bad Gateway", chat_id=STAFF_CHAT)
        await posted(channel)
        assert ticket(db_engine).staff_post_id is None
        await deliver(channel)

    drive(scenario)
    assert len(group(bot_api)) == 2 and ticket(db_engine).staff_post_id is not None


def test_without_a_staff_group_the_group_features_are_off(drive, bot_api, tg_settings):
    settings = tg_settings.model_copy(update={"telegram_staff_chat_id": None})

    async def scenario(channel):
        await channel.process(u.text("kisi insaan se baat karao"))
        await channel.process(u.text("/tickets", chat_id=STAFF_CHAT, sender=DESK1))
        return channel.staff

    assert drive(scenario, settings=settings) is None
    assert group(bot_api) == []


# --- the group follows the ticket ------------------------------------------------------------------


async def follow(channel) -> int:
    """The group's follow-ups queued and sent; how many were queued."""
    queued = await asyncio.to_thread(channel.staff.queue_follow_ups)
    await deliver(channel)
    return queued


def test_what_the_user_writes_and_sends_later_follows_under_the_post(drive, bot_api, db_engine):
    async def scenario(channel):
        await posted(channel)
        assert await follow(channel) == 0  # what the post showed is not repeated
        await channel.process(u.text("ab bhi nahi hua, mera number 9876543210 hai"))
        await channel.process(u.photo("PHOTO2big", caption="yeh dekhiye"))
        assert await follow(channel) == 2
        assert await follow(channel) == 0  # once each

    drive(scenario)
    post_id = ticket(db_engine).staff_post_id
    _post, written = group(bot_api)
    assert written.text == "HD-000001 · the user wrote: ab bhi nahi hua, mera number ******3210 hai"
    assert written.params["reply_parameters"]["message_id"] == post_id
    [photo] = bot_api.requests("sendPhoto", chat_id=STAFF_CHAT)
    assert photo.params["photo"] == "PHOTO2big"  # posted again by its file id, nothing downloaded
    assert photo.params["caption"] == "HD-000001 · the user wrote: [photo] yeh dekhiye"
    assert photo.params["reply_parameters"]["message_id"] == post_id
    with Session(db_engine) as session:
        kinds = session.exec(select(OutboxMessage.kind, OutboxMessage.state).order_by(OutboxMessage.id)).all()
    assert kinds.count(("staff_follow", "sent")) == 2


def test_two_workers_following_at_once_post_each_message_once(engine, tg_settings, bot_api, db_engine):
    async def main():
        workers = [
            TelegramChannel(tg_settings, engine, Outbox(engine.db, engine.brain.texts, retry=AT_ONCE),
                            rate_limiter=HelpdeskRateLimiter())
            for _ in range(2)
        ]  # fmt: skip
        for worker in workers:
            await worker.start()
        try:
            await posted(workers[0])
            for text in ("pehla", "doosra", "teesra"):
                await workers[1].process(u.text(text))
            queued = await asyncio.gather(*(asyncio.to_thread(worker.staff.queue_follow_ups) for worker in workers))
            assert sorted(queued) == [0, 3]
            await asyncio.gather(*(deliver(worker) for worker in workers))
        finally:
            for worker in workers:
                await worker.stop()

    asyncio.run(main())
    assert [call.text.rsplit(": ", 1)[1] for call in group(bot_api)[1:]] == ["pehla", "doosra", "teesra"]


def test_a_second_claim_tap_says_claimed_by_once(drive, bot_api, db_engine, desk):
    async def scenario(channel):
        await posted(channel)
        post_id = ticket(db_engine).staff_post_id
        for update_id in (9001, 9002):
            await channel.process(
                u.button("claim:HD-000001", chat_id=STAFF_CHAT, message_id=post_id, sender=DESK1, update_id=update_id)
            )

    drive(scenario)
    claimed = [call for call in group(bot_api) if "claimed by" in call.text]
    assert [call.text for call in claimed] == ["HD-000001 claimed by desk1."]
    answers = [call.params["text"] for call in bot_api.requests("answerCallbackQuery")]
    assert answers == ["HD-000001 claimed by desk1.", "HD-000001 is already yours."]
    with Session(db_engine) as session:
        claims = session.exec(select(TicketEvent).where(TicketEvent.action == "claimed")).all()
    assert len(claims) == 1
