"""Unanswered questions and teaching the bot from the console: clusters, a new entry or more examples
(previewed on the labelled queries first), off-topic marks, "save as FAQ" from a resolved ticket, and
revert. Helpdesk staff see the clusters; publishing and reverting are for admins (all audited)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as default
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.access.roles import TICKET_ROLES
from bot.brain import Brain, load_brain
from bot.db import session_scope, write_scope
from bot.knowledge import ContentError, check_addition, with_additions
from bot.learning import changes
from bot.learning.grouping import group_pending
from bot.learning.preview import Preview, labelled_queries, preview
from bot.learning.report import Gap, cluster_questions, gap_clusters
from bot.models import ChangeKind, KnowledgeChange, Role, Staff, TicketMessage, TicketStatus, utcnow
from bot.tickets import service as tickets
from bot.understanding.matcher import Matcher
from bot.web.console.auth import console_form, console_page
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import field, flash, path_for, redirect, render

PUBLISH_ROLES = frozenset({Role.ADMIN})
DAYS = (7, 30, 90)
CHANGES_SHOWN = 20
OFF_TOPIC_GROUP = "off_topic.marked"  # where questions marked off-topic go: answered "I only help with iGOT"

nav = (NavEntry("Unanswered questions", "gaps", TICKET_ROLES),)


def _clusters(db: Engine, files: Brain, knowledge_faqs: set[str], days: int) -> dict[str, Any]:
    with write_scope(db) as session:
        group_pending(session, files.matcher)  # the files' matcher: the same grouping as `helpdesk gaps`
    with session_scope(db) as session:
        since = utcnow() - timedelta(days=days)
        changes_made = session.exec(
            select(KnowledgeChange).order_by(col(KnowledgeChange.id).desc()).limit(CHANGES_SHOWN)
        ).all()
        return {
            "gaps": gap_clusters(session, since=since, faq_ids=knowledge_faqs, open_only=True),
            "changes": list(changes_made),
        }


@console_page(*TICKET_ROLES)
async def gaps_page(request: Request, staff: Staff) -> Response:
    """Open clusters of unanswered questions, biggest and most recent first, and the latest changes."""
    days = request.query_params.get("days", "30")
    chosen = int(days) if days.isdigit() and int(days) in DAYS else 30
    brain: Brain = request.app.state.brain()
    files = load_brain(request.app.state.settings.content_dir)
    overview = await run_in_threadpool(_clusters, request.app.state.db, files, set(brain.knowledge.faqs), chosen)
    request.state.nav = "gaps"
    context = {**overview, "days": chosen, "day_choices": DAYS, "may_publish": staff.role in PUBLISH_ROLES}
    return render(request, "gaps.html", context)


@dataclass
class Draft:
    """The entry form's fields, as typed."""

    kind: str = ChangeKind.FAQ
    topic_id: str = ""
    title_en: str = ""
    title_hi: str = ""
    answer_en: str = ""
    answer_hi: str = ""
    examples: str = ""  # one question a line
    cluster: int | None = None
    ticket: str = ""
    gap: Gap | None = None
    topics: list[tuple[str, str]] = default(default_factory=list)  # (id, title) for "add to a topic"

    @classmethod
    def from_form(cls, form: FormData) -> Draft:
        cluster = field_int(form, "cluster")
        kind = field(form, "kind")
        return cls(
            kind=kind if kind in {item.value for item in ChangeKind} else ChangeKind.FAQ,
            topic_id=field(form, "topic_id").strip(),
            title_en=field(form, "title_en"),
            title_hi=field(form, "title_hi"),
            answer_en=field(form, "answer_en"),
            answer_hi=field(form, "answer_hi"),
            examples=field(form, "examples"),
            cluster=cluster,
            ticket=field(form, "ticket"),
        )

    def item(self, brain: Brain) -> dict[str, Any]:
        """The addition as `check_addition` reads it."""
        texts = [line for line in self.examples.splitlines() if line.strip()]
        item: dict[str, Any] = {"id": self.topic_id, "examples": changes.by_writing(brain.matcher, texts)}
        if self.kind == ChangeKind.FAQ:
            if self.answer_en.strip() or self.answer_hi.strip():
                item["answer"] = {"en": self.answer_en, "hi": self.answer_hi}
            if self.title_en.strip() or self.title_hi.strip():
                item["title"] = {"en": self.title_en, "hi": self.title_hi}
        return item


def field_int(form: FormData, name: str) -> int | None:
    value = field(form, name)
    return int(value) if value.isdigit() else None


def _prefilled(db: Engine, brain: Brain, cluster: int | None, ticket: str) -> Draft | None:
    """The form for a cluster (its questions as examples) or a resolved ticket (the user's question, the
    staff reply as the answer in the ticket's language); None when neither exists."""
    draft = Draft(cluster=cluster, ticket=ticket)
    with session_scope(db) as session:
        if cluster is not None:
            questions = cluster_questions(session, cluster)
            if not questions:
                return None
            draft.examples = "\n".join(questions)
            since = utcnow() - timedelta(days=3650)
            found = gap_clusters(session, since=since, faq_ids=brain.knowledge.faqs, only=cluster)
            draft.gap = found[0] if found else None
        elif ticket and not _ticket_prefill(session, draft, ticket):
            return None
    return draft


def _ticket_prefill(session: Session, draft: Draft, ref: str) -> bool:
    try:
        ticket = tickets.get_ticket(session, ref=ref)
    except tickets.TicketError:
        return False
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return False
    lines = session.exec(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket.id).order_by(col(TicketMessage.id))
    ).all()
    asked = [line.text for line in lines if line.author == "user" and line.text and not line.choice]
    replies = [line.text for line in lines if line.author == "staff" and line.text]
    draft.examples = asked[0] if asked else ""
    if replies:
        if ticket.lang == "hi":
            draft.answer_hi = replies[-1]
        else:
            draft.answer_en = replies[-1]
    return True


def _topics(brain: Brain) -> list[tuple[str, str]]:
    return sorted((topic_id, entry.title["en"]) for topic_id, entry in brain.knowledge.faqs.items())


async def _form(
    request: Request, draft: Draft, *, error: str | None = None, found: Preview | None = None, status: int = 200
) -> Response:
    brain: Brain = request.app.state.brain()
    draft.topics = _topics(brain)
    request.state.nav = "gaps"
    context = {"draft": draft, "error": error, "preview": found, "kinds": ChangeKind}
    return render(request, "knowledge_form.html", context, status_code=status)


@console_page(*PUBLISH_ROLES)
async def new_entry(request: Request, staff: Staff) -> Response:
    """The form, prefilled from a cluster (`?cluster=ID`) or a resolved ticket (`?ticket=REF`)."""
    params = request.query_params
    cluster = params.get("cluster", "")
    brain: Brain = request.app.state.brain()
    draft = await run_in_threadpool(
        _prefilled, request.app.state.db, brain, int(cluster) if cluster.isdigit() else None, params.get("ticket", "")
    )
    if draft is None:
        return PlainTextResponse("No such cluster, or no resolved ticket with that reference.", status_code=404)
    kind = params.get("kind", "")
    if kind in {item.value for item in ChangeKind}:
        draft.kind = kind
    if draft.kind == ChangeKind.OFF_TOPIC:
        draft.topic_id = OFF_TOPIC_GROUP
    return await _form(request, draft)


def _publish(
    db: Engine, brain: Brain, files: Brain, draft: Draft, actor: str, confirmed: bool, queries: list[Any]
) -> Preview | int:
    """The change's preview if it needs a confirmation, else the saved change's id.

    Checked against the knowledge in the database now: this worker's may be a poll behind (a change
    saved a moment ago, on any worker), and then its matcher is rebuilt for the preview's "before".
    """
    with session_scope(db) as session:
        knowledge = changes.layered(session, files.knowledge)
    if knowledge != brain.knowledge:
        brain = replace(brain, knowledge=knowledge, matcher=Matcher(knowledge, brain.matcher.calibration))
    item = draft.item(brain)
    added = check_addition("console", item, brain.knowledge, kind=draft.kind)
    found = preview(brain.matcher, with_additions(brain.knowledge, [(draft.kind, added)]), queries)
    if found.now_wrong and not confirmed:
        return found
    with write_scope(db) as session:
        change = changes.add_change(
            session,
            kind=ChangeKind(draft.kind),
            item=item,
            knowledge=brain.knowledge,
            actor=actor,
            source="console",
            cluster_id=draft.cluster,
        )
        return change.id or 0


@console_form(*PUBLISH_ROLES)
async def publish(request: Request, staff: Staff, form: FormData) -> Response:
    """Check, preview on the labelled queries, and save; a change that makes known queries wrong is shown
    with them and saved only when confirmed."""
    draft = Draft.from_form(form)
    if draft.kind == ChangeKind.OFF_TOPIC:
        draft.topic_id = OFF_TOPIC_GROUP
    brain: Brain = request.app.state.brain()
    settings = request.app.state.settings
    queries = labelled_queries(settings.content_dir)
    confirmed = field(form, "confirm") == "yes"
    try:
        files = load_brain(settings.content_dir)
        outcome = await run_in_threadpool(
            _publish, request.app.state.db, brain, files, draft, staff.name, confirmed, queries
        )
    except (ContentError, changes.ChangeError) as error:
        return await _form(request, draft, error=str(error), status=422)
    if isinstance(outcome, Preview):
        return await _form(request, draft, found=outcome, status=409)
    flash(
        request,
        f"Saved as change #{outcome} ({draft.topic_id}): every worker answers with it within "
        f"{settings.knowledge_poll_seconds:g} seconds.",
    )
    return redirect(path_for(request, "gaps"))


def _revert(db: Engine, change_id: int, actor: str) -> str:
    with write_scope(db) as session:
        return changes.revert(session, change_id, actor=actor).topic_id


@console_form(*PUBLISH_ROLES)
async def revert(request: Request, staff: Staff, form: FormData) -> Response:
    change_id = request.path_params["change_id"]
    try:
        topic_id = await run_in_threadpool(_revert, request.app.state.db, change_id, staff.name)
    except changes.ChangeError as error:
        flash(request, str(error).capitalize() + ".")
    else:
        flash(request, f"Change #{change_id} ({topic_id}) reverted: workers stop using it within a poll.")
    return redirect(path_for(request, "gaps"))


routes = [
    Route("/gaps", gaps_page, name="gaps"),
    Route("/knowledge/new", new_entry, name="knowledge_new"),
    Route("/knowledge/new", publish, methods=["POST"]),
    Route("/knowledge/{change_id:int}/revert", revert, methods=["POST"], name="knowledge_revert"),
]
