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
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from bot.brain import load_brain
from bot.channels import telegram, whatsapp
from bot.config import Settings
from bot.dialogue import Engine as DialogueEngine
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
        routes += [*whatsapp.routes(), Route("/telegram/webhook", telegram.telegram_webhook, methods=["POST"])]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RejectedWebhooks)],
        lifespan=_channels_lifespan if engine is not None else None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.engine = engine
    app.state.whatsapp_turns = whatsapp.turn_queue(engine) if engine is not None else None
    app.state.telegram = None
    return app


@asynccontextmanager
async def _channels_lifespan(app: Starlette) -> AsyncIterator[None]:
    """Start the configured channels and their outbox loops; on shutdown stop them after requests end."""
    settings: Settings = app.state.settings
    engine: DialogueEngine = app.state.engine
    tasks: list[asyncio.Task[None]] = []
    if settings.telegram_bot_token:
        app.state.telegram = telegram.TelegramChannel(settings, engine)
        await app.state.telegram.start()
        tasks.append(asyncio.create_task(app.state.telegram.run_outbox_loop(), name="telegram-outbox"))
    if whatsapp.is_enabled(settings):
        sender = whatsapp.WhatsAppSender(engine, template_sid=settings.twilio_reply_waiting_templates or None)
        tasks.append(asyncio.create_task(whatsapp.run_outbox_task(sender), name="whatsapp-outbox"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if app.state.telegram is not None:
            await app.state.telegram.stop()


async def healthz(request: Request) -> PlainTextResponse:
    """200 `ok` when the database answers, 503 otherwise (for load balancers and monitoring)."""
    if await run_in_threadpool(database_answers, request.app.state.db):
        return PlainTextResponse("ok")
    return PlainTextResponse("database unavailable", status_code=503)


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
