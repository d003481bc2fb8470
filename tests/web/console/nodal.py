"""A state's report with two districts, for the nodal officers' pages; uploading through the console.

Everything only Lucknow has carries a marker (`LUCKNOW_ONLY`) that must never appear in what a
Raipur officer gets: its employees' names, a designation, a department and a course of its own.
"""

from __future__ import annotations

import csv
import io
import time

from starlette.testclient import TestClient

from tests.records.reports import HEADER, row
from tests.web.console.helpers import csrf_of

PAST, FUTURE = "01/01/2020", "31/12/2099"
RAIPUR_ROWS = [
    # Asha: one done, one overdue; Bhim: one not started (not overdue); Charu: all done; Farid: no district
    row("Asha Sahu", "9876500001", external_id="R1", district="Raipur", department="Health", designation="ASHA",
        course="Course A", content_id="do_a", status="Completed", progress="100", end=PAST),
    row("Asha Sahu", "9876500001", external_id="R1", district="Raipur", department="Health", designation="ASHA",
        course="Course B", content_id="do_b", status="In Progress", progress="30", end=PAST),
    row("Bhim Netam", "9876500002", external_id="R2", district="raipur", department="Police", designation="Constable",
        course="Course A", content_id="do_a", status="Not Started", progress="0", end=FUTURE),
    row("Charu Verma", "9876500003", external_id="R3", district="Raipur", department="Health", designation="ASHA",
        course="Course B", content_id="do_b", status="Completed", progress="100", end=PAST),
]  # fmt: skip
LUCKNOW_ROWS = [
    row("Deepa Awasthi", "9876500011", external_id="L1", district="Lucknow", department="Nagar Nigam",
        designation="Tax Inspector", course="Course L only", content_id="do_l", status="In Progress",
        progress="50", end=PAST),
    row("Deepa Awasthi", "9876500011", external_id="L1", district="Lucknow", department="Nagar Nigam",
        designation="Tax Inspector", course="Course A", content_id="do_a", status="Not Started", progress="0",
        end=PAST),
    row("Gopal Mishra", "9876500012", external_id="L2", district="Lucknow", department="Health", designation="ANM",
        course="Course B", content_id="do_b", status="Completed", progress="100", end=FUTURE),
]  # fmt: skip
UNASSIGNED_ROWS = [
    row("Farid Khan", "9876500021", external_id="N1", district="", department="Education", designation="Teacher",
        course="Course A", content_id="do_a", status="In Progress", progress="10", end=FUTURE),
]  # fmt: skip
LUCKNOW_ONLY = ("Lucknow", "Deepa", "Awasthi", "Gopal", "Mishra", "Tax Inspector", "Nagar Nigam", "Course L",
                "9876500011", "9876500012", "0011", "0012", "Farid")  # fmt: skip
# Raipur by district, as `helpdesk report completion --by district` counts it.
RAIPUR_FIGURES = {"group": "Raipur", "employees": 3, "mandatory_total": 4, "mandatory_completed": 2,
                  "completion_rate": 0.5, "overdue": 1}  # fmt: skip


def report_csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


STATE_REPORT = report_csv(RAIPUR_ROWS + LUCKNOW_ROWS + UNASSIGNED_ROWS)


def without_lucknow(text: str) -> bool:
    """Whether nothing only Lucknow (or nobody's district) has is in this text."""
    return not [marker for marker in LUCKNOW_ONLY if marker.casefold() in text.casefold()]


def upload(client: TestClient, content: bytes, name: str = "state-nov.csv", **fields: str):
    """Post the upload form as a browser does (the token first, then any fields, then the file)."""
    token = csrf_of(client.get("/staff/imports").text)
    return client.post(
        "/staff/imports",
        data={"csrf_token": token, **fields},
        files={"report": (name, content, "text/csv")},
        follow_redirects=False,
    )


def finished(client: TestClient, job_path: str, timeout: float = 60) -> dict:
    """Poll the import's JSON status until it has ended; the last status."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"{job_path}/status.json").json()
        if not state["active"]:
            return state
        assert time.monotonic() < deadline, f"the import did not end: {state}"
        time.sleep(0.1)
