"""The nodal officers' pages in a real headless browser (Debian's Chromium, Playwright) at phone size
(412×900) and desktop size (1366×900): the completion dashboard, its drill-down, an upload and an
import's progress. Screenshots go to test-artifacts/console/ (or TEST_ARTIFACTS_DIR)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from bot.config import Settings
from bot.db import session_scope
from bot.models import ImportJob, utcnow
from bot.records import jobs
from bot.tickets.staff import add_staff
from tests.records.reports import row
from tests.web.console.browser.pages import PASSWORD, PHONE, SIZES, fits_the_screen, log_in, open_page, shot
from tests.web.console.nodal import LUCKNOW_ROWS, RAIPUR_ROWS, STATE_REPORT, report_csv, without_lucknow

LIMIT_MB = 2


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    return Settings(_env_file=None, default_language="hi", staff_session_secret="a-browser-test-secret",
                    import_upload_dir=uploads, import_max_upload_mb=LIMIT_MB)  # fmt: skip


@pytest.fixture
def officers(database) -> None:
    with session_scope(database) as session:
        add_staff(session, name="boss", password=PASSWORD, role="admin")
        add_staff(session, name="raipur1", password=PASSWORD, role="nodal", districts=["Raipur"])


@pytest.mark.parametrize("size", SIZES)
def test_the_dashboard_and_its_drill_down(browser, server, officers, state_report, artifacts, size):
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server, "raipur1")
    expect(page.get_by_role("heading", name="Completion of mandatory courses")).to_be_visible()
    expect(page.get_by_role("link", name="Completion")).to_have_attribute("aria-current", "page")
    bars = page.locator("svg.bar")
    expect(bars).to_have_count(2)  # all of the scope, and Raipur
    expect(bars.nth(1)).to_have_attribute("aria-label", "50% completed: 2 of 4 mandatory enrolments; 1 overdue")
    box = bars.nth(1).bounding_box()
    assert box["width"] > SIZES[size]["width"] * 0.6 or box["width"] > 600  # the bar spans the column
    done = bars.nth(1).locator("rect.done").bounding_box()
    assert abs(done["width"] - box["width"] / 2) < 2  # half of it completed
    expect(page.locator(".totals")).to_contain_text("50% completed")
    assert without_lucknow(page.content())
    assert fits_the_screen(page), f"the dashboard is wider than the {size} screen"
    shot(page, artifacts, "completion")

    page.get_by_role("link", name="Course", exact=True).click()
    expect(page.locator("table.figures tbody tr")).to_have_count(2)
    expect(page.locator("table.figures")).not_to_contain_text("Course L only")
    page.get_by_role("link", name="Course B", exact=True).click()
    expect(page.get_by_role("heading", name="Pending mandatory courses")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Course: Course B")
    person = page.locator(".people > li")
    expect(person).to_have_count(1)
    expect(person).to_contain_text("Asha Sahu")
    expect(person).to_contain_text("+91******0001")
    expect(person.locator(".badge.overdue")).to_have_text("OVERDUE")
    assert fits_the_screen(page), f"the drill-down is wider than the {size} screen"
    shot(page, artifacts, "pending")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the whole list (CSV)").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Asha Sahu" in exported and without_lucknow(exported)
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_an_upload_and_its_result(browser, server, database, officers, artifacts, size, tmp_path):
    more = [row(f"Employee {number}", f"9{number:09d}", external_id=f"E{number}", district="Raipur")
            for number in range(3000)]  # fmt: skip
    report = tmp_path / "state-nov.csv"
    report.write_bytes(report_csv(RAIPUR_ROWS + LUCKNOW_ROWS + more))
    problems: list[str] = []
    page = open_page(browser, SIZES[size], problems)
    log_in(page, server, "raipur1")
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Import an iGOT report")).to_be_visible()
    expect(page.get_by_text("Allow rollback")).to_have_count(0)  # an administrator's decision
    page.get_by_label(f"Enrolment report (CSV, up to {LIMIT_MB} MB)").set_input_files(report)
    page.get_by_role("button", name="Upload and import").click()
    expect(page).to_have_url(re.compile(r"/staff/imports/\d+$"))
    expect(page.locator(".job-status")).to_contain_text("Done", timeout=60_000)  # followed without reloading by hand
    counts = page.locator("table.counts")
    expect(counts.get_by_role("row", name="Rows read 3,007")).to_be_visible()
    expect(counts.get_by_role("row", name="Rejected 3 (3 outside district raipur)")).to_be_visible()
    assert fits_the_screen(page), f"the import page is wider than the {size} screen"
    shot(page, artifacts, "import-done")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the rejected rows")).click()
    assert "District 'Lucknow'" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    page.get_by_role("link", name="All imports").click()
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    expect(page.locator("table.history")).to_contain_text("state-nov.csv")
    shot(page, artifacts, "imports")
    assert problems == []


@pytest.mark.parametrize("script", ["with JavaScript", "without JavaScript"])
def test_the_import_page_follows_an_import_to_its_end(browser, server, database, officers, artifacts, script):
    """A running import (its worker this process) seen in the browser: the bar moves as the database says,
    by the page's polling or, without JavaScript, by its refreshing itself; at the end, the counts."""
    with session_scope(database) as session:
        job = ImportJob(staff_id=1, file_name="state-nov.csv", size_bytes=48_000_000, progress_bytes=12_000_000,
                        status="running", started_at=utcnow(), worker_host=jobs.Worker.this().host,
                        worker_pid=jobs.Worker.this().pid, scope="all districts and departments")  # fmt: skip
        session.add(job)
        session.flush()
        job_id = job.id
    problems: list[str] = []
    page = open_page(browser, PHONE, problems, java_script_enabled=script == "with JavaScript")
    log_in(page, server, "boss")
    page.goto(f"{server}/staff/imports/{job_id}")
    expect(page.locator("progress#progress")).to_have_attribute("value", "25")
    expect(page.locator(".progress-text")).to_contain_text("25% · 1,20,00,000 of 4,80,00,000 bytes")
    if script == "with JavaScript":
        for size in SIZES.values():
            page.set_viewport_size(size)
            assert fits_the_screen(page)
            shot(page, artifacts, "import-progress")

    def set_job(**values) -> None:
        with session_scope(database) as session:
            session.exec(update(ImportJob).where(ImportJob.id == job_id).values(heartbeat_at=utcnow(), **values))

    set_job(progress_bytes=36_000_000)
    expect(page.locator("progress#progress")).to_have_attribute("value", "75", timeout=10_000)
    set_job(status="done", progress_bytes=48_000_000, finished_at=utcnow(), rows_read=250_000, inserted=249_990,
            rejected=10)  # fmt: skip
    expect(page.locator(".job-status")).to_contain_text("Done", timeout=10_000)
    expect(page.locator("table.counts").get_by_role("row", name="Rows read 2,50,000")).to_be_visible()
    expect(page.locator("progress#progress")).to_have_count(0)
    assert problems == []


def test_a_file_over_the_limit_is_stopped_in_the_browser_or_by_the_server(browser, server, officers, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(STATE_REPORT + b"x" * (LIMIT_MB * 2**20))
    for script in (True, False):
        problems: list[str] = []
        page = open_page(browser, PHONE, problems, java_script_enabled=script)
        log_in(page, server, "raipur1")
        page.goto(f"{server}/staff/imports")
        page.get_by_label(f"Enrolment report (CSV, up to {LIMIT_MB} MB)").set_input_files(big)
        page.get_by_role("button", name="Upload and import").click()
        expect(page.get_by_role("alert")).to_contain_text(f"larger than the limit of {LIMIT_MB} MB")
        page.context.close()
