"""The `helpdesk` command as a newcomer or an operator runs it (real subprocesses, temp database)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT

HELPDESK = str(Path(sys.executable).with_name("helpdesk"))


def run(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None):
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/helpdesk.db",
        "CONTENT_DIR": str(PROJECT_ROOT),
        **(env or {}),
    }
    return subprocess.run(
        [HELPDESK, *args], input=stdin, capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=120
    )


def test_ask_json_follows_the_contract(tmp_path):
    result = run(tmp_path, "ask", "--json", "otp nahi aa raha", "recipe for paneer")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {**first, "text": "otp nahi aa raha", "lang": "hi-Latn", "match": "registration.otp_not_received"}
    assert set(first) == {"text", "lang", "match", "score", "alternatives"}
    assert 0 <= first["score"] <= 1 and isinstance(first["alternatives"], list)
    assert second["match"] is None and second["lang"] == "en"


def test_ask_reads_stdin(tmp_path):
    result = run(tmp_path, "ask", "--json", "-", stdin="पासवर्ड भूल गया\nmera status\n")
    matches = [json.loads(line)["match"] for line in result.stdout.splitlines()]
    assert matches == ["registration.forgot_password", "my_status"]


def test_chat_from_a_pipe_answers_each_line_in_its_language(tmp_path):
    result = run(tmp_path, "chat", stdin="otp nahi aa raha\nhow do I download my certificate\n")
    assert result.returncode == 0, result.stderr
    hindi, english = result.stdout.split("> how do I download my certificate")
    assert "ओटीपी" in hindi and "क्या इससे मदद मिली?" in hindi
    assert "View Certificate" in english and "Did this help?" in english


def test_chat_with_a_fixed_language(tmp_path):
    result = run(tmp_path, "chat", "--lang", "en", stdin="पासवर्ड भूल गया\n")
    assert "Forgot password" in result.stdout and "Did this help?" in result.stdout


def test_eval_reports_overall_per_language_and_out_of_scope(tmp_path):
    labelled = tmp_path / "few.jsonl"
    labelled.write_text(
        "\n".join(
            json.dumps(line, ensure_ascii=False)
            for line in [
                {"text": "otp nahi aa raha", "lang": "hi-Latn", "expect": "registration.otp_not_received"},
                {"text": "reset password", "lang": "en", "expect": "registration.forgot_password"},
                {"text": "पासवर्ड भूल गया", "lang": "hi", "expect": "course.enrol"},
                {"text": "recipe for paneer", "lang": "en", "expect": None},
            ]
        ),
        encoding="utf-8",
    )
    result = run(tmp_path, "eval", str(labelled))
    assert result.returncode == 0, result.stderr
    assert "overall: 75.0%" in result.stdout
    assert "hi: 0.0% (0/1)" in result.stdout and "en: 100.0% (2/2)" in result.stdout
    assert "out-of-scope abstained: 100.0% (1/1)" in result.stdout
    assert "miss [hi] 'पासवर्ड भूल गया': expected course.enrol, got registration.forgot_password" in result.stdout


def test_eval_names_a_broken_line(tmp_path):
    labelled = tmp_path / "broken.jsonl"
    labelled.write_text('{"text": "ok", "lang": "en", "expect": null}\n{"text": \n', encoding="utf-8")
    result = run(tmp_path, "eval", str(labelled))
    assert result.returncode == 2 and "broken.jsonl:2: not a labelled query" in result.stderr


def test_seed_once(tmp_path):
    first = run(tmp_path, "seed", "--employees", "60")
    assert first.returncode == 0, first.stderr
    assert "seeded 60 employees" in first.stdout
    assert "nothing seeded" in run(tmp_path, "seed").stdout


def test_broken_content_stops_start_up_with_file_line_entry_and_field(tmp_path):
    content = tmp_path / "content"
    for folder in ("faq", "intents", "locales"):
        shutil.copytree(PROJECT_ROOT / folder, content / folder)
    path = content / "faq" / "certificates.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  answer:\n    en:", "  answer:\n    xx:", 1), encoding="utf-8")
    result = run(tmp_path, "ask", "hello", env={"CONTENT_DIR": str(content)})
    assert result.returncode == 2
    assert "certificates.yaml:" in result.stderr and "field 'answer.en': is missing or empty" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["chat", "--lang", "fr"], ["seed", "--employees", "0"]])
def test_bad_options_are_refused_clearly(tmp_path, args):
    result = run(tmp_path, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
