"""Re-imports that never run an enrolment backwards, and employees found again (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.models import Employee, Enrolment
from bot.records.importer import import_report
from tests.records.reports import enrolments, rejects, row, write


def test_an_older_report_leaves_60_percent_at_60(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(progress="60")], name="november.csv"))
    summary = import_report(db_engine, write(tmp_path, [row(progress="20")], name="october.csv"))
    assert (summary.rows_read, summary.updated, summary.unchanged, summary.ignored_older) == (1, 0, 0, 1)
    assert enrolments(db_engine) == [("सुनीता साहू", "Basics of Cyber Security", "in-progress", 60, None)]


@pytest.mark.parametrize(
    ("stored", "older"),
    [
        ({"status": "Completed", "progress": "100"}, {"status": "In Progress", "progress": "100"}),
        ({"status": "In Progress", "progress": "5"}, {"status": "Not Started", "progress": "0"}),
        ({"status": "Completed", "certificate": "Yes"}, {"status": "Completed", "certificate": "No"}),
    ],
    ids=["completed-back-to-in-progress", "started-back-to-not-started", "certificate-taken-back"],
)
def test_status_and_certificate_never_go_backwards_within_a_batch(db_engine, tmp_path, stored, older):
    import_report(db_engine, write(tmp_path, [row(**stored)], name="new.csv"))
    assert import_report(db_engine, write(tmp_path, [row(**older)], name="old.csv")).ignored_older == 1
    with Session(db_engine) as session:
        enrolment = session.exec(select(Enrolment)).one()
        assert enrolment.status == {"Completed": "completed", "In Progress": "in-progress"}[stored["status"]]


def test_a_newer_report_moves_forward_and_takes_the_other_columns(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(progress="20", end="30/11/2026")], name="october.csv"))
    summary = import_report(db_engine, write(tmp_path, [row(progress="60", end="31/12/2026")], name="nov.csv"))
    assert (summary.updated, summary.ignored_older) == (1, 0)
    with Session(db_engine) as session:
        enrolment = session.exec(select(Enrolment)).one()
        assert (enrolment.progress, enrolment.batch_end_date.isoformat()) == (60, "2026-12-31")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"batch": "B-2025", "enrolled": "2025-03-01"}, {"batch": "B-2026", "enrolled": "2026-03-01"}),
        ({"batch": "B-2025", "end": "31/03/2025"}, {"batch": "B-2026", "end": "31/03/2027"}),
        ({"enrolled": "2025-03-01"}, {"enrolled": "2026-03-01"}),  # no batch ids: the enrolment date tells
    ],
    ids=["by-enrolment-date", "by-batch-end-date", "no-batch-ids"],
)
def test_a_newer_batch_starts_fresh_and_the_older_batch_is_not_brought_back(db_engine, tmp_path, first, second):
    done = {"status": "Completed", "progress": "100", "completed": "2025-04-01", "certificate": "Yes"}
    old_batch = write(tmp_path, [row(**first, **done)], name="2025.csv")
    new_batch = write(tmp_path, [row(**second, status="Not Started", progress="0")], name="2026.csv")
    import_report(db_engine, old_batch)
    assert import_report(db_engine, new_batch).updated == 1
    assert import_report(db_engine, old_batch).ignored_older == 1
    assert enrolments(db_engine) == [("सुनीता साहू", "Basics of Cyber Security", "not-started", 0, second.get("batch"))]


def test_a_batch_that_cannot_be_dated_is_taken_as_the_newer(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(batch="B-1", end="", status="Completed")], name="a.csv"))
    summary = import_report(db_engine, write(tmp_path, [row(batch="B-2", end="", progress="10")], name="b.csv"))
    assert (summary.updated, summary.ignored_older) == (1, 0)
    assert enrolments(db_engine)[0][2:] == ("in-progress", 10, "B-2")


def test_a_report_without_batch_columns_keeps_the_batch_known_so_far(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(batch="B-7", enrolled="2026-01-05", progress="10")], name="a.csv"))
    summary = import_report(db_engine, write(tmp_path, [row(progress="70")], name="b.csv"))
    assert summary.updated == 1
    with Session(db_engine) as session:
        enrolment = session.exec(select(Enrolment)).one()
        assert (enrolment.progress, enrolment.batch_id, enrolment.enrolled_on.isoformat()) == (70, "B-7", "2026-01-05")
    assert import_report(db_engine, write(tmp_path, [row(progress="70")], name="b.csv")).unchanged == 1


def test_allow_rollback_takes_an_older_report_as_a_correction(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(progress="60")], name="wrong.csv"))
    summary = import_report(db_engine, write(tmp_path, [row(progress="20")], name="right.csv"), allow_rollback=True)
    assert (summary.updated, summary.ignored_older) == (1, 0)
    assert enrolments(db_engine)[0][3] == 20


def test_the_same_person_with_and_without_an_id_in_one_block(db_engine, tmp_path):
    """Known by id from an earlier report, then written twice in one file: one employee, one row per course."""
    import_report(db_engine, write(tmp_path, [row(external_id="CG-1")], name="first.csv"))
    path = write(tmp_path, [
        row(external_id="CG-1", progress="50"),
        row(external_id="", progress="55"),  # the same person and course, without the id
        row(external_id="", course="POSH Act", content_id="do_2"),
    ])  # fmt: skip
    summary = import_report(db_engine, path)
    assert (summary.updated, summary.inserted, summary.rejected) == (1, 1, 1)
    assert rejects(path) == [(3, "the same employee and course as line 2")]
    with Session(db_engine) as session:
        assert len(session.exec(select(Employee)).all()) == 1
    assert [(course, progress) for _, course, _, progress, _ in enrolments(db_engine)] == [
        ("Basics of Cyber Security", 50),
        ("POSH Act", 40),
    ]
