"""Imports from the console over HTTP: upload, progress, history, rejects and who may see them, limits,
a nodal officer's scope, and an import whose worker died (both backends)."""

from __future__ import annotations

import csv
import html
import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select
from starlette.testclient import TestClient

from bot.config import Settings
from bot.db import session_scope
from bot.models import Enrolment, ImportJob, StaffEvent, utcnow
from bot.records import jobs
from bot.tickets.staff import add_staff
from bot.web.app import create_app
from tests.records.reports import row
from tests.web.console.helpers import PASSWORD, SECRET, csrf_of, staff_client, staff_id
from tests.web.console.nodal import LUCKNOW_ROWS, RAIPUR_ROWS, STATE_REPORT, finished, report_csv, upload

BAD_ROW = row("Bad Phone", "12345", external_id="Z9", district="Raipur")


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(uploads: Path) -> Settings:
    return Settings(_env_file=None, default_language="hi", staff_session_secret=SECRET, import_upload_dir=uploads,
                    import_max_upload_mb=1)  # fmt: skip


@pytest.fixture
def officers(db_engine, other_roles) -> None:
    """Besides boss (admin) and raipur: raipur2, another Raipur officer, and lucknow."""
    with session_scope(db_engine) as session:
        add_staff(session, name="raipur2", password=PASSWORD, role="nodal", districts=["Raipur"])
        add_staff(session, name="lucknow", password=PASSWORD, role="nodal", districts=["Lucknow"])


def rejects_table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def enrolment_count(db_engine) -> int:
    with session_scope(db_engine) as session:
        return session.exec(select(func.count()).select_from(Enrolment)).one()


def test_an_administrator_imports_the_state_report_and_sees_its_counts(app, officers, db_engine, uploads):
    boss = staff_client(app, "boss")
    response = upload(boss, report_csv(RAIPUR_ROWS + LUCKNOW_ROWS + [BAD_ROW]))
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/imports/")
    job = response.headers["location"]
    state = finished(boss, job)
    assert (state["status"], state["rows_read"], state["inserted"], state["rejected"], state["percent"]) == (
        "done", 8, 7, 1, 100)  # fmt: skip
    page = boss.get(job).text
    assert "Import of state-nov.csv" in page and "Rows read</th><td>8" in page and "all districts" in page
    assert "http-equiv" not in page  # finished: no more refreshing
    rejected = rejects_table(boss.get(f"{job}/rejects.csv").text)
    assert rejected[0][:3] == ["line", "reason", "Full_Name"]
    assert rejected[1][:3] == ["9", "Phone_Number: not a 10-digit mobile number: '12345'", "Bad Phone"]
    assert enrolment_count(db_engine) == 7
    assert list(uploads.iterdir()) == []  # the uploaded file is gone once imported
    history = boss.get("/staff/imports").text
    assert "state-nov.csv" in history and ">boss<" in history and ">Done<" in history


def test_a_raipur_officer_s_upload_changes_raipur_only(app, officers, db_engine):
    raipur = staff_client(app, "raipur")
    job = upload(raipur, STATE_REPORT).headers["location"]
    state = finished(raipur, job)
    assert (state["inserted"], state["rejected"], state["outside_scope"]) == (4, 4, 4)
    assert "(4 outside district raipur)" in raipur.get(job).text
    reasons = [line[1] for line in rejects_table(raipur.get(f"{job}/rejects.csv").text)[1:]]
    assert reasons == ["District 'Lucknow': this account imports only rows within district raipur"] * 3 + [
        "District is empty: this account imports only rows within district raipur"
    ]
    assert enrolment_count(db_engine) == 4
    # Lucknow's officer imports theirs; Raipur's cannot then overwrite them with a report that says Raipur.
    lucknow = staff_client(app, "lucknow")
    finished(lucknow, upload(lucknow, report_csv(LUCKNOW_ROWS)).headers["location"])
    claimed = [[*line[:-1], "Raipur"] for line in LUCKNOW_ROWS]
    state = finished(raipur, upload(raipur, report_csv(claimed)).headers["location"])
    assert (state["updated"], state["outside_scope"]) == (0, 3)
    assert "Lucknow" in staff_client(app, "boss").get("/staff/reports").text


def test_an_import_is_its_uploader_s_and_the_administrators(app, officers, db_engine):
    raipur = staff_client(app, "raipur")
    job = upload(raipur, report_csv(RAIPUR_ROWS + LUCKNOW_ROWS)).headers["location"]
    finished(raipur, job)
    paths = [job, f"{job}/status.json", f"{job}/rejects.csv"]
    for path in paths:
        assert raipur.get(path).status_code == 200, path
        assert staff_client(app, "boss").get(path).status_code == 200, path
    number = int(job.rsplit("/", 1)[1])
    nobody = f"/staff/imports/{number + 100}"
    for name in ("raipur2", "lucknow"):  # the same district, or another: not theirs
        other = staff_client(app, name)
        for path in paths:
            response = other.get(path)
            missing = other.get(path.replace(job, nobody))
            assert response.status_code == missing.status_code == 404, path
            assert response.text == missing.text  # nothing tells another's import from one that never was
            assert "Lucknow" not in response.text and "state-nov" not in response.text
        assert "state-nov.csv" not in other.get("/staff/imports").text
    desk = staff_client(app, "desk1")
    assert {desk.get(path).status_code for path in [*paths, "/staff/imports"]} == {403}
    assert TestClient(app).get(job, follow_redirects=False).headers["location"] == "/staff/login"
    with session_scope(db_engine) as session:
        downloads = session.exec(select(StaffEvent).where(StaffEvent.action == "import.rejects_downloaded")).all()
        assert [event.actor for event in downloads] == ["raipur", "boss"]


def test_a_file_over_the_limit_is_refused_before_it_is_kept(app, officers, db_engine, uploads):
    boss = staff_client(app, "boss")
    big = STATE_REPORT + b"x" * (2**20)
    response = upload(boss, big)
    assert response.status_code == 413
    assert "larger than the limit of 1 MB (IMPORT_MAX_UPLOAD_MB)" in response.text
    with session_scope(db_engine) as session:
        assert session.exec(select(ImportJob)).all() == []
    assert list(uploads.iterdir()) == []


def test_a_file_sent_without_its_size_is_stopped_when_it_passes_the_limit(app, officers, db_engine, uploads):
    boss = staff_client(app, "boss")
    token = csrf_of(boss.get("/staff/imports").text)

    def body():  # chunked: no Content-Length to refuse it by, so the bytes are counted as they come
        yield (f'--b0\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--b0\r\n'
               'Content-Disposition: form-data; name="report"; filename="big.csv"\r\n\r\n').encode()  # fmt: skip
        yield STATE_REPORT
        for _ in range(20):
            yield b"x" * 2**16
        yield b"\r\n--b0--\r\n"

    response = boss.post("/staff/imports", content=body(), headers={"content-type": "multipart/form-data; boundary=b0"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and "larger than the limit of 1 MB" in response.text
    assert list(uploads.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "fields", "status", "message"),
    [
        ("report.xlsx", {}, 422, "'report.xlsx' is not a CSV file"),
        ("nov.csv", {"allow_rollback": "1"}, 403, "Only an administrator may import with rollback"),
    ],
)
def test_what_a_nodal_officer_may_not_upload(app, officers, db_engine, uploads, name, fields, status, message):
    response = upload(staff_client(app, "raipur"), STATE_REPORT, name=name, **fields)
    assert response.status_code == status and message in html.unescape(response.text)
    assert list(uploads.iterdir()) == []
    with session_scope(db_engine) as session:
        assert session.exec(select(ImportJob)).all() == []


def test_the_upload_form_s_token_must_come_before_the_file(app, officers, uploads):
    raipur = staff_client(app, "raipur")
    token = csrf_of(raipur.get("/staff/imports").text)
    file = ("report", ("nov.csv", STATE_REPORT, "text/csv"))
    missing = raipur.post("/staff/imports", files=[file])
    wrong = raipur.post("/staff/imports", data={"csrf_token": "forged"}, files=[file])
    late = raipur.post("/staff/imports", files=[file, ("csrf_token", (None, token))])
    for response in (missing, wrong, late):
        assert response.status_code == 403 and "CSRF check failed" in response.text
    no_file = raipur.post("/staff/imports", data={"csrf_token": token}, files={"other": ("a", b"b")})
    assert no_file.status_code == 400
    nothing = {"content-type": "multipart/form-data; boundary=abc"}
    empty = raipur.post("/staff/imports", headers=nothing, content=b"--abc--\r\n")
    assert empty.status_code == 422 and "Choose a report file" in empty.text
    assert list(uploads.iterdir()) == []


def test_an_administrator_may_roll_records_back_deliberately(app, officers, db_engine):
    boss = staff_client(app, "boss")
    newer = [row(district="Raipur", status="Completed", progress="100")]
    older = [row(district="Raipur", status="In Progress", progress="20")]
    finished(boss, upload(boss, report_csv(newer)).headers["location"])
    assert finished(boss, upload(boss, report_csv(older)).headers["location"])["ignored_older"] == 1
    state = finished(boss, upload(boss, report_csv(older), allow_rollback="1").headers["location"])
    assert (state["updated"], state["ignored_older"]) == (1, 0)
    with session_scope(db_engine) as session:
        assert session.exec(select(Enrolment.progress)).one() == 20
        event = session.exec(select(StaffEvent).where(StaffEvent.action == "import.uploaded")
                             .order_by(StaffEvent.id.desc())).first()  # fmt: skip
        assert event.detail.endswith("allowing rollback")


def test_a_hindi_file_name_is_kept_as_written(app, officers):
    raipur = staff_client(app, "raipur")
    job = upload(raipur, report_csv([*RAIPUR_ROWS, BAD_ROW]), name="रायपुर नवंबर.csv").headers["location"]
    finished(raipur, job)
    assert "रायपुर नवंबर.csv" in raipur.get("/staff/imports").text
    disposition = raipur.get(f"{job}/rejects.csv").headers["content-disposition"]
    assert disposition == (
        'attachment; filename="______-_____-rejects.csv"; '
        "filename*=UTF-8''%E0%A4%B0%E0%A4%BE%E0%A4%AF%E0%A4%AA%E0%A5%81%E0%A4%B0-%E0%A4%A8%E0%A4%B5%E0%A4%82%E0%A4%AC"
        "%E0%A4%B0-rejects.csv"
    )


def test_a_report_the_importer_refuses_shows_why(app, officers):
    raipur = staff_client(app, "raipur")
    job = upload(raipur, b"Name,Mobile\nAsha,9876500001\n", name="wrong.csv").headers["location"]
    state = finished(raipur, job)
    assert state["status"] == "failed"
    assert state["error"].startswith("wrong.csv: missing required column(s) Full_Name, Phone_Number")
    assert "/tmp" not in state["error"] and "report.csv" not in state["error"]
    assert "wrong.csv: missing required column(s)" in raipur.get(job).text


def test_an_import_whose_worker_died_shows_as_interrupted_and_can_be_run_again(app, officers, db_engine):
    with session_scope(db_engine) as session:
        dead = jobs.Worker(jobs.Worker.this().host, 2**22 + 1)
        raipur_id, boss_id = staff_id(db_engine, "raipur"), staff_id(db_engine, "boss")
        crashed = ImportJob(staff_id=raipur_id, file_name="crashed.csv", size_bytes=5000, progress_bytes=2000,
                            status="running", worker_host=dead.host, worker_pid=dead.pid)  # fmt: skip
        silent = ImportJob(staff_id=boss_id, file_name="silent.csv", size_bytes=5000, status="running",
                           worker_host="another-machine", worker_pid=1,
                           heartbeat_at=utcnow() - jobs.STALE_AFTER - timedelta(seconds=5))  # fmt: skip
        session.add_all([crashed, silent])
        session.flush()
        crashed_path, silent_path = f"/staff/imports/{crashed.id}", f"/staff/imports/{silent.id}"
    raipur = staff_client(app, "raipur")
    state = raipur.get(f"{crashed_path}/status.json").json()
    assert (state["status"], state["active"], state["percent"]) == ("interrupted", False, 40)
    page = raipur.get(crashed_path).text
    assert "Interrupted" in page and "upload the same file again" in page and "http-equiv" not in page
    boss = staff_client(app, "boss")
    assert ">Interrupted<" in boss.get("/staff/imports").text.split("silent.csv")[1][:400]
    assert boss.get(f"{silent_path}/status.json").json()["status"] == "interrupted"
    state = finished(raipur, upload(raipur, report_csv(RAIPUR_ROWS), name="crashed.csv").headers["location"])
    assert (state["status"], state["inserted"]) == ("done", 4)  # the queue is free again


def test_a_running_import_shows_its_progress_and_refreshes_itself(app, officers, db_engine):
    with session_scope(db_engine) as session:
        job = ImportJob(staff_id=staff_id(db_engine, "raipur"), file_name="big.csv", size_bytes=4_000_000,
                        progress_bytes=1_000_000, status="running", worker_host=jobs.Worker.this().host,
                        worker_pid=jobs.Worker.this().pid)  # fmt: skip
        queued = ImportJob(staff_id=staff_id(db_engine, "raipur"), file_name="next.csv", size_bytes=10,
                           worker_host=jobs.Worker.this().host, worker_pid=jobs.Worker.this().pid)  # fmt: skip
        session.add_all([job, queued])
        session.flush()
        path, queued_path = f"/staff/imports/{job.id}", f"/staff/imports/{queued.id}"
    raipur = staff_client(app, "raipur")
    page = raipur.get(path).text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert '<progress id="progress" max="100" value="25">' in page and "10,00,000 of 40,00,000 bytes" in page
    assert f'data-progress-url="{path}/status.json"' in page
    assert raipur.get(f"{path}/rejects.csv").status_code == 404  # none yet
    state = raipur.get(f"{queued_path}/status.json").json()
    assert (state["status"], state["label"]) == ("queued", "Waiting for another import to finish")
    assert "Waiting for another import to finish" in raipur.get(queued_path).text
    with session_scope(db_engine) as session:  # let them go: nothing runs them in this test
        jobs.interrupt(session, [job.id, queued.id], now=utcnow())


def test_history_pages_show_the_newest_first(app, officers, db_engine):
    with session_scope(db_engine) as session:
        for number in range(30):
            session.add(ImportJob(staff_id=staff_id(db_engine, "raipur"), file_name=f"file-{number:02d}.csv",
                                  status="done", size_bytes=1))  # fmt: skip
    raipur = staff_client(app, "raipur")
    first = raipur.get("/staff/imports").text
    assert "30 imports by you · page 1 of 2" in first and "file-29.csv" in first and "file-04.csv" not in first
    second = raipur.get("/staff/imports?page=2").text
    assert "file-04.csv" in second and "file-05.csv" not in second
    assert "Allow rollback" not in first and "Allow rollback" in staff_client(app, "boss").get("/staff/imports").text


def test_old_upload_folders_left_by_a_crash_are_swept(app, officers, uploads):
    left = uploads / "helpdesk-import-left"
    left.mkdir()
    (left / "report.csv").write_bytes(b"names and phones")
    recent = uploads / "helpdesk-import-recent"
    recent.mkdir()
    os.utime(left, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    raipur = staff_client(app, "raipur")
    finished(raipur, upload(raipur, report_csv(RAIPUR_ROWS)).headers["location"])
    assert sorted(path.name for path in uploads.iterdir()) == ["helpdesk-import-recent"]


def test_the_upload_limit_is_a_setting(db_engine, officers, uploads):
    app = create_app(settings=Settings(_env_file=None, staff_session_secret=SECRET, import_upload_dir=uploads),
                     db=db_engine)  # fmt: skip
    page = staff_client(app, "raipur").get("/staff/imports").text
    assert "up to 200 MB" in page and f'data-upload-limit="{200 * 2**20}"' in page
