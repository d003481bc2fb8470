"""The ASGI application behind `helpdesk serve`: one factory, one list of routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from bot.brain import load_brain
from bot.channels import telegram, whatsapp
from bot.config import Settings
from bot.delivery.outbox import Outbox, outbox_for
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.worker import Sender
from bot.dialogue import Engine as DialogueEngine
from bot.learning.live import KnowledgeWatcher
from bot.providers.console import ConsoleMailbox
from bot.providers.health import Health
from bot.providers.twilio import TwilioProvider, is_enabled
from bot.web.console.app import STAFF_PREFIX, staff_console
from bot.web.metrics import RejectedWebhooks, metrics_endpoint

logger = logging.getLogger(__name__)


def create_app(*, settings: Settings, db: Engine, engine: DialogueEngine | None = None) -> Starlette:
    """The web application: health, metrics and the staff console; with an engine, the channels too."""
    # The console names topics with the knowledge the engine answers with (or the content folder's).
    brain = (lambda: engine.brain) if engine is not None else (lambda: load_brain(settings.content_dir))
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Mount(STAFF_PREFIX, app=staff_console(settings=settings, db=db, brain=brain), name="staff"),
    ]
    if engine is not None:
        routes += [*whatsapp.routes(), Route(telegram.WEBHOOK_PATH, telegram.telegram_webhook, methods=["POST"])]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RejectedWebhooks)],
        lifespan=_channels_lifespan if engine is not None else None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.engine = engine
    app.state.outbox = outbox_for(settings, db, engine.brain.texts) if engine is not None else None
    app.state.whatsapp_turns = whatsapp.turn_queue(engine, app.state.outbox) if engine is not None else None
    app.state.telegram = None
    app.state.health = {}
    # Knowledge staff add in the database reaches this worker's engine (see `bot.learning.live`).
    app.state.knowledge = (
        KnowledgeWatcher(engine, engine.brain, interval=settings.knowledge_poll_seconds) if engine is not None else None
    )
    return app


@asynccontextmanager
async def _channels_lifespan(app: Starlette) -> AsyncIterator[None]:
    """Start the configured channels and the outbox's senders in the background: a provider that
    cannot be reached now leaves its channel degraded, never the server down. On shutdown they stop
    after the requests in flight."""
    settings: Settings = app.state.settings
    engine: DialogueEngine = app.state.engine
    outbox: Outbox = app.state.outbox
    health: dict[str, Health] = app.state.health
    tasks = [
        asyncio.create_task(Sender(outbox, ConsoleMailbox()).run(), name="console-outbox"),
        asyncio.create_task(app.state.knowledge.run(), name="knowledge"),
    ]
    if settings.telegram_bot_token:
        app.state.telegram = telegram.TelegramChannel(settings, engine, outbox)
        health["telegram"] = app.state.telegram.health
        tasks.append(asyncio.create_task(app.state.telegram.run(), name="telegram"))
    if is_enabled(settings):
        provider = TwilioProvider(settings, waiting_templates=settings.twilio_reply_waiting_templates)
        health["whatsapp"] = provider.health
        limiter = RateLimiter(engine.db, {provider.channel: settings.reminder_whatsapp_rate})
        tasks.append(asyncio.create_task(Sender(outbox, provider, limiter=limiter).run(), name="whatsapp-outbox"))
    for task in tasks:
        task.add_done_callback(_report_end)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _report_end(task: asyncio.Task[None]) -> None:
    """A background task that ended other than by the shutdown: its channel is down until a restart."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("%s stopped: %s", task.get_name(), task.exception(), exc_info=task.exception())


async def healthz(request: Request) -> JSONResponse:
    """200 while the database answers (503 when not), with each channel `ok` or `degraded`:
    `{"database": "ok", "telegram": "degraded", "whatsapp": "ok"}`. A degraded channel retries by
    itself; the server keeps serving the others."""
    database = await run_in_threadpool(database_answers, request.app.state.db)
    health: dict[str, Health] = request.app.state.health
    body = {"database": "ok" if database else "unavailable", **{name: item.state for name, item in health.items()}}
    return JSONResponse(body, status_code=200 if database else 503)


def database_answers(db: Engine) -> bool:
    """Whether `SELECT 1` works on the database."""
    try:
        with db.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # The exception's class only: its text can carry the database URL.
        logger.warning("health check: database unavailable (%s)", type(error).__name__)
        return False
    return True
