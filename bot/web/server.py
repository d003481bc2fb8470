"""`helpdesk serve`: the application as each uvicorn worker builds it from the environment."""

from __future__ import annotations

import logging
import sys

from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE

from bot import db
from bot.brain import load_brain
from bot.config import get_settings
from bot.dialogue import Engine
from bot.logs import configure_logging
from bot.web.app import create_app

logger = logging.getLogger(__name__)


def app_from_environment() -> Starlette:
    """Settings, logging, schema, content and channels, ready to serve. A worker that cannot start
    (database unreachable, schema behind the code, content broken) exits with uvicorn's start-up
    failure status, which stops the whole server with a non-zero status instead of a restart loop."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        if settings.database_url.startswith("sqlite"):
            db.upgrade(settings.database_url)
        else:
            db.check_schema(settings.database_url)
        engine = Engine(brain=load_brain(settings.content_dir), db=db.get_engine(), settings=settings)
        app = create_app(settings=settings, db=engine.db, engine=engine)
        app.state.knowledge.refresh()  # the first answers already know what staff added
    except Exception as error:
        logger.critical("this worker cannot start: %s", error, exc_info=True)
        sys.exit(STARTUP_FAILURE)
    return app
