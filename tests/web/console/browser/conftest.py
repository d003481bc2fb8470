"""The console's browser tests' fixtures: Debian's Chromium driven by Playwright, the web app served by
uvicorn on a free port, and its own migrated SQLite database."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy.engine import Engine

from bot import db
from bot.brain import Brain
from bot.config import PROJECT_ROOT, Settings
from bot.dialogue import Engine as DialogueEngine
from bot.records.importer import import_report
from bot.web.app import create_app
from tests.web.console.browser.pages import CHROMIUM, CHROMIUM_ARGS
from tests.web.console.nodal import STATE_REPORT


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium: a skip without it, but a failure under CI, which installs it."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots are kept after the run (ignored by git)."""
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR") or PROJECT_ROOT / "test-artifacts") / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a temporary folder."""
    url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    db.upgrade(url)
    engine = db.create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def state_report(database: Engine, tmp_path: Path) -> None:
    """The sample state report (Raipur and Lucknow) imported, as a nodal officer's upload would."""
    path = tmp_path / "state.csv"
    path.write_bytes(STATE_REPORT)
    import_report(database, path)


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, default_language="hi", staff_session_secret="a-browser-test-secret")


@pytest.fixture
def dialogue(brain: Brain, database: Engine, settings: Settings) -> DialogueEngine:
    return DialogueEngine(brain=brain, db=database, settings=settings)


@pytest.fixture
def server(database: Engine, settings: Settings) -> Iterator[str]:
    """The web app served by uvicorn in a background thread on a free localhost port; its base URL."""
    # Binding the socket here (port 0: the system picks a free one) leaves no race for the port.
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    config = uvicorn.Config(create_app(settings=settings, db=database), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    listening.close()


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
