"""`tickets` and `staff`: the helpdesk queue from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import staff_app, tickets_app
from bot.cli.common import startup

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.models import Staff


@contextmanager
def _staff_action() -> Iterator[Session]:
    """A database session for a staff command; mistakes become one clear line and exit code 2."""
    from bot import db
    from bot.tickets.service import TicketError
    from bot.tickets.staff import StaffError

    startup(migrate=True, log_level="WARNING", brain=False)
    try:
        with db.session_scope(db.get_engine()) as session:
            yield session
    except (TicketError, StaffError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _acting_staff(session: Session, name: str) -> Staff:
    from bot.tickets.service import TicketError
    from bot.tickets.staff import staff_by_name

    staff = staff_by_name(session, name=name)
    if staff is None:
        raise TicketError(f"no active staff member '{name}' (create one with `helpdesk staff add {name}`)")
    return staff


@tickets_app.command("list")
def tickets_list(
    status: Annotated[str | None, typer.Option(help="open, assigned, waiting_for_user, resolved, closed")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The ticket queue, oldest first; overdue tickets are marked."""
    from bot.tickets.presenting import ticket_summary
    from bot.tickets.service import list_tickets

    with _staff_action() as session:
        rows = [ticket_summary(session, ticket) for ticket in list_tickets(session, status=status)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no tickets")
    for row in rows:
        flag = "  OVERDUE" if row["overdue"] else ""
        typer.echo(
            f"{row['ref']}  {row['status']:<16} {row['category']:<32} {row['lang']:<3} {row['channel']:<9} "
            f"{row['assignee'] or '-':<10} due {row['sla_due']}{flag}"
        )


@tickets_app.command("show")
def tickets_show(ref: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One ticket with its transcript and audit trail."""
    from bot.tickets.presenting import ticket_detail
    from bot.tickets.service import get_ticket

    with _staff_action() as session:
        detail = ticket_detail(session, get_ticket(session, ref=ref))
    if as_json:
        typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))
        return
    typer.echo(
        f"{detail['ref']}  {detail['status']}  {detail['category']}  lang={detail['lang']}  "
        f"channel={detail['channel']}  user={detail['user']}  assignee={detail['assignee'] or '-'}"
    )
    typer.echo(
        f"opened {detail['created_at']} ({detail['reason']}), due {detail['sla_due']}"
        + ("  OVERDUE" if detail["overdue"] else "")
    )
    for line in detail["transcript"]:
        attachment = f" [{line['attachment_kind']}: {line['attachment_ref']}]" if line["attachment_kind"] else ""
        typer.echo(f"  {line['at']}  {line['author']:<6} {line['text']}{attachment}")
    typer.echo("audit:")
    for event in detail["audit"]:
        typer.echo(f"  {event['at']}  {event['actor']}: {event['action']} {event['detail']}".rstrip())


@tickets_app.command("claim")
def tickets_claim(ref: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Take a ticket; fails if somebody else already has it."""
    from bot.tickets.service import claim

    with _staff_action() as session:
        ticket = claim(session, ref=ref, staff=_acting_staff(session, staff))
        typer.echo(f"{ticket.ref} claimed by {staff}")


@tickets_app.command("reply")
def tickets_reply(ref: str, text: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Answer the user; delivered on their channel in their language."""
    from bot.tickets.service import reply

    with _staff_action() as session:
        ticket = reply(session, ref=ref, staff=_acting_staff(session, staff), text=text)
        typer.echo(f"reply to {ticket.ref} queued for the user ({ticket.channel})")


@tickets_app.command("resolve")
def tickets_resolve(ref: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Mark solved; the user is asked for a rating."""
    from bot.tickets.service import resolve

    with _staff_action() as session:
        ticket = resolve(session, ref=ref, staff=_acting_staff(session, staff))
        typer.echo(f"{ticket.ref} resolved; the user will be asked for a rating")


@staff_app.command("add")
def staff_add(
    name: str,
    telegram_id: Annotated[
        int | None, typer.Option("--telegram-id", help="their Telegram user id, for the staff group")
    ] = None,
) -> None:
    """Create a staff account; asks for the web console password on a terminal (stdin otherwise)."""
    from bot.tickets.staff import add_staff

    password = _read_password()
    with _staff_action() as session:
        add_staff(session, name=name, password=password, telegram_user_id=telegram_id)
    typer.echo(f"staff '{name}' added" + ("" if password else " (no password: Telegram staff group only)"))


def _read_password() -> str | None:
    if sys.stdin.isatty():
        password = typer.prompt(
            "password for the web console (empty: none)",
            hide_input=True,
            confirmation_prompt=True,
            default="",
            show_default=False,
        )
    else:
        password = sys.stdin.readline().rstrip("\n")
    return password or None
