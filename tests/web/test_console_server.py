"""The console's security as an operator deploys it: `helpdesk serve --workers 2` behind an https
PUBLIC_BASE_URL (a proxy forwarding the client's address), real processes, real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import time
from http.cookies import SimpleCookie

import httpx
import pytest

from bot.config import PROJECT_ROOT
from tests.web.test_server import HELPDESK, free_port, serve

PUBLIC = "https://helpdesk.example.gov.in"
PASSWORD = "correct horse battery"


def helpdesk(environment: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([HELPDESK, *args], input=stdin, capture_output=True, text=True, env=environment,
                          timeout=120, check=True)  # fmt: skip


@pytest.fixture
def served(tmp_path):
    """Two workers on one SQLite database, with desk1 and desk2; the base URL and the environment."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/helpdesk.db",
        "CONTENT_DIR": str(PROJECT_ROOT),
        "PUBLIC_BASE_URL": PUBLIC,
        "STAFF_SESSION_SECRET": "a-long-random-secret-for-the-test",
        "TELEGRAM_BOT_TOKEN": "",
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
    }
    for name in ("desk1", "desk2"):
        helpdesk(environment, "staff", "add", name, stdin=f"{PASSWORD}\n")
    base, process = serve(environment, tmp_path, "--port", str(port), "--workers", "2")
    yield base, environment
    process.terminate()
    process.wait(timeout=30)
    process.stdout.close()


class Browser:
    """A browser behind the https proxy: it keeps the cookie itself (httpx would not send a Secure
    cookie over the plain-http hop from the proxy) and comes from its own forwarded address."""

    def __init__(self, base: str, address: str):
        self.base, self.address, self.cookie = base, address, ""
        self.last_set_cookie = ""

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "https"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        response = httpx.request(method, f"{self.base}{path}", headers=headers, follow_redirects=False, **kwargs)
        if "set-cookie" in response.headers:
            self.last_set_cookie = response.headers["set-cookie"]
            morsel = SimpleCookie(self.last_set_cookie)["helpdesk_staff"]
            self.cookie = f"helpdesk_staff={morsel.value}" if morsel.value else ""
        return response

    def token(self, path: str = "/staff/login") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.request("GET", path).text).group(1)

    def log_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        return self.request(
            "POST", "/staff/login", data={"csrf_token": self.token(), "name": name, "password": password}
        )


def test_behind_https_the_cookie_is_secure_and_a_copy_dies_at_logout(served):
    base, _ = served
    desk1 = Browser(base, "10.0.0.5")
    response = desk1.log_in("desk1")
    assert response.status_code == 303
    flags = {flag.strip().lower() for flag in desk1.last_set_cookie.split(";")}
    assert {"secure", "httponly", "samesite=strict"} <= flags
    assert response.headers["strict-transport-security"] == "max-age=31536000"

    thief = Browser(base, "203.0.113.66")
    thief.cookie = desk1.cookie
    assert thief.request("GET", "/staff/").status_code == 200  # while desk1 is logged in, a copy works
    assert desk1.request("POST", "/staff/logout", data={"csrf_token": desk1.token("/staff/")}).status_code == 303
    for _ in range(4):  # whichever worker answers
        response = thief.request("GET", "/staff/")
        assert (response.status_code, response.headers["location"]) == (303, "/staff/login")


def test_the_throttle_holds_across_workers_and_strangers_lock_nobody_out(served):
    base, _ = served
    guesser = Browser(base, "203.0.113.66")
    waits = []
    for _ in range(40):  # guess, and when told to wait, wait: the waits double whichever worker answers
        response = guesser.log_in("desk2", "wrong password!")
        if response.status_code == 429:
            waits.append(int(response.headers["retry-after"]))
            if waits[-1] > 8:  # what is left of a wait of 16 s: room for the tries below
                break
            time.sleep(waits[-1])
        else:
            assert response.status_code == 401
    assert waits[-1] > 8  # the waits grew: every worker counted the same failures
    for _ in range(6):  # fresh connections, spread over both workers: every one must wait, right password or not
        refused = guesser.log_in("desk2", PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert Browser(base, "10.0.0.6").log_in("desk2").status_code == 303  # desk2's own office is not locked out


def test_a_disabled_account_is_out_at_once_everywhere(served):
    base, environment = served
    desk2 = Browser(base, "10.0.0.6")
    assert desk2.log_in("desk2").status_code == 303
    assert desk2.request("GET", "/staff/").status_code == 200
    disabled = helpdesk(environment, "staff", "disable", "desk2")
    assert "'desk2' disabled; 1 console session ended" in disabled.stdout
    for _ in range(4):
        assert desk2.request("GET", "/staff/").status_code == 303
    assert Browser(base, "10.0.0.6").log_in("desk2").status_code == 401
