"""`helpdesk serve`: the application as each uvicorn worker builds it from the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from bot import db
from bot.brain import load_brain
from bot.config import get_settings
from bot.dialogue import Engine
from bot.logs import configure_logging
from bot.web.app import create_app


def app_from_environment() -> Starlette:
    """Settings, logging, schema (SQLite), content and channels, ready to serve."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.database_url.startswith("sqlite"):
        db.upgrade(settings.database_url)
    engine = Engine(brain=load_brain(settings.content_dir), db=db.get_engine(), settings=settings)
    return create_app(settings=settings, db=engine.db, engine=engine)
