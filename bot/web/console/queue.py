"""The ticket queue: who wrote, about what, in their words, since when, and how long is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.access.roles import TICKET_ROLES
from bot.brain import Brain
from bot.db import session_scope
from bot.logs import mask_pii
from bot.models import ACTIVE_STATUSES, Conversation, Employee, Staff, TicketStatus, utcnow
from bot.tickets import delivery, service
from bot.tickets.presenting import staff_names, ticket_user
from bot.topics import topic_title
from bot.web.console.auth import console_page
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import render

PAGE_SIZE = 50
EXCERPT_CHARS = 140
STATUS_LABELS = {
    TicketStatus.OPEN.value: "Open",
    TicketStatus.ASSIGNED.value: "Assigned",
    TicketStatus.WAITING_FOR_USER.value: "Waiting for the user",
    TicketStatus.RESOLVED.value: "Resolved",
    TicketStatus.CLOSED.value: "Closed",
}
ACTIVE = tuple(status.value for status in ACTIVE_STATUSES)
LANGUAGES = {"en": "English", "hi": "Hindi"}

nav = (NavEntry("Queue", "tickets", TICKET_ROLES),)


@dataclass(frozen=True)
class QueueFilters:
    """What the queue page shows, from its query string; unknown values fall back to the defaults."""

    statuses: tuple[str, ...] = ACTIVE
    search: str = ""
    category: str = ""
    lang: str = ""
    overdue: bool = False
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryParams) -> QueueFilters:
        chosen: list[str] = []
        for value in query.getlist("status"):
            if value == "active":
                chosen += ACTIVE
            elif value == "all":
                chosen += STATUS_LABELS
            elif value in STATUS_LABELS:
                chosen.append(value)
        lang = query.get("lang", "")
        page = query.get("page", "1")
        return cls(
            statuses=tuple(status for status in STATUS_LABELS if status in chosen) or ACTIVE,
            search=query.get("q", "").strip()[:40],
            category=query.get("category", "").strip()[:64],
            lang=lang if lang in LANGUAGES else "",
            overdue=query.get("overdue") == "1",
            page=max(1, int(page)) if page.isdigit() and len(page) < 6 else 1,
        )

    def ticket_filter(self, now: datetime) -> service.TicketFilter:
        return service.TicketFilter(
            statuses=self.statuses,
            category=self.category,
            lang=self.lang,
            overdue_at=now if self.overdue else None,
            search=self.search,
        )

    def query(self, page: int) -> str:
        """The query string of this view at another page."""
        pairs = [("status", status) for status in self.statuses]
        pairs += [(name, value) for name, value in (("q", self.search), ("category", self.category),
                                                    ("lang", self.lang)) if value]  # fmt: skip
        if self.overdue:
            pairs.append(("overdue", "1"))
        return urlencode([*pairs, ("page", str(page))])


@dataclass(frozen=True)
class QueueLine:
    """One ticket as the queue shows it."""

    ref: str
    status: str
    category: str
    topic: str
    user: str
    district: str | None
    first_message: str
    lang: str
    channel: str
    assignee: str | None
    age: timedelta
    sla_due_at: datetime
    sla_left: timedelta  # negative once overdue
    overdue: bool
    not_delivered: bool  # the latest staff reply failed or has been held for long


def _excerpt(text: str) -> str:
    text = mask_pii(" ".join(text.split()))
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def load_queue(db: Engine, brain: Brain, filters: QueueFilters, lang: str) -> tuple[list[QueueLine], int]:
    """One page of the queue, oldest first, and how many tickets the filters match in all."""
    now = utcnow()
    where = filters.ticket_filter(now)
    with session_scope(db) as session:
        total = service.count_tickets(session, where)
        tickets = service.find_tickets(session, where, limit=PAGE_SIZE, offset=(filters.page - 1) * PAGE_SIZE)
        employee_ids = {ticket.employee_id for ticket in tickets if ticket.employee_id}
        employees = {
            employee.id: employee
            for employee in session.exec(select(Employee).where(col(Employee.id).in_(employee_ids)))
        }
        conversations = {
            conversation.id: conversation
            for conversation in session.exec(
                select(Conversation).where(col(Conversation.id).in_({ticket.conversation_id for ticket in tickets}))
            )
        }
        assignees = staff_names(session, {ticket.assignee_id for ticket in tickets if ticket.assignee_id})
        firsts = service.first_messages(session, tickets)
        stuck = delivery.undelivered(session, (ticket.id for ticket in tickets if ticket.id is not None), now)
        lines = []
        for ticket in tickets:
            user = ticket_user(
                employees.get(ticket.employee_id or 0), conversations.get(ticket.conversation_id), ticket.channel
            )
            first = firsts.get(ticket.id or 0)
            lines.append(
                QueueLine(
                    ref=ticket.ref or "",
                    status=ticket.status,
                    category=ticket.category,
                    topic=topic_title(brain, ticket.category, lang),
                    user=user.name,
                    district=user.district,
                    first_message=_excerpt(first.text) if first else "",
                    lang=ticket.lang,
                    channel=ticket.channel,
                    assignee=assignees.get(ticket.assignee_id or 0),
                    age=now - ticket.created_at,
                    sla_due_at=ticket.sla_due_at,
                    sla_left=ticket.sla_due_at - now,
                    overdue=service.is_overdue(ticket, now),
                    not_delivered=ticket.id in stuck,
                )
            )
    return lines, total


async def show(request: Request, staff: Staff) -> Response:
    """The queue page for these filters."""
    filters = QueueFilters.from_query(request.query_params)
    brain = request.app.state.brain()
    lines, total = await run_in_threadpool(load_queue, request.app.state.db, brain, filters, staff.lang)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "filters": filters,
        "tickets": lines,
        "total": total,
        "pages": pages,
        "previous_query": filters.query(filters.page - 1) if filters.page > 1 else None,
        "next_query": filters.query(filters.page + 1) if filters.page < pages else None,
        "status_labels": STATUS_LABELS,
        "active_statuses": ACTIVE,
        "languages": LANGUAGES,
    }
    request.state.nav = "tickets"
    return render(request, "queue.html", context)


@console_page(*TICKET_ROLES)
async def queue_page(request: Request, staff: Staff) -> Response:
    """The ticket queue with its filters."""
    return await show(request, staff)


routes = [Route("/tickets", queue_page, name="tickets")]
