"""Database tables."""

from bot.models.access import LoginThrottle, StaffEvent, StaffSession
from bot.models.base import TableModel, id_col, saved_id, utcnow
from bot.models.conversations import Conversation, InboundReceipt, OutboxMessage
from bot.models.imports import ACTIVE_IMPORT_STATUSES, ImportJob, ImportRejects, ImportStatus
from bot.models.knowledge import (
    ChangeKind,
    ClusterStatus,
    GapCluster,
    GapKind,
    KnowledgeChange,
    MessageOutcome,
    UnansweredQuestion,
)
from bot.models.people import Person
from bot.models.records import Course, Employee, Enrolment, EnrolmentStatus
from bot.models.reminders import Reminder, ReminderStatus, SendRate, StoredCampaign
from bot.models.tickets import (
    ACTIVE_STATUSES,
    AttachmentFile,
    CannedAnswer,
    Role,
    Staff,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStatus,
)

__all__ = [
    "ACTIVE_IMPORT_STATUSES",
    "ACTIVE_STATUSES",
    "AttachmentFile",
    "CannedAnswer",
    "ChangeKind",
    "ClusterStatus",
    "Conversation",
    "Course",
    "Employee",
    "Enrolment",
    "EnrolmentStatus",
    "GapCluster",
    "GapKind",
    "ImportJob",
    "ImportRejects",
    "ImportStatus",
    "InboundReceipt",
    "KnowledgeChange",
    "LoginThrottle",
    "MessageOutcome",
    "OutboxMessage",
    "Person",
    "Reminder",
    "ReminderStatus",
    "Role",
    "SendRate",
    "Staff",
    "StaffEvent",
    "StaffSession",
    "StoredCampaign",
    "TableModel",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "TicketStatus",
    "UnansweredQuestion",
    "id_col",
    "saved_id",
    "utcnow",
]  # fmt: skip
