"""Staff actions on tickets: atomic claims, errors staff understand, SLA and overdue flags, accounts."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.conversations import lock_conversations
from bot.delivery.states import as_shown
from bot.models import Conversation, OutboxMessage, Ticket, TicketEvent, TicketMessage, utcnow
from bot.tickets import service
from bot.tickets.staff import add_staff, staff_by_name


def open_one(
    session: Session, user: str = "+919876500001", category: str = "certificate.not_generated", sla_hours: int = 24
) -> Ticket:
    conversation = lock_conversations(session, [("console", user)])[("console", user)]
    conversation.recent = [{"from": "user", "text": "certificate nahi aaya"}]
    return service.open_ticket(
        session, conversation=conversation, employee_id=None, category=category, reason="asked",
        sla=timedelta(hours=sla_hours), prefix="HD-",
    )  # fmt: skip


@pytest.fixture
def desk(db_engine):
    with Session(db_engine) as session:
        add_staff(session, name="desk1", password="correct horse battery")
        add_staff(session, name="desk2", password="another long password")
        open_one(session)
        session.commit()
    return db_engine


def test_refs_are_numbered_with_the_prefix(db_engine):
    with Session(db_engine) as session:
        assert open_one(session).ref == "HD-000001"
        assert open_one(session, user="+919876500002").ref == "HD-000002"


def test_a_claimed_ticket_cannot_be_claimed_by_someone_else(desk):
    with Session(desk) as session:
        service.claim(session, ref="hd-000001", staff=staff_by_name(session, name="desk1"))
        with pytest.raises(service.TicketError, match="HD-000001 is already claimed by desk1"):
            service.claim(session, ref="HD-000001", staff=staff_by_name(session, name="desk2"))
        assert service.claim(session, ref="HD-000001", staff=staff_by_name(session, name="desk1")).assignee_id


def test_two_staff_claiming_at_once_exactly_one_wins(desk):
    """Two sessions, two threads, released together at the claim."""
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def try_claim(name: str) -> None:
        with Session(desk) as session:
            member = staff_by_name(session, name=name)
            barrier.wait()
            try:
                service.claim(session, ref="HD-000001", staff=member)
                session.commit()
                outcomes[name] = "won"
            except service.TicketError as error:
                session.rollback()
                outcomes[name] = str(error)

    threads = [threading.Thread(target=try_claim, args=(name,)) for name in ("desk1", "desk2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()).count("won") == 1, outcomes
    loser = next(outcome for outcome in outcomes.values() if outcome != "won")
    assert "already claimed by" in loser
    with Session(desk) as session:
        claims = session.exec(select(TicketEvent).where(TicketEvent.action == "claimed")).all()
        assert len(claims) == 1


def test_replying_needs_text_and_an_active_ticket(desk):
    with Session(desk) as session:
        desk1 = staff_by_name(session, name="desk1")
        with pytest.raises(service.TicketError, match="the reply is empty"):
            service.reply(session, ref="HD-000001", staff=desk1, text="   ")
        service.resolve(session, ref="HD-000001", staff=desk1, reason="duplicate")
        with pytest.raises(service.TicketError, match="HD-000001 is already resolved"):
            service.reply(session, ref="HD-000001", staff=desk1, text="hello")
        with pytest.raises(service.TicketError, match="no ticket HD-999999"):
            service.claim(session, ref="HD-999999", staff=desk1)


def test_sla_by_topic_then_area_then_default():
    by_category = {"certificate": 48, "profile.transfer": 72}
    assert service.sla_hours("certificate.not_generated", default=24, by_category=by_category) == 48
    assert service.sla_hours("profile.transfer", default=24, by_category=by_category) == 72
    assert service.sla_hours("general", default=24, by_category=by_category) == 24


def test_overdue_tickets_are_flagged_once(db_engine):
    with Session(db_engine) as session:
        late = open_one(session, sla_hours=1)
        open_one(session, user="+919876500002", sla_hours=100)
        session.commit()
        later = utcnow() + timedelta(hours=2)
        assert [ticket.ref for ticket in service.flag_overdue(session, now=later)] == [late.ref]
        session.commit()
        assert service.flag_overdue(session, now=later) == []
        assert service.is_overdue(late, later)
        assert [t.ref for t in service.list_tickets(session, overdue_at=later)] == [late.ref]


def test_queue_filters(db_engine):
    with Session(db_engine) as session:
        open_one(session)
        open_one(session, user="+919876500002", category="profile.transfer")
        assert [t.category for t in service.list_tickets(session, category="profile")] == ["profile.transfer"]
        assert len(service.list_tickets(session, statuses=["open"], lang="hi")) == 2
        assert service.list_tickets(session, statuses=["closed"]) == []


def reach_user(session: Session, ref: str = "HD-000001") -> None:
    """The user's channel took the reply: the outbox row is marked sent."""
    for message in session.exec(select(OutboxMessage).where(OutboxMessage.kind == "staff_reply")):
        message.state, message.sent_at = "sent", utcnow()


def test_resolving_needs_a_reply_that_reached_the_user_or_a_reason(desk):
    with Session(desk) as session:
        desk1 = staff_by_name(session, name="desk1")
        ticket = service.get_ticket(session, ref="HD-000001")
        with pytest.raises(service.TicketError, match="has no reply that reached the user yet"):
            service.resolve(session, ref="HD-000001", staff=desk1)
        service.reply(session, ref="HD-000001", staff=desk1, text="Please try again now.")
        assert not service.reply_reached_user(session, ticket)  # queued is not reached
        with pytest.raises(service.TicketError, match="has no reply that reached the user yet"):
            service.resolve(session, ref="HD-000001", staff=desk1)
        reach_user(session)
        assert service.reply_reached_user(session, ticket)
        service.resolve(session, ref="HD-000001", staff=desk1)
        kinds = [message.kind for message in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
        assert kinds == ["staff_reply", "rating_request"]


@pytest.mark.parametrize("reason, said", list(service.RESOLVE_REASONS.items()))
def test_resolving_with_a_reason_asks_for_no_rating(desk, reason, said):
    with Session(desk) as session:
        service.resolve(session, ref="HD-000001", staff=staff_by_name(session, name="desk2"), reason=reason)
        assert session.exec(select(OutboxMessage)).all() == []
        event = session.exec(select(TicketEvent).where(TicketEvent.action == "resolved")).one()
        assert (event.actor, event.detail) == ("desk2", said)
        assert service.get_ticket(session, ref="HD-000001").assignee_id is not None  # who resolved answers for it


def test_a_held_or_failed_reply_has_not_reached_the_user(desk):
    with Session(desk) as session:
        service.reply(session, ref="HD-000001", staff=staff_by_name(session, name="desk1"), text="Try now.")
        [message] = session.exec(select(OutboxMessage)).all()
        message.state = "held"
        assert not service.reply_reached_user(session, service.get_ticket(session, ref="HD-000001"))
        message.state, message.last_error = "failed", "forbidden: bot was blocked by the user"
        assert not service.reply_reached_user(session, service.get_ticket(session, ref="HD-000001"))
        message.state = "delivered"
        assert service.reply_reached_user(session, service.get_ticket(session, ref="HD-000001"))


def test_several_statuses_search_and_counts(db_engine):
    with Session(db_engine) as session:
        add_staff(session, name="desk1", password="correct horse battery")
        first = open_one(session)
        second = open_one(session, user="+919876500002", sla_hours=1)
        third = open_one(session, user="+919876500003")
        service.claim(session, ref=second.ref, staff=staff_by_name(session, name="desk1"))
        service.resolve(session, ref=third.ref, staff=staff_by_name(session, name="desk1"), reason="duplicate")
        refs = lambda **filters: [t.ref for t in service.list_tickets(session, **filters)]  # noqa: E731
        assert refs(statuses=["open", "assigned"]) == [first.ref, second.ref]
        assert refs(statuses=["resolved"]) == [third.ref]
        assert refs(search="98765 00002") == [second.ref]
        assert refs(search="+91-98765-00003") == [third.ref]
        assert refs(search=second.ref.lower()) == [second.ref] and refs(search="3") == [third.ref]
        assert refs(limit=1, offset=1) == [second.ref]
        where = service.TicketFilter(statuses=("open", "assigned", "resolved"))
        assert service.count_tickets(session, where) == 3
        assert service.queue_counts(session, now=utcnow() + timedelta(hours=2)) == (2, 1)


def test_a_ticket_carries_the_turns_before_it_with_their_time_and_taps(db_engine):
    with Session(db_engine) as session:
        conversation = lock_conversations(session, [("console", "u1")])[("console", "u1")]
        conversation.recent = [
            {"from": "user", "text": "certificate nahi mila", "at": "2026-11-24T10:00:00+00:00"},
            {"from": "bot", "text": "Certificate ...", "at": "2026-11-24T10:00:00+00:00"},
            {"from": "user", "text": "नहीं", "at": "2026-11-24T10:01:00+00:00", "tap": "no"},
            {"from": "user", "text": "an entry kept before times were"},
        ]
        ticket = service.open_ticket(session, conversation=conversation, employee_id=None, category="general",
                                     reason="not_helped", sla=timedelta(hours=24), prefix="HD-")  # fmt: skip
        lines = service.transcript(session, ticket=ticket)
        assert all(line.before_ticket for line in lines)
        assert [line.choice for line in lines] == [None, None, "no", None]
        assert lines[0].created_at.isoformat() == "2026-11-24T10:00:00+00:00"
        assert lines[-1].created_at == ticket.created_at
        assert service.first_messages(session, [ticket])[ticket.id].text == "an entry kept before times were"
        service.add_user_message(session, ticket=ticket, text="course POSH, completed on 1 Nov")
        session.flush()
        assert service.first_messages(session, [ticket])[ticket.id].text == "course POSH, completed on 1 Nov"


def test_a_staff_reply_names_the_outbox_message_that_delivers_it(db_engine):
    with Session(db_engine) as session:
        conversation = Conversation(channel="telegram", user_key="7001")
        session.add(conversation)
        session.flush()
        ticket = service.open_ticket(session, conversation=conversation, employee_id=None, category="general",
                                     reason="asked", sla=timedelta(hours=24), prefix="HD-")  # fmt: skip
        desk = add_staff(session, name="desk1", password=None)
        service.reply(session, ref=ticket.ref, staff=desk, text="Done.")
        session.commit()
        said = session.exec(select(TicketMessage).where(TicketMessage.author == "staff")).one()
        message = session.exec(select(OutboxMessage).where(OutboxMessage.ticket_message_id == said.id)).one()
        assert (message.kind, as_shown(message.state), message.last_error) == ("staff_reply", "queued", None)
