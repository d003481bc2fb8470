"""`tickets` and `staff`: the helpdesk queue and the staff accounts from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from sqlmodel import Session

from bot.cli.app import staff_app, tickets_app
from bot.cli.common import startup
from bot.models import Staff, TicketStatus

STATUS_NAMES = ", ".join(status.value for status in TicketStatus)


@contextmanager
def _staff_action() -> Iterator[tuple[Session, ZoneInfo]]:
    """A database session and the local time zone; mistakes become one clear line and exit code 2."""
    from bot import db
    from bot.tickets.service import TicketError
    from bot.tickets.staff import StaffError

    settings, _ = startup(migrate=True, log_level="WARNING", brain=False)
    try:
        with db.session_scope(db.get_engine()) as session:
            yield session, ZoneInfo(settings.timezone)
    except (TicketError, StaffError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _acting_staff(session: Session, name: str) -> Staff:
    """The active account that may work tickets (a nodal officer's may not)."""
    from bot.access.roles import works_tickets
    from bot.tickets.service import TicketError
    from bot.tickets.staff import staff_by_name

    staff = staff_by_name(session, name=name)
    if staff is None:
        raise TicketError(f"no active staff member '{name}' (create one with `helpdesk staff add {name}`)")
    if not works_tickets(staff):
        raise TicketError(f"'{name}' is a {staff.role} account, which does not work tickets")
    return staff


def _statuses(given: list[str] | None) -> list[str]:
    known = {status.value for status in TicketStatus}
    unknown = [status for status in given or [] if status not in known]
    if unknown:
        typer.echo(f"error: no status '{unknown[0]}': use {STATUS_NAMES}", err=True)
        raise typer.Exit(2)
    return list(dict.fromkeys(given or []))


@tickets_app.command("list")
def tickets_list(
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"only this status; repeat for several ({STATUS_NAMES})"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The ticket queue, oldest first, in local time; overdue tickets are marked."""
    from bot.tickets.presenting import local_stamp, ticket_summary
    from bot.tickets.service import list_tickets

    statuses = _statuses(status)
    with _staff_action() as (session, zone):
        tickets = list_tickets(session, statuses=statuses)
        rows = [ticket_summary(session, ticket, zone) for ticket in tickets]
        due = {ticket.ref: local_stamp(ticket.sla_due_at, zone) for ticket in tickets}
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no tickets")
    for row in rows:
        flag = "  OVERDUE" if row["overdue"] else ""
        typer.echo(
            f"{row['ref']}  {row['status']:<16} {row['category']:<32} {row['lang']:<3} {row['channel']:<9} "
            f"{row['assignee'] or '-':<10} due {due[row['ref']]}{flag}"
        )


def _transcript_line(item: dict[str, Any], stamp: str) -> str:
    """One transcript line for people: who, when, and notes unmistakably internal."""
    who = {
        "user": "user (tapped)" if item.get("tap") else "user",
        "bot": "bot",
        "reply": f"reply by {item.get('staff')}",
        "note": f"NOTE by {item.get('staff')} (internal: the user never sees it)",
        "event": "event",
    }[item["kind"]]
    attachment = item.get("attachment")
    extra = f" [{attachment['kind']}: {attachment['ref']}]" if attachment else ""
    if "delivery" in item:
        extra += f" [{item['delivery']}" + (f": {item['error']}" if "error" in item else "") + "]"
    return f"  {stamp}  {who}: {item['text']}{extra}"


@tickets_app.command("show")
def tickets_show(ref: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One ticket with its transcript and audit trail, in local time."""
    from datetime import datetime

    from bot.tickets.presenting import local_stamp, ticket_detail
    from bot.tickets.service import get_ticket

    with _staff_action() as (session, zone):
        ticket = get_ticket(session, ref=ref)
        detail = ticket_detail(session, ticket, zone)
    if as_json:
        typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))
        return

    def stamp(iso: str) -> str:
        return local_stamp(datetime.fromisoformat(iso), zone)

    typer.echo(
        f"{detail['ref']}  {detail['status']}  {detail['category']}  lang={detail['lang']}  "
        f"channel={detail['channel']}  user={detail['user']}  assignee={detail['assignee'] or '-'}"
    )
    typer.echo(
        f"opened {stamp(detail['created_at'])} ({detail['reason']}), due {stamp(detail['sla_due'])}"
        + ("  OVERDUE" if detail["overdue"] else "")
    )
    earlier = [item for item in detail["transcript"] if item["before_ticket"]]
    if earlier:
        typer.echo("before the ticket opened:")
        for item in earlier:
            typer.echo(_transcript_line(item, stamp(item["at"])))
    typer.echo("since the ticket opened:")
    for item in detail["transcript"]:
        if not item["before_ticket"] and item["kind"] != "event":
            typer.echo(_transcript_line(item, stamp(item["at"])))
    typer.echo("audit:")
    for event in detail["audit"]:
        typer.echo(f"  {stamp(event['at'])}  {event['actor']}: {event['action']} {event['detail']}".rstrip())


@tickets_app.command("claim")
def tickets_claim(ref: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Take a ticket; fails if somebody else already has it."""
    from bot.tickets.service import claim

    with _staff_action() as (session, _):
        ticket = claim(session, ref=ref, staff=_acting_staff(session, staff))
        typer.echo(f"{ticket.ref} claimed by {staff}")


@tickets_app.command("reply")
def tickets_reply(ref: str, text: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """Answer the user; delivered on their channel in their language."""
    from bot.tickets.service import reply

    with _staff_action() as (session, _):
        ticket = reply(session, ref=ref, staff=_acting_staff(session, staff), text=text)
        typer.echo(f"reply to {ticket.ref} queued for the user ({ticket.channel})")


@tickets_app.command("note")
def tickets_note(ref: str, text: str, staff: Annotated[str, typer.Option(help="staff name")]) -> None:
    """An internal note for other staff; the user never sees it."""
    from bot.tickets.service import add_note

    with _staff_action() as (session, _):
        ticket = add_note(session, ref=ref, staff=_acting_staff(session, staff), text=text)
        typer.echo(f"internal note added to {ticket.ref} (not shown to the user)")


@tickets_app.command("resolve")
def tickets_resolve(
    ref: str,
    staff: Annotated[str, typer.Option(help="staff name")],
    reason: Annotated[
        str | None,
        typer.Option(help="resolve without an answer that reached the user: duplicate, user_unreachable, "
                     "solved_elsewhere (no rating is asked)"),
    ] = None,
) -> None:  # fmt: skip
    """Mark solved: after a reply reached the user (who is asked for a rating), or with a reason."""
    from bot.tickets.service import resolve

    with _staff_action() as (session, _):
        ticket = resolve(session, ref=ref, staff=_acting_staff(session, staff), reason=reason)
        if reason:
            typer.echo(f"{ticket.ref} resolved ({reason.replace('_', ' ')}); no rating is asked")
        else:
            typer.echo(f"{ticket.ref} resolved; the user will be asked for a rating")


@staff_app.command("add")
def staff_add(
    name: str,
    role: Annotated[str, typer.Option(help="staff (helpdesk), nodal (nodal officer) or admin")] = "staff",
    district: Annotated[list[str] | None, typer.Option(help="a nodal officer's district; repeat for several")] = None,
    department: Annotated[
        list[str] | None, typer.Option(help="a nodal officer's department; repeat for several")
    ] = None,
    telegram_id: Annotated[
        int | None, typer.Option("--telegram-id", help="their Telegram user id, for the staff group")
    ] = None,
) -> None:
    """Create an account; asks for the web console password on a terminal (stdin otherwise)."""
    from bot.tickets.staff import add_staff

    password = _read_password()
    with _staff_action() as (session, _):
        add_staff(
            session,
            name=name,
            password=password,
            telegram_user_id=telegram_id,
            role=role,
            districts=district or [],
            departments=department or [],
        )
    typer.echo(f"{role} '{name}' added" + ("" if password else " (no password: Telegram staff group only)"))


@staff_app.command("list")
def staff_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every account: role, scope, whether it is active, and its last console login (local time)."""
    from bot.access.sessions import last_logins
    from bot.tickets.presenting import local_iso, local_stamp
    from bot.tickets.staff import list_staff

    with _staff_action() as (session, zone):
        accounts = list_staff(session)
        logins = last_logins(session, [staff.id for staff in accounts if staff.id is not None])
        rows: list[dict[str, Any]] = []
        lines: list[str] = []
        for staff in accounts:
            last = logins.get(staff.id) if staff.id is not None else None
            rows.append(
                {
                    "name": staff.name,
                    "role": staff.role,
                    "active": staff.active,
                    "districts": staff.districts,
                    "departments": staff.departments,
                    "telegram_id": staff.telegram_user_id,
                    "created_at": local_iso(staff.created_at, zone),
                    "last_login": local_iso(last, zone) if last else None,
                }
            )
            scope = ", ".join([*staff.districts, *staff.departments])
            state = "active" if staff.active else "DISABLED"
            lines.append(
                f"{staff.name:<20} {staff.role:<6} {state:<8} last login {local_stamp(last, zone) or 'never'}"
                + (f"  scope: {scope}" if scope else "")
            )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo("\n".join(lines) if lines else "no staff accounts (add one with `helpdesk staff add NAME`)")


@staff_app.command("disable")
def staff_disable(name: str) -> None:
    """Disable an account: no login anywhere (console, Telegram staff group), its console sessions end now."""
    from bot.tickets.staff import set_active

    with _staff_action() as (session, _):
        _, ended = set_active(session, name=name, active=False)
    typer.echo(f"'{name}' disabled; {ended} console session{'' if ended == 1 else 's'} ended")


@staff_app.command("enable")
def staff_enable(name: str) -> None:
    """Enable a disabled account again."""
    from bot.tickets.staff import set_active

    with _staff_action() as (session, _):
        set_active(session, name=name, active=True)
    typer.echo(f"'{name}' enabled")


@staff_app.command("passwd")
def staff_passwd(name: str) -> None:
    """Set a new console password (asked on a terminal, stdin otherwise); the account's sessions end."""
    from bot.tickets.staff import set_password

    password = _read_password(required=True)
    with _staff_action() as (session, _):
        ended = set_password(session, name=name, password=password or "")
    typer.echo(f"password of '{name}' changed; {ended} console session{'' if ended == 1 else 's'} ended")


def _read_password(*, required: bool = False) -> str | None:
    if sys.stdin.isatty():
        password = typer.prompt(
            "password for the web console" + ("" if required else " (empty: none)"),
            hide_input=True,
            confirmation_prompt=True,
            default="" if not required else None,
            show_default=False,
        )
    else:
        password = sys.stdin.readline().rstrip("\n")
    return password or None
