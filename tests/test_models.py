"""What every table shares: typed access to the Core table and to the ids of saved rows."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.models import Course, TableModel, id_col, saved_id


def test_a_rows_id_is_there_once_saved(db_engine):
    course = Course(name="POSH Act", content_id="do_posh")
    with pytest.raises(ValueError, match="Course has no id yet: add and flush it first"):
        saved_id(course)
    with Session(db_engine) as session:
        session.add(course)
        session.flush()
        assert saved_id(course) == course.id
        assert session.exec(select(id_col(Course.id)).where(Course.content_id == "do_posh")).one() == course.id
        session.rollback()


def test_every_table_has_its_core_table():
    assert Course.__table__.name == "course" and issubclass(Course, TableModel)
    assert not hasattr(TableModel, "__table__")  # the base itself is no table
