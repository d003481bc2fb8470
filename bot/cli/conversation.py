"""`chat`, `ask`, `eval`, `seed`: talking to the bot and measuring what it understands."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app
from bot.cli.common import dialogue_engine, startup


@app.command()
def chat(
    phone: Annotated[str | None, typer.Option(help="chat as the employee with this phone (E.164)")] = None,
    lang: Annotated[str | None, typer.Option(help="reply language: en or hi")] = None,
) -> None:
    """Console chat; reads one message per line when stdin is not a terminal."""
    from bot.channels.console import ConsoleChat

    if lang not in (None, "en", "hi"):
        raise typer.BadParameter("use en or hi", param_hint="--lang")
    console = ConsoleChat(dialogue_engine(), phone=phone)
    if lang:
        console.choose_language(lang)
    if sys.stdin.isatty():
        console.run_interactive(input, sys.stdout)
    else:
        console.run_script(sys.stdin, sys.stdout)


@app.command()
def ask(
    texts: Annotated[list[str] | None, typer.Argument(help="texts; '-' or none: read stdin")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per text")] = False,
) -> None:
    """What the bot understands of each text."""
    _, brain = startup(migrate=True, log_level="WARNING", learned=True)
    if not texts or texts == ["-"]:
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for text in texts:
        understanding = brain.matcher.understand(text)
        result = {
            "text": text,
            "lang": understanding.lang or "en",
            "match": understanding.match,
            "score": understanding.score,
            "alternatives": list(understanding.alternatives),
        }
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            alternatives = ", ".join(understanding.alternatives) or "-"
            typer.echo(
                f"{text}\n  lang={result['lang']} match={result['match']} score={result['score']:.2f} "
                f"alternatives={alternatives}"
            )


@app.command("eval")
def evaluate_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="labelled JSONL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Accuracy on a labelled file: overall, per language, out-of-scope abstention, misses."""
    from bot.evaluation import LANGS, evaluate, read_queries

    _, brain = startup(migrate=True, log_level="WARNING", learned=True)
    try:
        queries = read_queries(file)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    report = evaluate(brain.matcher, queries)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    for query, got, score in report.misses:
        typer.echo(f"miss [{query.lang}] {query.text!r}: expected {query.expect}, got {got} ({score:.2f})")
    typer.echo(f"queries: {report.total}")
    typer.echo(f"overall: {report.accuracy:.1%}")
    for lang in LANGS:
        correct, total = report.by_lang[lang]
        if total:
            typer.echo(f"{lang:>8}: {correct / total:.1%} ({correct}/{total})")
    abstained, out_of_scope = report.out_of_scope
    if out_of_scope:
        typer.echo(f"out-of-scope abstained: {abstained / out_of_scope:.1%} ({abstained}/{out_of_scope})")
    wrong, in_scope = report.wrong_answers
    if in_scope:
        typer.echo(f"in-scope answered wrongly: {wrong / in_scope:.1%} ({wrong}/{in_scope})")


@app.command()
def seed(
    employees: Annotated[int, typer.Option(min=10, help="how many employees to generate")] = 3000,
) -> None:
    """Deterministic synthetic sample data (employees, courses, enrolments), once per database."""
    from bot import db
    from bot.seed import seed_database

    startup(migrate=True, log_level="WARNING", brain=False)
    with db.session_scope(db.get_engine()) as session:
        summary = seed_database(session, employees=employees, today=date.today())
    if summary.employees:
        typer.echo(f"seeded {summary.employees} employees, {summary.courses} courses, {summary.enrolments} enrolments")
    else:
        typer.echo("the database already holds employees: nothing seeded")
