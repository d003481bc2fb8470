"""Database tables."""

from bot.models.base import TableModel, id_col, saved_id, utcnow
from bot.models.conversations import Conversation, InboundReceipt, OutboxMessage
from bot.models.records import Course, Employee, Enrolment, EnrolmentStatus
from bot.models.reminders import Reminder, ReminderRate, ReminderStatus
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
    "Reminder",
    "ReminderRate",
    "ReminderStatus",
    "Staff",
    "TableModel",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "TicketStatus",
    "id_col",
    "saved_id",
    "utcnow",
]  # fmt: skip
