"""What every `helpdesk` command shares: start-up (settings, logging, schema, content) and the sub-apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import typer

from bot.config import Settings, SettingsError, get_settings
from bot.i18n import CatalogError
from bot.knowledge import ContentError

if TYPE_CHECKING:
    from bot.brain import Brain
    from bot.dialogue import Engine


@overload
def startup(
    *, migrate: bool = ..., log_level: str | None = ..., brain: Literal[True] = ...
) -> tuple[Settings, Brain]: ...
@overload
def startup(*, migrate: bool = ..., log_level: str | None = ..., brain: Literal[False]) -> tuple[Settings, None]: ...
def startup(
    *, migrate: bool = False, log_level: str | None = None, brain: bool = True
) -> tuple[Settings, Brain | None]:
    """Settings, logging, the schema (SQLite only: PostgreSQL is migrated by the operator) and the brain.

    A mistake in the settings or the content ends the command with one line naming it, and exit code 2.
    """
    from bot import db
    from bot.brain import load_brain
    from bot.logs import configure_logging

    try:
        settings = get_settings()
    except SettingsError as error:
        for line in str(error).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from error
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


def dialogue_engine() -> Engine:
    from bot import db
    from bot.dialogue import Engine

    settings, brain = startup(migrate=True, log_level="WARNING")
    return Engine(brain=brain, db=db.get_engine(), settings=settings)
