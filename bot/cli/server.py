"""`serve` and `telegram`: running the bot on its channels."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.app import app
from bot.cli.common import startup


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
) -> None:
    """The web server: channel webhooks, staff console, health and metrics."""
    import os
    import secrets
    import tempfile

    settings, _ = startup(migrate=True)  # fails here, once, on broken content or catalogs
    if workers > 1:
        # Every worker must sign staff sessions with one key, and count metrics in one place.
        if not settings.staff_session_secret:
            os.environ["STAFF_SESSION_SECRET"] = secrets.token_urlsafe(32)
            typer.echo("warning: STAFF_SESSION_SECRET not set; staff logins end when the server restarts", err=True)
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="helpdesk-metrics-"))
    status = run_server(host=host, port=port, workers=workers)
    if status:
        typer.echo("error: a worker could not start (see the log above)", err=True)
        raise typer.Exit(status)


def run_server(*, host: str, port: int, workers: int) -> int:
    """uvicorn with the app factory; the exit status: non-zero when a worker could not start.

    With several workers uvicorn's own `run` returns normally even when its supervisor stopped
    because a worker failed to start; the supervisor's processes tell. Logging is left to the
    application's handlers (`log_config=None`), so uvicorn's tracebacks are masked like every line.
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "bot.web.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        timeout_graceful_shutdown=30,  # in-flight requests finish on SIGTERM
        log_config=None,
        log_level="warning",
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else STARTUP_FAILURE
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


telegram_app = typer.Typer(help="Telegram set-up and polling.", invoke_without_command=True)
app.add_typer(telegram_app, name="telegram")


@telegram_app.callback()
def telegram_main(
    ctx: typer.Context,
    polling: Annotated[bool, typer.Option("--polling", help="fetch updates instead of a webhook")] = False,
) -> None:
    """`helpdesk telegram --polling` runs the bot without a public URL."""
    if ctx.invoked_subcommand is not None:
        return
    if not polling:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    import asyncio

    from telegram.error import InvalidToken

    from bot import db
    from bot.channels.telegram import run_polling
    from bot.delivery.outbox import outbox_for
    from bot.dialogue import Engine
    from bot.learning.live import KnowledgeWatcher

    settings, brain = startup(migrate=True)
    if not settings.telegram_bot_token:
        typer.echo("error: set TELEGRAM_BOT_TOKEN first", err=True)
        raise typer.Exit(2)
    engine = Engine(brain=brain, db=db.get_engine(), settings=settings)
    outbox = outbox_for(settings, engine.db, brain.texts)
    watcher = KnowledgeWatcher(engine, brain, interval=settings.knowledge_poll_seconds)

    async def polling_with_live_knowledge() -> None:
        knowledge = asyncio.create_task(watcher.run(), name="knowledge")  # as each `serve` worker does
        try:
            await run_polling(settings, engine, outbox)
        finally:
            knowledge.cancel()

    try:
        asyncio.run(polling_with_live_knowledge())
    except InvalidToken as error:
        typer.echo("error: Telegram rejected TELEGRAM_BOT_TOKEN", err=True)
        raise typer.Exit(2) from error
    except KeyboardInterrupt:
        typer.echo("stopped")


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Register PUBLIC_BASE_URL/telegram/webhook with Telegram, with TELEGRAM_WEBHOOK_SECRET."""
    import asyncio

    from bot.channels.telegram import set_webhook
    from bot.providers.telegram import TelegramSetupError

    settings, _ = startup(brain=False)
    try:
        typer.echo(f"webhook set: {asyncio.run(set_webhook(settings))}")
    except TelegramSetupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
