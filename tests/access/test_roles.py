"""Roles and scopes: who works tickets, and which employees a nodal officer's reports may show."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bot.access.roles import Scope, scope_of, works_tickets
from bot.models import Employee, Staff

PEOPLE = [
    ("Sunita", "Raipur", "Health"),
    ("Laxmi", "Bilaspur", "Health"),
    ("Ramesh", "Lucknow", "Police"),
    ("Manoj", "raipur", "Revenue"),
    ("Bikash", None, None),
]


@pytest.mark.parametrize(
    "account, visible",
    [
        (Staff(name="boss", role="admin"), {"Sunita", "Laxmi", "Ramesh", "Manoj", "Bikash"}),
        (Staff(name="cg", role="nodal", districts=["Raipur"]), {"Sunita", "Manoj"}),
        (Staff(name="health", role="nodal", departments=["HEALTH"]), {"Sunita", "Laxmi"}),
        (Staff(name="both", role="nodal", districts=["Raipur", "Lucknow"], departments=["Health"]), {"Sunita"}),
        (Staff(name="desk1", role="staff"), set()),
        (Staff(name="gone", role="admin", active=False), set()),
    ],
    ids=["admin", "district", "department", "district and department", "helpdesk staff", "disabled"],
)
def test_a_scope_shows_exactly_its_employees_in_python_and_in_sql(db_engine, account, visible):
    scope = scope_of(account)
    assert {
        name for name, district, department in PEOPLE if scope.covers(district=district, department=department)
    } == visible
    with Session(db_engine) as session:
        session.add_all(
            Employee(name=name, district=district, department=department) for name, district, department in PEOPLE
        )
        session.flush()
        query = select(Employee.name).where(scope.condition(col(Employee.district), col(Employee.department)))
        assert set(session.exec(query)) == visible


def test_who_works_tickets():
    assert works_tickets(Staff(name="desk1", role="staff")) and works_tickets(Staff(name="boss", role="admin"))
    assert not works_tickets(Staff(name="cg", role="nodal", districts=["Raipur"]))
    assert not works_tickets(Staff(name="desk2", role="staff", active=False))


def test_a_scope_describes_itself():
    assert Scope(everything=True).describe() == "all districts and departments"
    assert scope_of(Staff(name="cg", role="nodal", districts=["Raipur"], departments=["Health"])).describe() == (
        "district raipur, department health"
    )
    assert Scope().describe() == "nothing" and Scope().nothing
