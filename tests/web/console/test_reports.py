"""The completion dashboard, its drill-down and its CSVs over HTTP: each account sees its own scope only.

A Raipur officer never sees Lucknow: not in the groups, the totals, the lists or the files, and not by
naming Lucknow in the URL, whatever parameter is crafted.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from starlette.testclient import TestClient

from bot.access.audit import events
from bot.db import session_scope
from bot.records.completion import GroupBy, completion, completion_total
from bot.records.importer import import_report
from bot.tickets.staff import add_staff
from bot.web.console import reports
from tests.records.reports import row
from tests.web.console.helpers import PASSWORD, staff_client
from tests.web.console.nodal import (
    LUCKNOW_ROWS,
    RAIPUR_FIGURES,
    RAIPUR_ROWS,
    STATE_REPORT,
    UNASSIGNED_ROWS,
    report_csv,
    without_lucknow,
)

ROUTES = ["/staff/reports", "/staff/reports/pending", "/staff/reports/completion.csv", "/staff/reports/pending.csv"]


@pytest.fixture
def state(db_engine, other_roles, tmp_path):
    """The state's report imported (by an administrator); a Lucknow officer and a Health officer too."""
    path = tmp_path / "state.csv"
    path.write_bytes(STATE_REPORT)
    assert import_report(db_engine, path).rejected == 0
    with session_scope(db_engine) as session:
        add_staff(session, name="lucknow", password=PASSWORD, role="nodal", districts=["Lucknow"])
        add_staff(session, name="health", password=PASSWORD, role="nodal", departments=["health"])


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def dashboard_rows(page: str) -> list[tuple[str, ...]]:
    """The group rows of the dashboard's table: group, employees, mandatory, completed, rate, overdue."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [tuple(re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", line, re.S))
            for line in body.split("</tr>") if "<td" in line]  # fmt: skip


def totals(page: str) -> list[str]:
    section = page[page.index('class="totals"') : page.index("</section>")]
    return re.findall(r'class="figure">([^<]+)<', section)


@pytest.mark.parametrize("by", list(GroupBy))
def test_a_raipur_officer_sees_raipur_only_in_every_grouping(app, state, db_engine, by):
    raipur = staff_client(app, "raipur")
    page = raipur.get(f"/staff/reports?by={by.value}")
    assert page.status_code == 200 and without_lucknow(page.text)
    with session_scope(db_engine) as session:
        expected = completion(session, by=by, today=reports.today_in("Asia/Kolkata"), districts=["Raipur"])
        total = completion_total(session, today=reports.today_in("Asia/Kolkata"), districts=["Raipur"])
    assert [cells[0] for cells in dashboard_rows(page.text)] == [row.group for row in expected]
    assert totals(page.text) == ["50%", str(total.mandatory_completed), str(total.employees), str(total.overdue)]
    exported = raipur.get(f"/staff/reports/completion.csv?by={by.value}")
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert table(exported.text) == [reports.COMPLETION_COLUMNS] + [
        [str(value) for value in row.as_json().values()] for row in expected
    ]
    assert without_lucknow(exported.text)


def test_the_raipur_figures_are_those_of_the_report(app, state):
    page = staff_client(app, "raipur").get("/staff/reports?by=district").text
    assert dashboard_rows(page) == [("Raipur", "3", "4", "2", "50%", "1")]
    exported = table(staff_client(app, "raipur").get("/staff/reports/completion.csv").text)
    assert dict(zip(exported[0], exported[1], strict=True)) == {
        key: str(value) for key, value in RAIPUR_FIGURES.items()
    }


def test_an_administrator_sees_every_district_and_the_employees_without_one(app, state):
    page = staff_client(app, "boss").get("/staff/reports").text
    assert [cells[0] for cells in dashboard_rows(page)] == ["Lucknow", "Raipur", "(not given)"]
    assert totals(page)[1:] == ["3", "6", "3"]  # completed, employees, overdue


def test_a_department_scope_spans_districts(app, state):
    page = staff_client(app, "health").get("/staff/reports?by=district").text
    assert [cells[:4] for cells in dashboard_rows(page)] == [("Lucknow", "1", "1", "1"), ("Raipur", "2", "3", "2")]
    assert "Police" not in staff_client(app, "health").get("/staff/reports?by=department").text


@pytest.mark.parametrize(
    "crafted",
    ["district=Lucknow", "department=Nagar+Nigam", "districts=Lucknow&departments=Health", "scope=all",
     "district=Lucknow&by=district", "by=district%27%20OR%201=1--", "by=LUCKNOW", "sort=group"],
)  # fmt: skip
def test_crafted_parameters_change_nothing(app, state, crafted):
    raipur = staff_client(app, "raipur")
    for path in ROUTES:
        response = raipur.get(f"{path}?{crafted}")
        assert response.status_code == 200, (path, crafted)
        assert without_lucknow(response.text), (path, crafted)


def test_another_district_in_the_drill_down_is_as_empty_as_a_district_that_does_not_exist(app, state):
    raipur = staff_client(app, "raipur")

    def seen(group: str, path: str = "/staff/reports/pending") -> str:
        text = raipur.get(f"{path}?by=district&group={group}").text
        return re.sub(r'value="[^"]+"', "", text).replace(group, "GROUP")  # the token and the echoed name aside

    assert seen("Lucknow") == seen("Atlantis")
    assert seen("Lucknow", "/staff/reports/pending.csv") == seen("Atlantis", "/staff/reports/pending.csv")
    assert table(raipur.get("/staff/reports/pending.csv?by=district&group=Lucknow").text) == [reports.PENDING_COLUMNS]
    for by, group in (("course", "Course L only"), ("designation", "Tax Inspector"), ("department", "Nagar Nigam"),
                      ("district", "")):  # fmt: skip
        page = raipur.get("/staff/reports/pending", params={"by": by, "group": group}).text
        assert "0 employees with mandatory courses to finish" in page
    assert "Lucknow" in staff_client(app, "lucknow").get("/staff/reports/pending?by=district&group=Lucknow").text


def test_the_drill_down_lists_names_with_masked_phones_and_pending_courses(app, state):
    page = staff_client(app, "raipur").get("/staff/reports/pending?by=district&group=raipur").text
    assert "2 employees with mandatory courses to finish" in page
    assert page.index("Asha Sahu") < page.index("Bhim Netam") and "Charu" not in page  # Charu has finished
    assert "+91******0001" in page and "9876500001" not in page
    asha = page[page.index("Asha Sahu") : page.index("Bhim Netam")]
    assert "Course B: in-progress 30%, batch ends 01 Jan 2020" in asha and "OVERDUE" in asha
    assert "Course A" not in asha  # completed
    everyone = staff_client(app, "raipur").get("/staff/reports/pending").text
    assert "Everyone in your scope" in everyone and "2 employees" in everyone and without_lucknow(everyone)


def test_the_pending_csv_has_every_page_one_row_per_course(app, db_engine, other_roles, tmp_path, monkeypatch):
    many = [row(f"Same Name {index % 3}", f"98765{index:05d}", external_id=f"X{index}", district="Raipur",
                course=course, content_id=course) for index in range(23) for course in ("do_a", "do_b")]  # fmt: skip
    path = tmp_path / "many.csv"
    path.write_bytes(report_csv(many + LUCKNOW_ROWS))
    import_report(db_engine, path)
    monkeypatch.setattr(reports, "EXPORT_BATCH", 4)  # several batches, names repeating across their edges
    raipur = staff_client(app, "raipur")
    lines = table(raipur.get("/staff/reports/pending.csv").text)
    assert lines[0] == reports.PENDING_COLUMNS and len(lines) == 1 + 46
    phones = [line[1] for line in lines[1:]]
    assert len(set(phones)) == 23 and all(phone.startswith("'+91******") for phone in phones)
    assert [line[0] for line in lines[1:]] == sorted(line[0] for line in lines[1:])
    page = raipur.get("/staff/reports/pending?page=2").text
    assert "page 2 of 1" not in page and "23 employees" in page


def test_exports_cannot_smuggle_spreadsheet_formulas(app, db_engine, other_roles, tmp_path):
    path = tmp_path / "formula.csv"
    path.write_bytes(report_csv([row('=HYPERLINK("http://evil.example","x")', district="Raipur",
                                     designation="@SUM(A1)")]))  # fmt: skip
    import_report(db_engine, path)
    lines = table(staff_client(app, "raipur").get("/staff/reports/pending.csv").text)
    assert lines[1][0] == '\'=HYPERLINK("http://evil.example","x")' and lines[1][2] == "'@SUM(A1)"
    by_designation = table(staff_client(app, "raipur").get("/staff/reports/completion.csv?by=designation").text)
    assert by_designation[1][0] == "'@SUM(A1)"


@pytest.mark.parametrize("path", ROUTES)
def test_helpdesk_staff_have_no_reports_and_strangers_must_log_in(app, state, path):
    refused = staff_client(app, "desk1").get(path)
    assert refused.status_code == 403 and "Not for your account" in refused.text and without_lucknow(refused.text)
    stranger = TestClient(app).get(path, follow_redirects=False)
    assert (stranger.status_code, stranger.headers["location"]) == (303, "/staff/login")


def test_nothing_imported_yet_says_so(app, other_roles):
    page = staff_client(app, "raipur").get("/staff/reports").text
    assert "No mandatory enrolments in the imported reports for district raipur yet." in page


def test_the_pending_export_is_in_the_audit_trail(app, state, db_engine):
    staff_client(app, "raipur").get("/staff/reports/pending.csv?by=district&group=Raipur")
    with session_scope(db_engine) as session:
        [event] = events(session, subject_prefix="pending:")
    assert (event.actor, event.action) == ("raipur", "pending.exported")
    assert "district raipur" in event.detail


def test_the_unassigned_and_lucknow_rows_are_really_there(db_engine, state):
    """The markers `without_lucknow` looks for are in the data (else the tests above could not fail)."""
    with session_scope(db_engine) as session:
        groups = [row.group for row in completion(session, by=GroupBy.DISTRICT, today=reports.today_in("UTC"))]
    assert groups == ["Lucknow", "Raipur", None]
    assert not without_lucknow(str(LUCKNOW_ROWS + UNASSIGNED_ROWS)) and without_lucknow(str(RAIPUR_ROWS))
