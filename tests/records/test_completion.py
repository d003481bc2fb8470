"""Completion figures and the pending list on a constructed report, per grouping and scope (both backends)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from bot.records.completion import CompletionRow, GroupBy, completion, completion_total, pending_employees
from bot.records.importer import import_report
from tests.records.reports import row, write

TODAY = date(2026, 11, 24)


def person(name: str, phone: str, district: str, department: str, designation: str):
    return {"name": name, "phone": phone, "external_id": name.upper(), "district": district,
            "department": department, "designation": designation}  # fmt: skip


ASHA = person("Asha", "9876500001", "Raipur", "Health", "ASHA")
BHIM = person("Bhim", "9876500002", "Raipur", "Police", "Constable")
CHARU = person("Charu", "9876500003", "raipur", "Health", "ASHA")  # another spelling, same district
DEEPA = person("Deepa", "9876500004", "Lucknow", "Health", "ANM")
EKTA = person("Ekta", "9876500005", "", "Education", "Teacher")  # no district in the report
FARID = person("Farid", "9876500006", "Lucknow", "Police", "Constable")  # no mandatory course at all
A = {"course": "Course A", "content_id": "do_a"}
B = {"course": "Course B", "content_id": "do_b"}
C = {"course": "Course C", "content_id": "do_c"}
DONE = {"status": "Completed", "progress": "100"}


@pytest.fixture
def imported(db_engine, tmp_path):
    report = write(tmp_path, [
        row(**ASHA, **A, **DONE, end="01/10/2026"),
        row(**ASHA, **B, status="In Progress", progress="30", end="01/11/2026"),  # overdue
        row(**ASHA, **C, status="Not Started", mandatory="No", end="01/11/2026"),  # overdue, not mandatory
        row(**BHIM, **A, status="Not Started", end="31/12/2026"),
        row(**CHARU, **A, **DONE, end="01/10/2026"),  # past its end, but done: not overdue
        row(**DEEPA, **A, status="In Progress", progress="60", end="23/11/2026"),  # overdue since today
        row(**DEEPA, **B, **DONE),
        row(**EKTA, **B, status="Not Started", end=""),  # no end date: never overdue
        row(**FARID, **C, status="Not Started", mandatory="No"),
    ])  # fmt: skip
    assert import_report(db_engine, report).rejected == 0
    with Session(db_engine) as session:
        yield session


def figures(rows: list[CompletionRow]) -> list[tuple]:
    return [(row.group, row.employees, row.mandatory_total, row.mandatory_completed, row.overdue) for row in rows]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        (GroupBy.DISTRICT, [("Lucknow", 1, 2, 1, 1), ("Raipur", 3, 4, 2, 1), (None, 1, 1, 0, 0)]),
        (GroupBy.DEPARTMENT, [("Education", 1, 1, 0, 0), ("Health", 3, 5, 3, 2), ("Police", 1, 1, 0, 0)]),
        (GroupBy.DESIGNATION, [("ANM", 1, 2, 1, 1), ("ASHA", 2, 3, 2, 1), ("Constable", 1, 1, 0, 0),
                               ("Teacher", 1, 1, 0, 0)]),
        (GroupBy.COURSE, [("Course A", 4, 4, 2, 1), ("Course B", 3, 3, 1, 1)]),
    ],
)  # fmt: skip
def test_completion_by_each_grouping(imported, by, expected):
    assert figures(completion(imported, by=by, today=TODAY)) == expected


def test_the_rate_and_the_whole_scope(imported):
    raipur = completion(imported, by=GroupBy.DISTRICT, today=TODAY)[1]
    assert raipur.completion_rate == 0.5
    assert raipur.as_json() == {"group": "Raipur", "employees": 3, "mandatory_total": 4, "mandatory_completed": 2,
                                "completion_rate": 0.5, "overdue": 1}  # fmt: skip
    assert figures([completion_total(imported, today=TODAY)]) == [(None, 5, 7, 3, 2)]


def test_overdue_counts_from_todays_date(imported):
    tomorrow = date(2026, 11, 25)  # Bhim's course ends on 31 Dec; Deepa's on the 23rd; nothing changes
    assert completion_total(imported, today=tomorrow).overdue == 2
    assert completion_total(imported, today=date(2027, 1, 1)).overdue == 3  # now Bhim's too


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"districts": ["  RAIPUR "]}, [("Raipur", 3, 4, 2, 1)]),
        ({"districts": ["Lucknow", "raipur"], "departments": ["health"]}, [("Lucknow", 1, 2, 1, 1),
                                                                            ("Raipur", 2, 3, 2, 1)]),
        ({"departments": ["Police"]}, [("Raipur", 1, 1, 0, 0)]),
        ({"districts": []}, []),
        ({"districts": ["Bastar"]}, []),
    ],
)  # fmt: skip
def test_a_scope_sees_only_its_districts_and_departments(imported, scope, expected):
    assert figures(completion(imported, by=GroupBy.DISTRICT, today=TODAY, **scope)) == expected


def test_the_pending_list_of_a_group_shows_names_and_masked_phones(imported):
    page = pending_employees(imported, today=TODAY, by=GroupBy.DISTRICT, group="raipur")
    assert (page.total, page.pages) == (2, 1)
    asha, bhim = page.employees
    assert (asha.name, asha.phone, asha.district) == ("Asha", "+91******0001", "Raipur")
    assert [(course.name, course.progress, course.overdue) for course in asha.courses] == [("Course B", 30, True)]
    assert [(course.name, course.overdue) for course in bhim.courses] == [("Course A", False)]


def test_the_pending_list_by_course_pages_and_keeps_to_the_scope(imported):
    first = pending_employees(imported, today=TODAY, by=GroupBy.COURSE, group="course a", page_size=1)
    second = pending_employees(imported, today=TODAY, by=GroupBy.COURSE, group="course a", page=2, page_size=1)
    assert (first.total, first.pages) == (2, 2)
    assert [person.name for person in (*first.employees, *second.employees)] == ["Bhim", "Deepa"]
    assert [course.name for course in second.employees[0].courses] == ["Course A"]  # not her other courses
    lucknow = pending_employees(imported, today=TODAY, districts=["lucknow"])
    assert [person.name for person in lucknow.employees] == ["Deepa"]
    nowhere = pending_employees(imported, today=TODAY, by=GroupBy.DISTRICT, group=None)
    assert [person.name for person in nowhere.employees] == ["Ekta"]
    assert pending_employees(imported, today=TODAY, by=GroupBy.DISTRICT, group="Raipur", departments=[]).total == 0
