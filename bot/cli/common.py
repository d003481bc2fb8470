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
    *, migrate: bool = ..., log_level: str | None = ..., brain: Literal[True] = ..., learned: bool = ...
) -> tuple[Settings, Brain]: ...
@overload
def startup(
    *, migrate: bool = ..., log_level: str | None = ..., brain: Literal[False], learned: bool = ...
) -> tuple[Settings, None]: ...
def startup(
    *, migrate: bool = False, log_level: str | None = None, brain: bool = True, learned: bool = False
) -> tuple[Settings, Brain | None]:
    """Settings, logging, the schema (SQLite only: PostgreSQL is migrated by the operator) and the brain;
    `learned`: with the knowledge staff added in the database (`helpdesk faq add`, the console).

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
    if loaded is not None and learned:
        loaded = _with_learned(loaded)
    return settings, loaded


def _with_learned(brain: Brain) -> Brain:
    from sqlalchemy.exc import SQLAlchemyError

    from bot import db
    from bot.learning.live import layered_brain

    try:
        return layered_brain(brain, db.get_engine())[0]
    except SQLAlchemyError as error:
        # The exception's class only: its text can carry the database URL.
        typer.echo(
            f"error: cannot read the knowledge added in the database ({type(error).__name__}); "
            "is DATABASE_URL right and the schema up to date (helpdesk db upgrade)?",
            err=True,
        )
        raise typer.Exit(2) from error


def dialogue_engine() -> Engine:
    from bot import db
    from bot.dialogue import Engine

    settings, brain = startup(migrate=True, log_level="WARNING", learned=True)
    return Engine(brain=brain, db=db.get_engine(), settings=settings)
