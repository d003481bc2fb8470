"""Which course a report row means: by `Content_Id`, else by name, and a name joined to its id later.

A report row without `Content_Id` means the course of that name (names compared without regard to
case or spacing), whether that course came with an id or not. A row with an id that is not yet known
takes over the course known so far only by its name, so one course never becomes two. Courses are
few (hundreds), so the whole catalogue is held in memory for the import.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection

from bot.models import Course

COURSES: Table = Course.__table__


class CourseAmbiguous(ValueError):
    """A name without an id that several courses carry."""


@dataclass
class _Entry:
    content_id: str | None
    name: str


@dataclass(frozen=True)
class CourseChange:
    """A course to add (with its name) or one that gets its content id (name None), by its index."""

    token: int
    content_id: str | None
    name: str | None


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())


class CourseCatalogue:
    """The courses of the database and those this import adds; a row's course is an index into it.

    Resolving only records the changes; `save_courses` writes them in the transaction of the block
    that made them, so a block that is never written leaves no course behind.
    """

    def __init__(self, entries: list[_Entry]):
        self._entries = entries
        self._by_id: dict[str, int] = {}
        self._by_name: dict[str, list[int]] = {}
        for token, entry in enumerate(entries):
            self._index(token, entry)
        self._changes: list[CourseChange] = []

    @classmethod
    def load(cls, connection: Connection) -> tuple[CourseCatalogue, dict[int, int]]:
        """The catalogue, and the database id of each of its courses by index."""
        query = select(COURSES.c.id, COURSES.c.content_id, COURSES.c.name).order_by(COURSES.c.id)
        rows = connection.execute(query).all()
        return cls([_Entry(content_id, name) for _, content_id, name in rows]), {
            token: id for token, (id, _, _) in enumerate(rows)
        }

    def resolve(self, content_id: str | None, name: str) -> int:
        """The course a row means (adding or joining one as needed); CourseAmbiguous if the name is not enough."""
        named = self._by_name.get(name_key(name), [])
        if content_id:
            token = self._by_id.get(content_id)
            if token is not None:
                return token
            nameless = [token for token in named if self._entries[token].content_id is None]
            if nameless:
                self._entries[nameless[0]].content_id = content_id
                self._by_id[content_id] = nameless[0]
                self._changes.append(CourseChange(nameless[0], content_id, None))
                return nameless[0]
            return self._add(_Entry(content_id, name))
        if len(named) == 1:
            return named[0]
        if not named:
            return self._add(_Entry(None, name))
        # Only an older database can hold a name both with and without an id: rows without an id went
        # to the one without, and still do.
        nameless = [token for token in named if self._entries[token].content_id is None]
        if len(nameless) == 1:
            return nameless[0]
        ids = ", ".join(sorted(str(self._entries[token].content_id) for token in named))
        raise CourseAmbiguous(
            f"Content_Name '{name}' is the name of {len(named)} courses (Content_Id {ids}); add Content_Id to say which"
        )

    def take_changes(self) -> list[CourseChange]:
        """The changes resolved since the last call, to be saved with the block that made them."""
        changes, self._changes = self._changes, []
        return changes

    def _add(self, entry: _Entry) -> int:
        self._entries.append(entry)
        token = len(self._entries) - 1
        self._index(token, entry)
        self._changes.append(CourseChange(token, entry.content_id, entry.name))
        return token

    def _index(self, token: int, entry: _Entry) -> None:
        if entry.content_id:
            self._by_id[entry.content_id] = token
        self._by_name.setdefault(name_key(entry.name), []).append(token)


def save_courses(connection: Connection, changes: list[CourseChange], ids: dict[int, int]) -> int:
    """Write a block's course changes, noting the database id of each new course in `ids`; how many were added."""
    added = 0
    for change in changes:
        if change.name is not None:
            ids[change.token] = connection.execute(
                insert(COURSES).values(content_id=change.content_id, name=change.name).returning(COURSES.c.id)
            ).scalar_one()
            added += 1
        else:
            statement = update(COURSES).where(COURSES.c.id == ids[change.token]).values(content_id=change.content_id)
            connection.execute(statement)
    return added
