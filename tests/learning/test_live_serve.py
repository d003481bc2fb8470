"""As a helpdesk officer would: users ask what the bot does not know, `helpdesk gaps` shows it as one
cluster, `helpdesk faq add --from-gap` answers it, and two real `serve` workers answer with it without
a restart."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from twilio.request_validator import RequestValidator

from tests.web.serving import HELPDESK, PUBLIC, TWILIO_TOKEN, Server, environment

ANSWER_HI = "डार्क मोड: ऐप में अपनी प्रोफ़ाइल फ़ोटो पर टैप करें, फिर Settings > Theme > Dark चुनें।"
ANSWER_EN = "Dark mode: in the app, tap your profile photo, then Settings > Theme > Dark."
_users = itertools.count(1)


def whatsapp(base: str, text: str) -> str:
    """The TwiML the server answers a new user's WhatsApp message with."""
    number = next(_users)
    params = {"MessageSid": f"SM{number:032d}", "From": f"whatsapp:+9198765{number:05d}",
              "To": "whatsapp:+14155238886", "Body": text, "NumMedia": "0"}  # fmt: skip
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/twilio/whatsapp", params)
    response = httpx.post(f"{base}/twilio/whatsapp", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    return response.text


def helpdesk(env: dict[str, str], cwd: Path, *args: str) -> str:
    return subprocess.run(
        [HELPDESK, *args], env=env, cwd=cwd, check=True, capture_output=True, text=True, timeout=120
    ).stdout


def test_an_officer_answers_a_gap_and_two_workers_answer_it_within_seconds(db_engine: Engine, tmp_path: Path) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    env = environment(url, TELEGRAM_BOT_TOKEN="", KNOWLEDGE_POLL_SECONDS="1", LOG_LEVEL="INFO")
    with Server(env, workers=2, cwd=tmp_path) as server:
        server.wait_ready()
        assert len(server.workers()) == 2
        for question in ("dark mode kaise lagaye", "how to turn on dark mode", "डार्क मोड कैसे चालू करें",
                         "drak mode chahiye"):  # fmt: skip
            assert "Theme" not in whatsapp(server.base, question)
        [gap] = json.loads(helpdesk(env, tmp_path, "gaps", "--json"))
        assert gap["count"] == 4 and not gap["answered"]
        helpdesk(env, tmp_path, "faq", "add", "support.dark_mode", "--from-gap", str(gap["id"]),
                 "--en", ANSWER_EN, "--hi", ANSWER_HI, "--example", "dark mode kaise chalu karu")  # fmt: skip
        added = time.monotonic()
        # Every answer from now on, from whichever worker takes the connection, must be the new one:
        # wait for the first, then ask twenty more times on fresh connections.
        while "Settings &gt; Theme &gt; Dark" not in whatsapp(server.base, "dark mode kaise chalu karu"):
            assert time.monotonic() - added < 30, "the new entry was not answered within 30 s"
            time.sleep(0.2)
        time.sleep(1.5)  # one more poll interval: the other worker has swapped by now too
        for _ in range(20):
            assert "Settings &gt; Theme &gt; Dark चुनें" in whatsapp(server.base, "dark mode kaise chalu karu")
        assert "Settings &gt; Theme &gt; Dark." in whatsapp(server.base, "how do I turn on dark mode")
        assert json.loads(helpdesk(env, tmp_path, "ask", "--json", "dark mode kaise chalu karu"))["match"] == (
            "support.dark_mode"
        )
        [gap] = json.loads(helpdesk(env, tmp_path, "gaps", "--json"))
        assert gap["answered"]
        output = server.stop()
    # Each worker rebuilt its matcher once at start and once for the change, and no worker restarted.
    assert output.count("knowledge version (1, 0) in use") == 2, output[-3000:]
    assert output.count("knowledge version (0, 0) in use") == 2
