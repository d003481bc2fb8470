"""`gaps`, `faq add`, `faq export`: what the bot could not answer, and teaching it without a restart."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from bot.cli.app import app
from bot.cli.common import startup


@app.command()
def gaps(
    days: Annotated[int, typer.Option(min=1, help="questions of the last N days")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list of clusters")] = False,
) -> None:
    """Questions the bot could not answer, grouped into clusters, biggest first."""
    from bot import db
    from bot.learning.grouping import group_pending
    from bot.learning.report import gap_clusters
    from bot.models import utcnow

    _, brain = startup(migrate=True, log_level="WARNING")
    engine = db.get_engine()
    with db.write_scope(engine) as session:
        group_pending(session, brain.matcher)
    with db.session_scope(engine) as session:
        found = gap_clusters(session, since=utcnow() - timedelta(days=days), faq_ids=brain.knowledge.faqs)
    if as_json:
        typer.echo(json.dumps([gap.as_json() for gap in found], ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo(f"no unanswered questions in the last {days} days")
    for gap in found:
        langs = ", ".join(f"{lang} {count}" for lang, count in gap.langs.items())
        state = f"answered by {gap.topic_id}" if gap.topic_id else ("off-topic" if gap.answered else "open")
        typer.echo(f"#{gap.id}  {gap.count} questions ({langs}), last {gap.last_seen:%Y-%m-%d %H:%M}, {state}")
        for example in gap.examples:
            typer.echo(f"    {example}")
        if gap.suggested:
            typer.echo(f"    closest topics: {', '.join(gap.suggested)}")
