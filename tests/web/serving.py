"""`helpdesk serve` as a real process, pointed at the fake Bot API and the fake Twilio of tests/channels."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT

HELPDESK = str(Path(sys.executable).with_name("helpdesk"))
TOKEN = "123456:TEST-token-for-the-fake-api"
SECRET = "s3cret_webhook-token"
TWILIO_ACCOUNT = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "operator-test-token"
PUBLIC = "https://helpdesk.example.gov.in"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, *, bot_api_url: str = "", twilio_url: str = "", **extra: str) -> dict[str, str]:
    """Settings for a server with Telegram and WhatsApp on, both at the fakes."""
    inherited = {key: value for key, value in os.environ.items() if key != "TELEGRAM_STAFF_CHAT_ID"}
    return {
        **inherited,
        "DATABASE_URL": database_url,
        "CONTENT_DIR": str(PROJECT_ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": bot_api_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
        "TWILIO_API_BASE_URL": twilio_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "STAFF_SESSION_SECRET": "a-test-session-secret",
        **extra,
    }


class Server:
    """`helpdesk serve --workers N` on a free port; stopped (and its workers with it) on exit."""

    def __init__(self, env: dict[str, str], *, workers: int, cwd: Path, command: list[str] | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*(command or [HELPDESK]), "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self._output: str | None = None

    def wait_ready(self, timeout: float = 90.0) -> httpx.Response:
        """The first 200 from /healthz (a guard against hanging, not a measurement)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}: {self.output()}")
            try:
                response = httpx.get(f"{self.base}/healthz", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve did not come up: {self.output()}")

    def workers(self) -> list[int]:
        """The uvicorn worker processes (children of the server process)."""
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    children.append(int(entry.name))
        return [pid for pid in children if _is_worker(pid)]

    def output(self) -> str:
        """What the server printed, once it has exited (its pipe is then read and closed)."""
        if self.process.poll() is None:
            return "(still running)"
        if self._output is None and self.process.stdout is not None:
            with self.process.stdout:
                self._output = self.process.stdout.read().decode(errors="replace")
        return self._output or ""

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.output()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _is_worker(pid: int) -> bool:
    """A process multiprocessing spawned to run a worker (not its resource tracker)."""
    try:
        return "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def eventually(condition: Callable[[], bool], *, timeout: float = 60.0, what: str = "condition") -> None:
    """Wait for a condition of a background process (a guard against hanging, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:g} s")
        time.sleep(0.1)
