"""Database tables."""

from bot.models.base import utcnow
from bot.models.conversations import Conversation, InboundReceipt, OutboxMessage
from bot.models.people import Person
from bot.models.records import Course, Employee, Enrolment, EnrolmentStatus
from bot.models.reminders import Reminder, ReminderStatus, SendRate
from bot.models.tickets import ACTIVE_STATUSES, Staff, Ticket, TicketEvent, TicketMessage, TicketStatus

__all__ = [
    "ACTIVE_STATUSES",
    "Conversation",
    "Course",
    "Employee",
    "Enrolment",
    "EnrolmentStatus",
    "InboundReceipt",
    "OutboxMessage",
    "Person",
    "Reminder",
    "ReminderStatus",
    "SendRate",
    "Staff",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "TicketStatus",
    "utcnow",
]  # fmt: skip
