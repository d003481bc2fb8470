"""`remind`: course reminder campaigns."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.app import remind_app
from bot.cli.common import startup

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.reminders import Campaign


def _campaigns(settings: Settings) -> list[Campaign]:
    """The campaigns file's, then those made in the staff console."""
    from bot import db
    from bot.reminders import CampaignError
    from bot.reminders.stored import all_campaigns

    try:
        with db.session_scope(db.get_engine()) as session:
            return all_campaigns(session, settings.reminder_campaigns_file)
    except CampaignError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@remind_app.command("campaigns")
def remind_campaigns() -> None:
    """The reminder campaigns in force, the file's and the console's (checks the campaigns file)."""
    settings, _ = startup(migrate=True, brain=False, log_level="WARNING")
    for campaign in _campaigns(settings):
        state = "" if campaign.enabled else " (paused)"
        typer.echo(f"{campaign.id}: {campaign.name}, {campaign.schedule.every}{state}")


@remind_app.command("plan")
def remind_plan(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Plan the due reminders; planning twice plans nothing new."""
    from bot import db
    from bot.reminders import plan

    settings, _ = startup(migrate=True, brain=False)
    summary = plan(db.get_engine(), campaigns=_campaigns(settings), timezone=settings.timezone)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    typer.echo(
        f"planned: {summary.total} new reminders "
        + ", ".join(f"{name} {count} ({summary.periods.get(name, '')})" for name, count in summary.planned.items())
    )
    for name in summary.not_running:
        typer.echo(f"not running now: {name}")


@remind_app.command("preview")
def remind_preview(
    campaign: Annotated[str | None, typer.Argument(help="a campaign id; none: every campaign")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Whom a campaign would reach now, before planning: audience, reachable by channel, unreachable, a sample."""
    from bot import db
    from bot.providers import network_channels
    from bot.reminders.preview import preview

    settings, brain = startup(migrate=True, log_level="WARNING")
    campaigns = _campaigns(settings)
    if campaign is not None:
        campaigns = [found for found in campaigns if found.id == campaign]
        if not campaigns:
            known = ", ".join(found.id for found in _campaigns(settings)) or "none"
            typer.echo(f"error: no campaign {campaign!r}; the campaigns are: {known}", err=True)
            raise typer.Exit(2)
    for chosen in campaigns:
        result = preview(db.get_engine(), chosen, texts=brain.texts, channels=network_channels(settings),
                         timezone=settings.timezone)  # fmt: skip
        if as_json:
            typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
            continue
        state = f"running ({result.period})" if result.period else "not running now"
        typer.echo(f"{chosen.id} ({chosen.name}): {state}")
        typer.echo(f"  audience: {result.audience}")
        reach = ", ".join(f"{channel} {count}" for channel, count in result.reachable.items()) or "nobody"
        typer.echo(f"  reachable: {reach}")
        reasons = ", ".join(f"{why.replace('_', ' ')} {count}" for why, count in result.unreachable_reasons.items())
        typer.echo(f"  unreachable: {result.unreachable} ({reasons})")
        for sample in result.sample:
            typer.echo(f"  sample ({sample['lang']}):")
            typer.echo("\n".join(f"    {line}" for line in sample["text"].splitlines()))


@remind_app.command("send")
def remind_send(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Send the planned reminders that are due, within the send window, to those who did not opt out."""
    result = asyncio.run(_send(as_json))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(", ".join(f"{key}: {value}" for key, value in result.items() if key != "by_channel"))
    if result["by_channel"]:
        typer.echo("by channel: " + ", ".join(f"{name} {count}" for name, count in result["by_channel"].items()))


async def _send(quiet: bool) -> dict[str, Any]:
    """Queue the due reminders into the outbox and send them through every provider reachable now."""
    from bot import db
    from bot.delivery.outbox import outbox_for
    from bot.providers import network_channels, open_providers
    from bot.reminders import DEFAULT_RATE_LIMITS, send_now

    settings, brain = startup(migrate=True)
    async with open_providers(settings) as providers:
        summary = await send_now(
            db.get_engine(),
            outbox=outbox_for(settings, db.get_engine(), brain.texts),
            campaigns=_campaigns(settings),
            providers=providers,
            channels=network_channels(settings),
            texts=brain.texts,
            rate_limits={**DEFAULT_RATE_LIMITS, "whatsapp": settings.reminder_whatsapp_rate},
            timezone=settings.timezone,
            send_window=settings.reminder_send_window,
            default_language=settings.default_language,
            daily_cap=settings.reminder_daily_cap,
            progress=not quiet,
        )
    return summary.as_dict()


@remind_app.command("run")
def remind_run(
    interval: Annotated[float, typer.Option(min=1, help="seconds between ticks")] = 60,
) -> None:
    """The scheduler: plans and sends every campaign on its schedule, quiet hours respected, until stopped
    (SIGTERM or Ctrl-C end it after the tick in hand). Several may run on one database."""
    ticks = asyncio.run(_run(interval))
    typer.echo(f"reminders: stopped after {ticks} ticks")


async def _run(interval: float) -> int:
    import logging
    import signal

    from bot import db
    from bot.providers import network_channels, open_providers
    from bot.reminders import DEFAULT_RATE_LIMITS, CampaignError
    from bot.reminders.scheduler import Scheduler
    from bot.reminders.stored import all_campaigns

    settings, brain = startup(migrate=True)
    last = _campaigns(settings)  # a campaigns file with mistakes stops the start, with every mistake listed

    def campaigns() -> list[Campaign]:
        nonlocal last
        try:
            with db.session_scope(db.get_engine()) as session:
                last = all_campaigns(session, settings.reminder_campaigns_file)
        except CampaignError as error:  # edited while running: keep going with what was good
            logging.getLogger(__name__).error("campaigns not reloaded, the last good ones stay in force: %s", error)
        return last

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    async with open_providers(settings) as providers:
        scheduler = Scheduler(
            db.get_engine(), campaigns=campaigns, texts=brain.texts, providers=providers,
            channels=network_channels(settings), timezone=settings.timezone,
            send_window=settings.reminder_send_window, default_language=settings.default_language,
            daily_cap=settings.reminder_daily_cap,
            rate_limits={**DEFAULT_RATE_LIMITS, "whatsapp": settings.reminder_whatsapp_rate}, interval=interval,
        )  # fmt: skip
        typer.echo(f"reminders: running, a tick every {interval:g} s (stop: SIGTERM or Ctrl-C)")
        return await scheduler.run(stop)


@remind_app.command("report")
def remind_report(
    campaign: Annotated[str | None, typer.Option(help="one campaign id")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Counts: planned, sent, failed, skipped (opted out, quiet hours, no channel), delivered, read; and per
    campaign, of those reminded, how many completed a course within 7/14/30 days, beside those not reminded."""
    from bot import db
    from bot.records.completion import today_in
    from bot.reminders import report
    from bot.reminders.effect import effectiveness

    settings, _ = startup(migrate=True, brain=False, log_level="WARNING")
    counts: dict[str, Any] = dict(report(db.get_engine(), campaign=campaign))
    chosen = [found for found in _campaigns(settings) if campaign is None or found.id == campaign]
    effect = effectiveness(db.get_engine(), chosen, today=today_in(settings.timezone), timezone=settings.timezone)
    if as_json:
        typer.echo(json.dumps({**counts, "effectiveness": effect}))
        return
    for key, value in counts.items():
        typer.echo(f"{key:>24}: {value}")
    for name, groups in effect.items():
        typer.echo(f"{name}: completed a pending course within 7 / 14 / 30 days")
        for group, figures in groups.items():
            cells = " / ".join(
                f"{figure['completed']} of {figure['people']}"
                + (f" ({figure['rate']:.0%})" if figure["rate"] is not None else "")
                for figure in figures.values()
            )
            typer.echo(f"{group.replace('_', ' '):>24}: {cells}")


def _figure(figure: dict[str, Any]) -> str:
    rate = figure["rate"]
    return f"{figure['completed']} of {figure['people']}" + (f" ({rate:.0%})" if rate is not None else "")
