"""`helpdesk import report` and `helpdesk report …` as a nodal officer runs them (subprocesses, both backends)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.records.reports import row, write
from tests.test_cli import run

RAIPUR = {"district": "Raipur", "department": "Health"}
LUCKNOW = {"district": "Lucknow", "department": "Police", "designation": "Constable"}


@pytest.fixture
def helpdesk(db_engine, tmp_path):
    """`helpdesk …` against this test's database."""
    url = db_engine.url.render_as_string(hide_password=False)
    return lambda *args: run(tmp_path, *args, env={"DATABASE_URL": url, "TIMEZONE": "Asia/Kolkata"})


def november(tmp_path: Path) -> Path:
    return write(tmp_path, [
        row("Sunita Sahu", "+91 98765 00001", external_id="CG-1", progress="60", end="31/12/2099", **RAIPUR),
        row("Sunita Sahu", "9876500001", external_id="CG-1", course="POSH Act", content_id="do_2",
            status="Completed", progress="100", **RAIPUR),
        row("Kavita Verma", "9876500002", external_id="CG-2", status="Not Started", end="01/01/2020", **RAIPUR),
        row("Ram Singh", "9876500003", external_id="UP-1", status="2", **LUCKNOW),
        row("Shyam Lal", "09876500004", external_id="UP-2", mandatory="No", **LUCKNOW),
    ], name="november.csv")  # fmt: skip


def test_a_nodal_officer_imports_and_reads_completion_by_district(helpdesk, tmp_path):
    imported = helpdesk("import", "report", str(november(tmp_path)))
    assert imported.returncode == 0, imported.stderr
    assert "rows read: 5, inserted: 5, updated: 0, unchanged: 0, rejected: 0, ignored as older: 0" in imported.stdout

    result = helpdesk("report", "completion", "--by", "district", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"group": "Lucknow", "employees": 1, "mandatory_total": 1, "mandatory_completed": 1, "completion_rate": 1.0,
         "overdue": 0},
        {"group": "Raipur", "employees": 2, "mandatory_total": 3, "mandatory_completed": 1, "completion_rate": 0.3333,
         "overdue": 1},
    ]  # fmt: skip
    raipur_only = json.loads(
        helpdesk("report", "completion", "--by", "course", "--district", "raipur", "--json").stdout
    )
    assert [(row["group"], row["employees"]) for row in raipur_only] == [
        ("Basics of Cyber Security", 2),
        ("POSH Act", 1),
    ]

    table = helpdesk("report", "completion", "--by", "department").stdout
    assert table.splitlines()[0].split() == ["department", "employees", "mandatory", "completed", "rate", "overdue"]
    assert "Health" in table and "Police" in table and table.splitlines()[-1].split() == [
        "total", "3", "4", "2", "50.0%", "1"
    ]  # fmt: skip


def test_reimporting_an_older_report_leaves_60_percent_at_60(helpdesk, tmp_path):
    helpdesk("import", "report", str(november(tmp_path)))
    october = write(tmp_path, [row("Sunita Sahu", "9876500001", external_id="CG-1", progress="20", **RAIPUR)],
                    name="october.csv")  # fmt: skip
    again = helpdesk("import", "report", str(october))
    assert "updated: 0, unchanged: 0, rejected: 0, ignored as older: 1" in again.stdout, again.stderr
    assert _progress(helpdesk, "Sunita Sahu") == 60

    corrected = helpdesk("import", "report", str(october), "--allow-rollback")
    assert "updated: 1" in corrected.stdout and _progress(helpdesk, "Sunita Sahu") == 20


def test_the_pending_list_masks_phones(helpdesk, tmp_path):
    helpdesk("import", "report", str(november(tmp_path)))
    result = helpdesk("report", "pending", "--by", "district", "--group", "Raipur")
    assert result.returncode == 0, result.stderr
    assert "Kavita Verma  +91******0002" in result.stdout and "OVERDUE" in result.stdout
    assert "9876500002" not in result.stdout and "Ram Singh" not in result.stdout


def test_a_wrong_grouping_is_named(helpdesk):
    result = helpdesk("report", "completion", "--by", "block")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'block' is not one of" in result.stderr and "'designation'" in result.stderr


def _progress(helpdesk, name: str) -> int:
    pending = json.loads(helpdesk("report", "pending", "--json", "--district", "Raipur").stdout)
    person = next(person for person in pending["employees"] if person["name"] == name)
    return person["courses"][0]["progress"]
