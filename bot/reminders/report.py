"""Counts for `helpdesk remind report`: the contract's keys, then delivered/read and the unreachable."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot.delivery.states import DELIVERED, READ
from bot.models import Conversation, Employee, OutboxMessage, Reminder, ReminderStatus

R = Reminder.__table__.c
MESSAGE = OutboxMessage.__table__.c


def report(db: Engine, *, campaign: str | None = None) -> dict[str, int]:
    """`planned` counts every reminder ever planned; `waiting` those not sent/failed/skipped yet (planned,
    or queued in the outbox), of which `skipped_quiet_hours` are held back by quiet hours until the
    window opens; `delivered`/`read` are the states of their outbox messages (WhatsApp's status
    callbacks; the console marks a message read when the chat shows it); `no_linked_channel` counts
    employees with a reminder who never wrote to the bot from a channel that vouched for their phone
    (they are reached only by WhatsApp's template, if it is configured)."""
    where = [R.campaign == campaign] if campaign else []
    with db.connect() as connection:
        by_status: dict[str, int] = dict(
            connection.execute(select(R.status, func.count()).where(*where).group_by(R.status)).all()
        )
        by_skip: dict[str | None, int] = dict(
            connection.execute(
                select(R.skip_reason, func.count())
                .where(R.status == ReminderStatus.SKIPPED.value, *where)
                .group_by(R.skip_reason)
            ).all()
        )
        waiting = by_status.get(ReminderStatus.PLANNED.value, 0) + by_status.get(ReminderStatus.QUEUED.value, 0)
        quiet = connection.execute(
            select(func.count()).where(R.status == ReminderStatus.PLANNED.value, R.deferred_until.is_not(None), *where)
        ).scalar_one()
        states: dict[str, int] = dict(
            connection.execute(
                select(MESSAGE.state, func.count())
                .select_from(Reminder.__table__.join(OutboxMessage.__table__, MESSAGE.reminder_id == R.id))
                .where(R.status == ReminderStatus.SENT.value, *where)
                .group_by(MESSAGE.state)
            ).all()
        )
        employees = select(R.employee_id).where(*where).distinct().subquery()
        no_link = connection.execute(
            select(func.count())
            .select_from(employees.join(Employee.__table__, Employee.__table__.c.id == employees.c.employee_id))
            .where(
                ~exists().where(
                    and_(
                        col(Conversation.verified_phone) == Employee.phone,
                        col(Employee.phone).is_not(None),
                        col(Conversation.last_inbound_at).is_not(None),
                    )
                )
            )
        ).scalar_one()
    return {
        "planned": sum(by_status.values()),
        "sent": by_status.get(ReminderStatus.SENT.value, 0),
        "failed": by_status.get(ReminderStatus.FAILED.value, 0),
        "skipped_opted_out": by_skip.get("opted_out", 0),
        "skipped_quiet_hours": quiet,
        "skipped_no_channel": by_skip.get("no_channel", 0),
        "skipped_shared_phone": by_skip.get("shared_phone", 0),
        "skipped_nothing_pending": by_skip.get("nothing_pending", 0),
        "waiting": waiting,
        "delivered": states.get(DELIVERED, 0) + states.get(READ, 0),
        "read": states.get(READ, 0),
        "no_linked_channel": no_link,
    }


def status_counts(session: Session) -> dict[str, int]:
    """Reminders by status (planned, queued, sent, failed, skipped), every status present, for the metrics."""
    found: dict[str, int] = dict(session.connection().execute(select(R.status, func.count()).group_by(R.status)).all())
    return {status.value: found.get(status.value, 0) for status in ReminderStatus}
