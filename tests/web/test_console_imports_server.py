"""Imports and reports as a state deploys them: real `helpdesk serve` processes, real HTTP, a real crash.

- An administrator uploads a state report (streamed: the server writes the file while it arrives);
  the Raipur officer then sees Raipur only, and the figures `helpdesk report completion` prints.
- A server killed in the middle of an import: after the restart the import shows as interrupted, and
  uploading the file again finishes the job.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from babel.numbers import format_decimal
from sqlalchemy import func, select

from bot import db
from bot.config import PROJECT_ROOT
from bot.models import Enrolment
from tests.records.reports import row
from tests.web.console.nodal import LUCKNOW_ROWS, RAIPUR_FIGURES, RAIPUR_ROWS, report_csv, without_lucknow
from tests.web.test_console_server import helpdesk
from tests.web.test_server import free_port, serve

PASSWORD = "correct horse battery"
BOUNDARY = "helpdesk-test-boundary"
CHUNK = 64 * 1024


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/helpdesk.db",
        "CONTENT_DIR": str(PROJECT_ROOT),
        "STAFF_SESSION_SECRET": "a-long-random-secret-for-the-test",
        "IMPORT_UPLOAD_DIR": str(uploads),
        "TELEGRAM_BOT_TOKEN": "",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
    }
    helpdesk(environment, "staff", "add", "boss", "--role", "admin", stdin=f"{PASSWORD}\n")
    helpdesk(environment, "staff", "add", "raipur1", "--role", "nodal", "--district", "Raipur", stdin=f"{PASSWORD}\n")
    return environment


class Server:
    """`helpdesk serve` with these options, stopped (or killed) at the end."""

    def __init__(self, environment: dict[str, str], cwd: Path, *options: str):
        self.base, self.process = serve(environment, cwd, "--port", str(free_port()), *options)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=60)
        self.process.stdout.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    running: list[Server] = []
    yield running
    for server in running:
        server.stop()


def logged_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/login").text).group(1)
    response = client.post("/staff/login", data={"csrf_token": token, "name": name, "password": PASSWORD})
    assert response.status_code == 303, response.text
    return client


def streamed_upload(client: httpx.Client, content: bytes, name: str, *, midway=None) -> httpx.Response:
    """The upload form's body sent in chunks as it is produced (no Content-Length: chunked), the token
    first; `midway()` runs when half the file has gone."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/staff/imports").text).group(1)

    def body() -> Iterator[bytes]:
        yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
               f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="report"; filename="{name}"\r\n'
               "Content-Type: text/csv\r\n\r\n").encode()  # fmt: skip
        for start in range(0, len(content), CHUNK):
            if midway and start >= len(content) // 2 > start - CHUNK:
                midway()
            yield content[start : start + CHUNK]
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return client.post("/staff/imports", content=body(), headers=headers)


def wait_for(client: httpx.Client, job: str, done, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(f"{job}/status.json").json()
        if done(state):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.2)


def state_report(people: int) -> bytes:
    """The Raipur and Lucknow rows, and `people` more employees of either district, two courses each."""
    more = [row(f"Employee {number}", f"9{number:09d}", external_id=f"E{number}", course=course, content_id=course,
                district=("Raipur", "Lucknow")[number % 2], status="In Progress", progress=str(number % 100))
            for number in range(people) for course in ("do_a", "do_b")]  # fmt: skip
    return report_csv(RAIPUR_ROWS + LUCKNOW_ROWS + more)


def written_while_arriving(uploads: Path, least: int) -> None:
    """The server has written `least` bytes of the file before the upload ended: it streams to disk."""
    deadline = time.monotonic() + 30
    while True:
        sizes = [path.stat().st_size for path in uploads.glob("helpdesk-import-*/report.csv")]
        if sizes and max(sizes) >= least:
            return
        assert time.monotonic() < deadline, f"the upload was not written as it arrived: {sizes}"
        time.sleep(0.05)


def test_the_raipur_officer_sees_what_the_command_line_counts_and_nothing_of_lucknow(environment, servers, tmp_path):
    servers.append(Server(environment, tmp_path, "--workers", "2"))
    base = servers[0].base
    content = state_report(people=6000)  # a couple of megabytes
    boss = logged_in(base, "boss")
    uploads = Path(environment["IMPORT_UPLOAD_DIR"])
    response = streamed_upload(boss, content, "state-nov.csv",
                               midway=lambda: written_while_arriving(uploads, len(content) // 4))  # fmt: skip
    assert response.status_code == 303, response.text
    job = response.headers["location"]
    state = wait_for(boss, job, lambda state: not state["active"])  # whichever worker answers
    assert (state["status"], state["rows_read"], state["rejected"]) == ("done", 12_007, 0)
    assert list(uploads.iterdir()) == []

    raipur = logged_in(base, "raipur1")
    exported = raipur.get("/staff/reports/completion.csv").text.removeprefix("\ufeff").splitlines()
    assert exported[0] == "group,employees,mandatory_total,mandatory_completed,completion_rate,overdue"
    assert len(exported) == 2 and exported[1].startswith("Raipur,")
    cli = json.loads(helpdesk(environment, "report", "completion", "--by", "district", "--json").stdout)
    [cli_raipur] = [group for group in cli if group["group"] == "Raipur"]
    assert exported[1] == ",".join(str(value) for value in cli_raipur.values())
    assert cli_raipur["employees"] == RAIPUR_FIGURES["employees"] + 3000
    page = raipur.get("/staff/reports?by=district").text
    cells = re.findall(r'<td data-label="[^"]+">(?:<a [^>]+>)?([^<]+)', page)
    rate = f"{cli_raipur['completion_rate'] * 100:.1f}".removesuffix(".0") + "%"
    indian = lambda count: format_decimal(count, locale="en_IN")  # noqa: E731  (12,34,567)
    assert cells[:6] == ["Raipur", indian(cli_raipur["employees"]), indian(cli_raipur["mandatory_total"]),
                         indian(cli_raipur["mandatory_completed"]), rate, indian(cli_raipur["overdue"])]  # fmt: skip
    for path in ("/staff/reports?by=district", "/staff/reports?by=course", "/staff/reports/pending",
                 "/staff/imports", "/staff/reports/completion.csv?district=Lucknow"):  # fmt: skip
        assert without_lucknow(raipur.get(path).text), path
    assert raipur.get(job).status_code == 404  # the administrator's import is not theirs
    for client in (boss, raipur):
        client.close()


def test_a_server_killed_mid_import_shows_it_interrupted_and_a_new_upload_finishes(environment, servers, tmp_path):
    servers.append(Server(environment, tmp_path))
    content = state_report(people=60_000)  # 120,007 rows: six batches
    boss = logged_in(servers[0].base, "boss")
    response = streamed_upload(boss, content, "big.csv")
    job = response.headers["location"]
    running = wait_for(boss, job, lambda state: state["status"] == "running" and state["progress_bytes"] > 0)
    assert 0 < running["percent"] < 100
    servers[0].stop(signal.SIGKILL)  # the worker dies mid-import, without a word
    boss.close()

    servers.append(Server(environment, tmp_path))
    boss = logged_in(servers[1].base, "boss")
    state = boss.get(f"{job}/status.json").json()
    assert (state["status"], state["active"]) == ("interrupted", False)
    assert "upload the same file again" in boss.get(job).text
    assert ">Interrupted<" in boss.get("/staff/imports").text

    again = streamed_upload(boss, content, "big.csv").headers["location"]
    state = wait_for(boss, again, lambda state: not state["active"])
    assert (state["status"], state["rows_read"], state["rejected"]) == ("done", 120_007, 0)
    assert state["unchanged"] > 0 and state["inserted"] + state["unchanged"] == 120_007  # nothing twice
    engine = db.create_db_engine(environment["DATABASE_URL"])
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Enrolment)).scalar_one() == 120_007
    engine.dispose()
    boss.close()
