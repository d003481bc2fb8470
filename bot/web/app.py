"""The ASGI application behind `helpdesk serve`: one factory, one list of routes."""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from bot.config import Settings
from bot.web.staff import STAFF_PREFIX, staff_console

logger = logging.getLogger(__name__)


def create_app(*, settings: Settings, db: Engine) -> Starlette:
    """The web application: health check and staff console; add further routes to the list below."""
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Mount(STAFF_PREFIX, app=staff_console(settings=settings, db=db), name="staff"),
    ]
    app = Starlette(routes=routes)
    app.state.settings = settings
    app.state.db = db
    return app


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
