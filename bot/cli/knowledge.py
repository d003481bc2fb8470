"""`gaps`, `faq add`, `faq export`: what the bot could not answer, and teaching it without a restart."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import app
from bot.cli.common import startup

if TYPE_CHECKING:
    from bot.learning.preview import Preview


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


faq_app = typer.Typer(
    help="Knowledge added at run time (answered by every worker without a restart).", no_args_is_help=True
)
app.add_typer(faq_app, name="faq")


@faq_app.command("add")
def faq_add(
    topic_id: Annotated[str, typer.Argument(metavar="ID", help="topic id, e.g. support.dark_mode")],
    en: Annotated[str | None, typer.Option("--en", help="the answer in English")] = None,
    hi: Annotated[str | None, typer.Option("--hi", help="the answer in Hindi (Devanagari)")] = None,
    examples: Annotated[list[str] | None, typer.Option("--example", help="a way users ask (repeat)")] = None,
    from_gap: Annotated[int | None, typer.Option("--from-gap", help="a cluster of helpdesk gaps")] = None,
    title_en: Annotated[str | None, typer.Option(help="menu label in English (default: from the id)")] = None,
    title_hi: Annotated[str | None, typer.Option(help="menu label in Hindi (default: the first Hindi example)")] = None,
    staff: Annotated[str, typer.Option(help="who made the change, for the audit trail")] = "operator",
    yes: Annotated[bool, typer.Option("--yes", help="save even if known queries become wrong")] = False,
) -> None:
    """A new FAQ entry, or new answers and examples for an existing one; --from-gap adds that
    cluster's questions as examples and marks it answered."""
    from bot import db
    from bot.knowledge import ContentError, check_addition, with_additions
    from bot.learning.changes import ChangeError, add_change, by_writing
    from bot.learning.preview import labelled_queries, preview
    from bot.learning.report import cluster_questions
    from bot.models import ChangeKind

    settings, brain = startup(migrate=True, log_level="WARNING", learned=True)
    engine = db.get_engine()
    with db.write_scope(engine) as session:
        texts = list(examples or [])
        if from_gap is not None:
            texts += cluster_questions(session, from_gap)
        forms = by_writing(brain.matcher, texts)
        item: dict[str, object] = {"id": topic_id, "examples": forms}
        if en is not None or hi is not None:
            item["answer"] = {"en": en, "hi": hi}
        if topic_id not in brain.knowledge.faqs and not (title_hi or forms["hi"]):
            typer.echo("error: a new entry needs a Hindi menu label: give --title-hi, or an example in Hindi", err=True)
            raise typer.Exit(2)
        if topic_id not in brain.knowledge.faqs or title_en or title_hi:
            item["title"] = {"en": title_en or default_title(topic_id), "hi": title_hi or (forms["hi"] or [""])[0][:40]}
        try:
            added = check_addition("faq add", item, brain.knowledge, kind=ChangeKind.FAQ)
            proposed = with_additions(brain.knowledge, [(ChangeKind.FAQ, added)])
            show_preview(preview(brain.matcher, proposed, labelled_queries(settings.content_dir)), confirmed=yes)
            change = add_change(
                session,
                kind=ChangeKind.FAQ,
                item=item,
                knowledge=brain.knowledge,
                actor=staff,
                source="faq add",
                cluster_id=from_gap,
            )
        except (ContentError, ChangeError) as error:
            for line in str(error).splitlines():
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(2) from error
    count = sum(len(found) for found in forms.values())
    typer.echo(
        f"saved change #{change.id}: {topic_id} with {count} examples; every running worker answers with it "
        f"within {settings.knowledge_poll_seconds:g} seconds"
    )


SHOWN_CHANGES = 20


def show_preview(found: Preview, *, confirmed: bool) -> None:
    """The change's effect on the labelled queries; stops (exit 2) if known queries become wrong, unless confirmed."""
    typer.echo(f"preview: {found.summary()}")
    for answer in found.changed[:SHOWN_CHANGES]:
        mark = "WRONG NOW" if answer.now_wrong else ("right now" if answer.now_right else "changed")
        typer.echo(f"  {mark}: {answer.query.text!r} expected {answer.query.expect}, {answer.before} -> {answer.after}")
    if len(found.changed) > SHOWN_CHANGES:
        typer.echo(f"  ... and {len(found.changed) - SHOWN_CHANGES} more")
    if found.now_wrong and not confirmed:
        typer.echo(
            f"error: {len(found.now_wrong)} known queries would be answered wrongly; nothing saved. "
            "Change the examples, or add --yes to save it anyway",
            err=True,
        )
        raise typer.Exit(2)


def default_title(topic_id: str) -> str:
    """`support.dark_mode` -> `Dark mode`."""
    return topic_id.rpartition(".")[2].replace("_", " ").capitalize()[:40]


@faq_app.command("export")
def faq_export(folder: Annotated[Path, typer.Argument(file_okay=False, help="where to write the files")]) -> None:
    """Write the entries made with `faq add` or in the console as faq/ files."""
    from bot.brain import load_brain
    from bot.learning.export import export

    settings, brain = startup(migrate=True, log_level="WARNING", learned=True)
    written, warnings = export(brain.knowledge, load_brain(settings.content_dir).knowledge, folder)
    for path in written:
        typer.echo(f"wrote {path}")
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not written:
        typer.echo("nothing added in the database yet")


@faq_app.command("revert")
def faq_revert(
    change: Annotated[int, typer.Argument(help="the change's number, as faq add printed it")],
    staff: Annotated[str, typer.Option(help="who reverted it, for the audit trail")] = "operator",
) -> None:
    """Undo a change made with `faq add` or in the console; every worker stops using it within a poll."""
    from bot import db
    from bot.learning.changes import ChangeError, revert

    startup(migrate=True, log_level="WARNING", brain=False)
    try:
        with db.write_scope(db.get_engine()) as session:
            reverted = revert(session, change, actor=staff)
    except ChangeError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"reverted change #{change} ({reverted.topic_id})")


@app.command()
def insights(
    days: Annotated[int, typer.Option(min=1, help="the last N days")] = 28,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: rows, topics and top unanswered clusters")] = False,
) -> None:
    """Questions, answered, abstained, escalated, "did this help" yes/no, by week, topic and language."""
    from bot import db
    from bot.learning.grouping import group_pending
    from bot.learning.insights import by_topic, insight_rows
    from bot.learning.report import gap_clusters
    from bot.models import utcnow

    _, brain = startup(migrate=True, log_level="WARNING")
    engine = db.get_engine()
    since = utcnow() - timedelta(days=days)
    with db.write_scope(engine) as session:
        group_pending(session, brain.matcher)
    with db.session_scope(engine) as session:
        rows = insight_rows(session, since=since)
        gaps = gap_clusters(session, since=since, faq_ids=brain.knowledge.faqs, limit=5, open_only=True)
    topics = by_topic(rows)
    if as_json:
        report = {
            "rows": [row.as_json() for row in rows],
            "topics": [
                {key: value for key, value in row.as_json().items() if key not in ("week", "lang")} for row in topics
            ],
            "top_gaps": [gap.as_json() for gap in gaps],
        }
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"{'week':10}  {'topic':32} {'lang':7} {'asked':>6} {'answd':>6} {'abst':>6} {'escal':>6} {'yes':>5} {'no':>5}"
    )
    for row in rows:
        typer.echo(
            f"{row.week.isoformat():10}  {row.topic[:32]:32} {row.lang:7} {row.questions:7}{row.answered:7}"
            f"{row.abstained:7}{row.escalated:7} {row.helpful_yes:5} {row.helpful_no:5}"
        )
    for row in topics:
        if row.helpful_rate is not None:
            typer.echo(
                f"helpful-rate {row.topic}: {row.helpful_rate:.0%} of {row.helpful_yes + row.helpful_no} ratings"
            )
    for gap in gaps:
        typer.echo(f"unanswered #{gap.id}: {gap.count} × {gap.examples[0]}")
