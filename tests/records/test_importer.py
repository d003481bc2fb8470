"""Importing iGOT enrolment reports: ugly files, re-imports, interruptions (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.models import Course, Employee, Enrolment
from bot.records.importer import ReportError, import_report
from tests.records.reports import HEADER, counts, rejects, row, write


def test_a_clean_report_imports_with_hindi_names_and_bom(db_engine, tmp_path):
    path = write(tmp_path, [
        row(),
        row(course="POSH Act", content_id="do_2", status="completed", progress="100", completed="2026-11-01",
            certificate="Yes"),
        row("Ramesh Yadav", "+91 98765-00002", external_id="", designation="Constable", email=""),
    ])  # fmt: skip
    summary = import_report(db_engine, path)
    assert (summary.rows_read, summary.inserted, summary.rejected) == (3, 3, 0)
    assert counts(db_engine) == (2, 2, 3)
    assert summary.rejects_path is None and not (tmp_path / "report.rejects.csv").exists()
    with Session(db_engine) as session:
        sunita = session.exec(select(Employee).where(Employee.external_id == "CG-HLT-1")).one()
        assert (sunita.name, sunita.phone, sunita.designation) == ("सुनीता साहू", "+919876500001", "ASHA")
        ramesh = session.exec(select(Employee).where(Employee.phone == "+919876500002")).one()
        assert ramesh.external_id is None and ramesh.email is None


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_kept(db_engine, tmp_path):
    path = write(tmp_path, [
        row(),                                              # line 2: fine
        row(phone="12345", external_id="X1"),               # 3: bad phone
        row(external_id="X2", completed="31-02-2026"),      # 4: bad date
        row(external_id="X3", status="done"),               # 5: unknown status
        row(),                                              # 6: exact duplicate of line 2
        row(progress="55"),                                 # 7: same employee and course, other values
        row(name="", external_id="X4"),                     # 8: no name
        row(external_id="X5", progress="abc"),              # 9: bad progress
    ])  # fmt: skip
    summary = import_report(db_engine, path)
    assert (summary.rows_read, summary.inserted, summary.rejected) == (8, 1, 7)
    assert rejects(path) == [
        (3, "Phone_Number: not a 10-digit mobile number: '12345'"),
        (4, "Completed_On: '31-02-2026' is not a date (use YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY)"),
        (5, "Status: 'done' is not one of not-started, in-progress, completed (or 0, 1, 2)"),
        (6, "a duplicate of line 2"),
        (7, "the same employee and course as line 2"),
        (8, "Full_Name is empty"),
        (9, "Content_Progress_Percentage: 'abc' is not a number"),
    ]
    assert counts(db_engine) == (1, 1, 1)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["Full_Name", "Phone_Number", "Content_Name"], "Status"),
        (["Name", "Mobile"], "Full_Name, Phone_Number, Content_Name, Status"),
    ],
)
def test_missing_required_columns_import_nothing(db_engine, tmp_path, header, missing):
    path = write(tmp_path, [["a"] * len(header)], header=header)
    with pytest.raises(ReportError, match=f"missing required column\\(s\\) {missing}"):
        import_report(db_engine, path)
    assert counts(db_engine) == (0, 0, 0)


def test_an_empty_or_non_utf8_file_is_a_clear_error(db_engine, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ReportError, match="the file is empty"):
        import_report(db_engine, empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\n" + "Jos\xe9".encode("latin-1") + b",9876500001\n")
    with pytest.raises(ReportError, match="not UTF-8"):
        import_report(db_engine, latin)


def test_reimporting_the_same_file_changes_nothing(db_engine, tmp_path):
    path = write(tmp_path, [row(), row(course="POSH Act", content_id="do_2")])
    import_report(db_engine, path)
    again = import_report(db_engine, path)
    assert (again.inserted, again.updated, again.unchanged, again.employees_added, again.employees_updated) == (
        0,
        0,
        2,
        0,
        0,
    )
    assert counts(db_engine) == (1, 2, 2)


def test_a_newer_report_updates_statuses(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row()], name="october.csv"))
    newer = write(
        tmp_path,
        [row(status="2", progress="100", completed="20-11-2026", certificate="Yes", designation="ASHA Facilitator")],
        name="november.csv",
    )
    summary = import_report(db_engine, newer)
    assert (summary.inserted, summary.updated, summary.employees_updated) == (0, 1, 1)
    with Session(db_engine) as session:
        enrolment = session.exec(select(Enrolment)).one()
        assert (enrolment.status, enrolment.progress, enrolment.certificate_generated) == ("completed", 100, True)
        assert session.exec(select(Employee.designation)).one() == "ASHA Facilitator"


def test_a_phone_used_for_two_names_is_reported_not_merged(db_engine, tmp_path):
    path = write(tmp_path, [
        row("Ramesh Yadav", "9876500002", external_id=""),
        row("Suresh Kumar", "+919876500002", external_id="", course="POSH Act", content_id="do_2"),
    ])  # fmt: skip
    summary = import_report(db_engine, path)
    assert summary.rejected == 1
    assert rejects(path) == [
        (
            3,
            "Phone_Number +91******0002 is used on line 2 for an employee with a "
            "different name; add External_System_Id to tell them apart",
        )
    ]
    later = write(tmp_path, [row("Suresh Kumar", "9876500002", external_id="")], name="later.csv")
    import_report(db_engine, later)
    assert "already belongs to another employee" in rejects(later)[0][1]
    with Session(db_engine) as session:
        assert session.exec(select(Employee.name)).all() == ["Ramesh Yadav"]


def test_two_employees_with_ids_sharing_a_phone_are_both_kept_and_reported(db_engine, tmp_path):
    path = write(tmp_path, [row("Ramesh Yadav", external_id="UP-1"), row("Suresh Kumar", external_id="UP-2")])
    summary = import_report(db_engine, path)
    assert summary.employees_added == 2 and summary.shared_phones == ["+91******0001"]


def test_an_employee_known_by_phone_who_gets_an_id_is_the_same_person(db_engine, tmp_path):
    import_report(db_engine, write(tmp_path, [row(external_id="")], name="first.csv"))
    summary = import_report(db_engine, write(tmp_path, [row(external_id="CG-HLT-9")], name="second.csv"))
    assert summary.employees_added == 0 and summary.employees_updated == 1
    assert counts(db_engine) == (1, 1, 1)


def test_an_interrupted_import_can_simply_run_again(db_engine, tmp_path):
    rows = [row(f"Employee {n}", f"98765{n:05d}", external_id=f"E-{n}") for n in range(25)]
    path = write(tmp_path, rows)

    def crash_after_two_batches(done: int, total: int) -> None:
        crash_after_two_batches.calls += 1
        if crash_after_two_batches.calls == 2:
            raise KeyboardInterrupt  # as if the operator pressed Ctrl-C, or the machine died

    crash_after_two_batches.calls = 0
    with pytest.raises(KeyboardInterrupt):
        import_report(db_engine, path, batch_size=10, on_progress=crash_after_two_batches)
    assert counts(db_engine) == (20, 1, 20)  # two whole batches, nothing half-written
    summary = import_report(db_engine, path, batch_size=10)
    assert (summary.inserted, summary.unchanged) == (5, 20)
    assert counts(db_engine) == (25, 1, 25)


def test_an_interrupted_import_leaves_no_half_rejects_file(db_engine, tmp_path):
    rows = [row(f"Employee {n}", f"98765{n:05d}", external_id=f"E-{n}") for n in range(25)]
    rows[3][1] = rows[23][1] = "12345"  # a bad phone in the first block and in the last
    path = write(tmp_path, rows)

    def crash(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_report(db_engine, path, batch_size=10, on_progress=crash)
    assert not list(tmp_path.glob("report.rejects*"))  # neither a half file nor a misleading one
    summary = import_report(db_engine, path, batch_size=10)
    assert summary.rejected == 2 and [line for line, _ in rejects(path)] == [5, 25]
    assert not list(tmp_path.glob("*.partial"))


def test_cells_with_tabs_backslashes_and_quotes_arrive_as_written(db_engine, tmp_path):
    """PostgreSQL's COPY has its own escapes; none of them may leak into or out of a cell."""
    course = {"course": 'Yoga, "Break"', "content_id": "do_\\N"}
    awkward = row(designation="Clerk\\tGrade\\N", department='Health "A"\tWing', email="", **course)
    path = write(tmp_path, [awkward, row("Second", "9876500002", external_id="X-2", designation="\\N", **course)])
    assert import_report(db_engine, path).inserted == 2
    with Session(db_engine) as session:
        first, second = session.exec(select(Employee).order_by(Employee.id)).all()
        assert (first.designation, first.department, first.email) == ("Clerk\\tGrade\\N", 'Health "A"\tWing', None)
        assert second.designation == "\\N"
        assert session.exec(select(Course.content_id, Course.name)).one() == ("do_\\N", 'Yoga, "Break"')


@pytest.mark.parametrize("batch_size", [1, 100])
def test_who_is_who_does_not_depend_on_where_blocks_end(db_engine, tmp_path, batch_size):
    """A person's row with External_System_Id and their row without it are one employee, first or second."""
    path = write(tmp_path, [
        row("Asha Devi", "9876500011", external_id="", course="POSH Act", content_id="do_2"),
        row("Asha Devi", "9876500011", external_id="CG-11"),
        row("Ravi Sahu", "9876500012", external_id="CG-12"),
        row("Ravi Sahu", "9876500012", external_id="", course="POSH Act", content_id="do_2"),
    ])  # fmt: skip
    summary = import_report(db_engine, path, batch_size=batch_size)
    assert (summary.employees_added, summary.inserted, summary.rejected) == (2, 4, 0)
    with Session(db_engine) as session:
        assert session.exec(select(Employee.name, Employee.external_id).order_by(Employee.name)).all() == [
            ("Asha Devi", "CG-11"),
            ("Ravi Sahu", "CG-12"),
        ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_cell_over_several_lines_keeps_the_line_numbers_right(db_engine, tmp_path, newline):
    """Rejects name the line a row starts on, after a quoted cell that spans lines."""
    rows = [row(external_id="E-1"), row(external_id="E-2", course=f"Basics{newline}of{newline}Cyber")]
    rows += [row(external_id="E-3", phone="12345"), [], row(external_id="E-4", phone="12345")]
    path = write(tmp_path, rows)
    assert import_report(db_engine, path, batch_size=2).rejected == 2
    assert [line for line, _ in rejects(path)] == [6, 8]
