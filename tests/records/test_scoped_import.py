"""An import limited to a nodal officer's scope: only their districts/departments are written, on both backends.

Rows naming another district (or none), and rows of an employee recorded elsewhere, are rejected with
a reason that names only what the row itself says; nothing of anyone outside the scope changes.
"""

from __future__ import annotations

import pytest

from bot.access.roles import Scope
from bot.records.importer import ReportError, import_report
from bot.records.upsert import OUTSIDE_SCOPE
from tests.records.reports import HEADER, counts, enrolments, rejects, row, write

RAIPUR = Scope(districts=frozenset({"raipur"}))
RAIPUR_HEALTH = Scope(districts=frozenset({"raipur"}), departments=frozenset({"health"}))


def people(tmp_path, name="state.csv"):
    """A state-wide report: two in Raipur (one in Police), one in Lucknow."""
    return write(tmp_path, [
        row("Asha", "9876500001", external_id="A1", district="Raipur"),
        row("Bhim", "9876500002", external_id="B1", district="Lucknow", status="Completed", progress="100"),
        row("Charu", "9876500003", external_id="C1", district=" raipur ", department="Police"),
    ], name=name)  # fmt: skip


def test_rows_of_other_districts_are_rejected_naming_only_the_row(db_engine, tmp_path):
    path = people(tmp_path)
    summary = import_report(db_engine, path, scope=RAIPUR)
    assert (summary.rows_read, summary.inserted, summary.rejected, summary.outside_scope) == (3, 2, 1, 1)
    assert rejects(path) == [(3, "District 'Lucknow': this account imports only rows within district raipur")]
    assert [name for name, *_ in enrolments(db_engine)] == ["Asha", "Charu"]


def test_district_and_department_both_must_match(db_engine, tmp_path):
    path = people(tmp_path)
    summary = import_report(db_engine, path, scope=RAIPUR_HEALTH)
    assert (summary.inserted, summary.outside_scope) == (1, 2)
    assert rejects(path) == [
        (3, "District 'Lucknow': this account imports only rows within district raipur, department health"),
        (4, "Department 'Police': this account imports only rows within district raipur, department health"),
    ]


def test_a_row_without_a_district_is_outside_a_district_scope(db_engine, tmp_path):
    path = write(tmp_path, [row(district="")])
    summary = import_report(db_engine, path, scope=RAIPUR)
    assert (summary.inserted, summary.rejected) == (0, 1)
    assert rejects(path) == [(2, "District is empty: this account imports only rows within district raipur")]
    assert counts(db_engine) == (0, 0, 0)


def test_an_employee_recorded_elsewhere_cannot_be_moved_or_changed(db_engine, tmp_path):
    import_report(db_engine, people(tmp_path))  # as an administrator: everyone
    # Bhim of Lucknow, by his id, and by his phone alone, claimed for Raipur with other progress.
    path = write(tmp_path, [
        row("Bhim", "9876500002", external_id="B1", district="Raipur", status="In Progress", progress="10"),
        row("Bhim", "9876500002", external_id="", district="Raipur", course="Course B", content_id="do_b"),
        row("Asha", "9876500001", external_id="A1", district="Raipur", status="Completed", progress="100"),
    ], name="raipur.csv")  # fmt: skip
    summary = import_report(db_engine, path, scope=RAIPUR)
    assert (summary.updated, summary.rejected, summary.outside_scope, summary.employees_updated) == (1, 2, 2, 0)
    assert rejects(path) == [(2, OUTSIDE_SCOPE), (3, OUTSIDE_SCOPE)]
    assert "Lucknow" not in OUTSIDE_SCOPE
    assert enrolments(db_engine) == [
        ("Asha", "Basics of Cyber Security", "completed", 100, None),
        ("Bhim", "Basics of Cyber Security", "completed", 100, None),  # as Lucknow's report said
        ("Charu", "Basics of Cyber Security", "in-progress", 40, None),
    ]
    # No second Bhim, no enrolment in Course B (the course itself is in the catalogue, which is everyone's).
    assert counts(db_engine) == (3, 2, 3)


def test_an_unassigned_employee_is_nobody_s_to_claim(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(district="")], name="first.csv"))
    path = write(tmp_path, [row(district="Raipur", status="Completed", progress="100")], name="second.csv")
    summary = import_report(db_engine, path, scope=RAIPUR)
    assert (summary.updated, summary.outside_scope) == (0, 1)
    assert enrolments(db_engine)[0][2:4] == ("in-progress", 40)


def test_within_the_scope_everything_works_as_unscoped(db_engine, tmp_path):
    path = people(tmp_path)
    import_report(db_engine, path, scope=RAIPUR)
    again = import_report(db_engine, path, scope=RAIPUR)  # idempotent, and the same rejects
    assert (again.inserted, again.unchanged, again.outside_scope) == (0, 2, 1)
    newer = write(tmp_path, [row("Asha", "9876500001", external_id="A1", district="RAIPUR", status="Completed",
                                 progress="100")], name="newer.csv")  # fmt: skip
    assert import_report(db_engine, newer, scope=RAIPUR).updated == 1


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (RAIPUR, "no District column; this account imports only rows within district raipur"),
        (Scope(departments=frozenset({"health"})), None),  # Department is there
        (Scope(), "this account may import no rows"),
    ],
)
def test_a_report_without_the_scope_s_columns_is_refused_whole(db_engine, tmp_path, scope, message):
    header = [name for name in HEADER if name != "District"]
    path = write(tmp_path, [row()[:-1]], header=header)
    if message is None:
        assert import_report(db_engine, path, scope=scope).inserted == 1
        return
    with pytest.raises(ReportError, match=message):
        import_report(db_engine, path, scope=scope)
    assert counts(db_engine) == (0, 0, 0)
