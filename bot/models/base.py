"""What every table module shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from sqlmodel import SQLModel, col

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.orm import Mapped


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the tables use."""
    return datetime.now(UTC)


class TableModel(SQLModel):
    """The base of every table: a SQLModel whose Core table is typed, for statements that bypass the ORM."""

    if TYPE_CHECKING:
        # SQLAlchemy sets it on every mapped class; SQLModel's type hints leave it out.
        __table__: ClassVar[Table]


class _Identified(Protocol):
    id: int | None


def id_col(column: int | None) -> Mapped[int]:
    """A primary key in a statement, `select(id_col(Course.id))`, typed as the rows it reads: never None.

    SQLModel types `id` as `int | None` because a row has no id until it is inserted; every row the
    database returns has one.
    """
    return cast("Mapped[int]", col(column))


def saved_id(row: _Identified) -> int:
    """The primary key of a row the database has seen: None until it is flushed, so None here is a bug."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id
