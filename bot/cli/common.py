"""What every `helpdesk` command shares: start-up (logging, schema, content) and the sub-apps."""

from __future__ import annotations

import typer

from bot.config import get_settings
from bot.i18n import CatalogError
from bot.knowledge import ContentError


def startup(*, migrate: bool = False, log_level: str | None = None, brain: bool = True):
    """Logging, the schema (SQLite only: PostgreSQL is migrated by the operator) and the brain."""
    from bot import db
    from bot.brain import load_brain
    from bot.logs import configure_logging

    settings = get_settings()
    configure_logging(log_level or settings.log_level, settings.log_format)
    loaded = None
    if brain:
        try:
            loaded = load_brain(settings.content_dir)
        except (ContentError, CatalogError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from error
    if migrate and settings.database_url.startswith("sqlite"):
        db.upgrade(settings.database_url)
    return settings, loaded


def dialogue_engine():
    from bot import db
    from bot.dialogue import Engine

    settings, brain = startup(migrate=True, log_level="WARNING")
    return Engine(brain=brain, db=db.get_engine(), settings=settings)
