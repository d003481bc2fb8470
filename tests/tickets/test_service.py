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
from bot.tickets.staff import StaffError, add_staff, authenticate, staff_by_name


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
        service.resolve(session, ref="HD-000001", staff=desk1)
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
        assert len(service.list_tickets(session, status="open", lang="hi")) == 2
        assert service.list_tickets(session, status="closed") == []


def test_staff_accounts(db_engine):
    with Session(db_engine) as session:
        add_staff(session, name="desk1", password="correct horse battery", telegram_user_id=42)
        with pytest.raises(StaffError, match="already exists"):
            add_staff(session, name="desk1", password="correct horse battery")
        with pytest.raises(StaffError, match="at least 10 characters"):
            add_staff(session, name="desk3", password="short")
        with pytest.raises(StaffError, match="a staff name is"):
            add_staff(session, name="desk 4!", password="correct horse battery")
        assert authenticate(session, name="desk1", password="correct horse battery").telegram_user_id == 42
        assert authenticate(session, name="desk1", password="wrong password!") is None
        assert authenticate(session, name="nobody", password="correct horse battery") is None
        stored = staff_by_name(session, name="desk1").password_hash
        assert stored.startswith("$argon2") and "correct horse" not in stored


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
