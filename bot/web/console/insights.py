"""Insights: what the bot did with the questions, per week, topic and language, as server-side bars
and tables, with a CSV of the rows. Aggregates only: no user, no message text."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.access.roles import TICKET_ROLES
from bot.brain import Brain, load_brain
from bot.db import session_scope, write_scope
from bot.learning.grouping import group_pending
from bot.learning.insights import InsightRow, as_csv, by_topic, by_week, insight_rows
from bot.learning.report import gap_clusters
from bot.models import Staff, utcnow
from bot.topics import topic_title
from bot.web.console.auth import console_page
from bot.web.console.charts import Stacked, segments
from bot.web.console.exports import BOM, attachment
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import percent, render

PERIODS = (28, 84, 182)  # 4, 12 and 26 weeks
TOP_GAPS = 5

nav = (NavEntry("Insights", "insights", TICKET_ROLES),)


def _days(request: Request) -> int:
    days = request.query_params.get("days", "")
    return int(days) if days.isdigit() and int(days) in PERIODS else PERIODS[0]


def week_bar(row: InsightRow) -> Stacked:
    parts = (("answered", row.answered), ("abstained", row.abstained), ("escalated", row.escalated))
    described = (
        f"{row.questions} questions: {row.answered} answered, {row.abstained} not answered, {row.escalated} to a person"
    )
    return Stacked(described, segments(parts))


def helpful_bar(row: InsightRow) -> Stacked:
    rate = row.helpful_rate or 0.0
    described = f"{percent(rate)} helpful: {row.helpful_yes} yes, {row.helpful_no} no"
    return Stacked(described, segments((("answered", row.helpful_yes), ("escalated", row.helpful_no))))


def _load(db: Engine, brain: Brain, files: Brain, days: int, lang: str) -> dict[str, Any]:
    since = utcnow() - timedelta(days=days)
    with write_scope(db) as session:
        group_pending(session, files.matcher)  # as the Unanswered questions page groups them
    with session_scope(db) as session:
        rows = insight_rows(session, since=since)
        gaps = gap_clusters(session, since=since, faq_ids=brain.knowledge.faqs, limit=TOP_GAPS, open_only=True)
    weeks = by_week(rows)
    total = InsightRow(week=utcnow().date(), topic="", lang="")
    for week in weeks:
        total.add(week)
    topics = [
        (row, topic_title(brain, row.topic, lang) if row.topic in brain.knowledge.faqs else row.topic, helpful_bar(row))
        for row in by_topic(rows)
    ]
    return {"weeks": [(row, week_bar(row)) for row in weeks], "total": total, "topics": topics, "gaps": gaps}


@console_page(*TICKET_ROLES)
async def insights_page(request: Request, staff: Staff) -> Response:
    """Totals, a bar per week, each topic's questions and helpful-rate, and the top unanswered clusters."""
    days = _days(request)
    brain: Brain = request.app.state.brain()
    files = load_brain(request.app.state.settings.content_dir)
    context = await run_in_threadpool(_load, request.app.state.db, brain, files, days, staff.lang)
    request.state.nav = "insights"
    return render(request, "insights.html", {**context, "days": days, "periods": PERIODS})


def _csv(db: Engine, days: int) -> str:
    with session_scope(db) as session:
        return as_csv(insight_rows(session, since=utcnow() - timedelta(days=days)))


@console_page(*TICKET_ROLES)
async def insights_csv(request: Request, staff: Staff) -> Response:
    days = _days(request)
    text = await run_in_threadpool(_csv, request.app.state.db, days)
    return Response(BOM + text, media_type="text/csv; charset=utf-8", headers=attachment(f"insights-{days}-days.csv"))


routes = [
    Route("/insights", insights_page, name="insights"),
    Route("/insights.csv", insights_csv, name="insights_csv"),
]
