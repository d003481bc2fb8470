"""`helpdesk serve` as an operator runs it: a real server process, signed webhooks, health and metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from bot.config import PROJECT_ROOT

TOKEN = "operator-test-token"
PUBLIC = "https://helpdesk.example.gov.in"
SCRAPE_TOKEN = "prometheus-scrape-token"
HELPDESK = str(Path(sys.executable).with_name("helpdesk"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(environment: dict[str, str], cwd: Path, *options: str) -> tuple[str, subprocess.Popen]:
    """`helpdesk serve` with these options (one of them `--port`), once its /healthz answers."""
    port = options[options.index("--port") + 1]
    process = subprocess.Popen([HELPDESK, "serve", *options], env=environment, cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base, process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(process.stdout.read().decode())


@pytest.fixture
def server(tmp_path):
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/helpdesk.db",
        "CONTENT_DIR": str(PROJECT_ROOT),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": PUBLIC,
        "TELEGRAM_WEBHOOK_SECRET": "the-right-secret",
        "TELEGRAM_BOT_TOKEN": "",
        "TWILIO_ACCOUNT_SID": "",
        "METRICS_TOKEN": SCRAPE_TOKEN,
    }
    base, process = serve(environment, tmp_path, "--port", str(port))
    yield base, process
    if process.poll() is None:
        process.kill()
    process.wait()
    process.stdout.close()


def signed_post(base: str, params: dict[str, str], *, signature: str | None = None) -> httpx.Response:
    signature = signature or RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/twilio/whatsapp", params)
    return httpx.post(f"{base}/twilio/whatsapp", data=params, headers={"X-Twilio-Signature": signature})


def test_signed_whatsapp_gets_hindi_twiml_once_and_bad_requests_are_refused(server):
    base, _ = server
    params = {"MessageSid": "SM" + "1" * 32, "From": "whatsapp:+919876500001", "To": "whatsapp:+14155238886",
              "Body": "certificate kaise milega", "NumMedia": "0"}  # fmt: skip
    first = signed_post(base, params)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/xml")
    assert "सर्टिफिकेट डाउनलोड" in first.text and "<Message>" in first.text
    again = signed_post(base, params)  # Twilio's retry: the same response, nothing handled twice
    assert again.status_code == 200 and again.text == first.text
    assert signed_post(base, {**params, "MessageSid": "SM" + "2" * 32}, signature="forged").status_code == 403
    wrong_secret = httpx.post(f"{base}/telegram/webhook", json={"update_id": 1},
                              headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})  # fmt: skip
    assert wrong_secret.status_code == 403
    assert httpx.post(f"{base}/telegram/webhook", json={"update_id": 1}).status_code == 403

    assert httpx.get(f"{base}/metrics").status_code == 401  # not on the webhook port for anyone
    metrics = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"}).text
    assert 'helpdesk_outcomes_total{channel="whatsapp",outcome="answered"} 1.0' in metrics
    assert 'helpdesk_outcomes_total{channel="whatsapp",outcome="duplicate"} 1.0' in metrics
    assert 'helpdesk_messages_in_total{channel="whatsapp",lang="hi"} 1.0' in metrics
    assert "helpdesk_handle_seconds_bucket" in metrics
    assert 'helpdesk_webhooks_rejected_total{path="/twilio/whatsapp",status="403"} 1.0' in metrics
    assert 'helpdesk_webhooks_rejected_total{path="/telegram/webhook",status="403"} 2.0' in metrics
    assert "helpdesk_tickets_open 0.0" in metrics and "helpdesk_tickets_overdue 0.0" in metrics


def test_health_and_a_clean_stop_on_sigterm(server):
    base, process = server
    assert httpx.get(f"{base}/healthz").json() == {"database": "ok"}  # no channel configured here
    assert httpx.get(f"{base}/staff/", follow_redirects=False).status_code in (302, 303, 307)
    process.send_signal(signal.SIGTERM)
    # uvicorn finishes in-flight requests, runs the shutdown, then re-raises the signal it caught.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    logged = process.stdout.read().decode()
    assert "9876500001" not in logged and "certificate kaise" not in logged
