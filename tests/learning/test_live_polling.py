"""`helpdesk telegram --polling` picks up knowledge added in the database while it runs, as `serve` does."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.channels.fake_bot_api import FakeBotApi, ServerThread
from tests.learning.test_live_serve import ANSWER_EN, ANSWER_HI, helpdesk
from tests.web.serving import HELPDESK, TOKEN, environment


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with ServerThread(FakeBotApi(token=TOKEN)) as api:
        yield api


def test_polling_swaps_in_a_new_entry(db_engine: Engine, bot_api: FakeBotApi, tmp_path: Path) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    env = environment(url, bot_api_url=bot_api.api_base_url, KNOWLEDGE_POLL_SECONDS="1", LOG_LEVEL="INFO",
                      TWILIO_ACCOUNT_SID="")  # fmt: skip
    process = subprocess.Popen([HELPDESK, "telegram", "--polling"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        time.sleep(3)
        assert process.poll() is None, process.communicate()[0]
        examples = ["--example", "dark mode kaise chalu karu", "--example", "how to turn on dark mode"]
        answers = ["--en", ANSWER_EN, "--hi", ANSWER_HI, "--title-hi", "डार्क मोड"]
        helpdesk(env, tmp_path, "faq", "add", "support.dark_mode", *answers, *examples)
        time.sleep(5)  # a poll (1 s) and a rebuild (about 1 s), with room for a busy machine
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert "knowledge version (1, 0) in use" in output, output[-3000:]
