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
    assert "in-scope answered wrongly: 33.3% (1/3)" in result.stdout  # worse than abstaining: counted apart
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
    path.write_text(
        path.read_text(encoding="utf-8").replace("  answer:\n    en:", "  answer:\n    xx:", 1), encoding="utf-8"
    )
    result = run(tmp_path, "ask", "hello", env={"CONTENT_DIR": str(content)})
    assert result.returncode == 2
    assert "certificates.yaml:" in result.stderr and "field 'answer.en': is missing or empty" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["chat", "--lang", "fr"], ["seed", "--employees", "0"]])
def test_bad_options_are_refused_clearly(tmp_path, args):
    result = run(tmp_path, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args", [["chat"], ["ask", "hello"], ["db", "upgrade"], ["remind", "campaigns"], ["tickets", "list"]]
)
def test_a_bad_setting_stops_every_command_with_one_line_naming_it(tmp_path, args):
    result = run(tmp_path, *args, env={"TIMEZONE": "Mars/Olympus"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: TIMEZONE: 'Mars/Olympus' is not a time zone; use an IANA name such as Asia/Kolkata\n"
    )


def test_an_empty_setting_counts_as_unset(tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_STAFF_CHAT_ID=\nREMINDER_SEND_WINDOW=\n", encoding="utf-8")
    result = run(tmp_path, "remind", "campaigns", env={"TIMEZONE": ""})
    assert result.returncode == 0, result.stderr


REPORT = (
    "\ufeffFull_Name,Phone_Number,External_System_Id,Designation,Content_Id,Content_Name,Status,"
    "Content_Progress_Percentage,Completed_On,Certificate_Generated,Live_CBP_Plan_Mandate,Batch_End_Date\n"
    "सुनीता साहू,+91 98765 11111,CG-1,ASHA,do_1,Basics of Cyber Security,In Progress,40,,No,Yes,30/11/2030\n"
    "सुनीता साहू,098765 11111,CG-1,ASHA,do_2,POSH Act,Completed,100,2026-11-01,Yes,Yes,\n"
    "Ramesh Yadav,9876522222,,Constable,do_1,Basics of Cyber Security,0,,,No,Yes,\n"
    "Bad Phone,12345,,Constable,do_1,Basics of Cyber Security,0,,,No,Yes,\n"
)


def test_import_then_chat_shows_own_status_in_the_users_language(tmp_path):
    report = tmp_path / "report.csv"
    report.write_text(REPORT, encoding="utf-8")
    imported = run(tmp_path, "import", "report", str(report))
    assert imported.returncode == 0, imported.stderr
    assert "rows read: 4, inserted: 3, updated: 0, unchanged: 0, rejected: 1" in imported.stdout
    assert (tmp_path / "report.rejects.csv").exists()
    again = run(tmp_path, "import", "report", str(report))
    assert "inserted: 0, updated: 0, unchanged: 3, rejected: 1" in again.stdout

    hindi = run(tmp_path, "chat", "--phone", "+919876511111", stdin="mera course status batao\n").stdout
    assert "सुनीता साहू जी, आपके कोर्स" in hindi
    assert "Basics of Cyber Security — जारी, 40% — अंतिम तिथि 30 नवंबर 2030" in hindi
    assert "POSH Act — 1 नवंबर 2026 को पूरा — सर्टिफिकेट तैयार" in hindi
    english = run(tmp_path, "chat", "--phone", "+919876511111", stdin="show my course status\n").stdout
    assert "Basics of Cyber Security — in progress, 40% — ends 30 Nov 2030" in english
    assert "POSH Act — completed on 1 Nov 2026 — certificate ready" in english
    stranger = run(tmp_path, "chat", "--phone", "+919812345678", stdin="mera course status batao\n").stdout
    assert "नंबर नहीं मिला" in stranger and "Basics of Cyber Security" not in stranger and "POSH" not in stranger


def test_import_refuses_a_report_without_its_required_columns(tmp_path):
    report = tmp_path / "report.csv"
    report.write_text("Full_Name,Phone_Number\nA,9876511111\n", encoding="utf-8")
    result = run(tmp_path, "import", "report", str(report))
    assert result.returncode == 2
    assert "missing required column(s) Content_Name, Status" in result.stderr and "Traceback" not in result.stderr


def deliveries(tmp_path: Path) -> list[str]:
    """The delivery state of each staff reply on HD-000001, as `tickets show --json` gives it."""
    detail = json.loads(run(tmp_path, "tickets", "show", "HD-000001", "--json").stdout)
    return [item["delivery"] for item in detail["transcript"] if item["kind"] == "reply"]


def test_a_ticket_from_chat_to_staff_reply_and_back(tmp_path):
    assert run(tmp_path, "seed", "--employees", "60").returncode == 0
    opened = run(tmp_path, "chat", "--phone", "+919876500002", stdin="kisi insaan se baat karao\n")
    assert "HD-000001" in opened.stdout
    queue = json.loads(run(tmp_path, "tickets", "list", "--json").stdout)
    assert [(t["ref"], t["status"], t["channel"], t["lang"]) for t in queue] == [("HD-000001", "open", "console", "hi")]
    assert set(queue[0]) >= {"ref", "status", "category", "lang", "channel", "created_at", "assignee", "sla_due"}

    added = run(tmp_path, "staff", "add", "desk1", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    replied = run(tmp_path, "tickets", "reply", "HD-000001", "Certificate ab ban gaya hai.", "--staff", "desk1")
    assert replied.returncode == 0, replied.stderr
    assert deliveries(tmp_path) == ["queued"]
    shown = run(tmp_path, "tickets", "show", "HD-000001").stdout
    assert "reply by desk1: Certificate ab ban gaya hai. [queued]" in shown
    back = run(tmp_path, "chat", "--phone", "+919876500002", stdin="")
    assert "HD-000001 पर हेल्पडेस्क का जवाब:\nCertificate ab ban gaya hai." in back.stdout
    assert deliveries(tmp_path) == ["read"]  # the console chat showed it to the user

    shown = run(tmp_path, "tickets", "show", "HD-000001").stdout
    assert "+91******0002" in shown and "9876500002" not in shown.replace("+91******0002", "")
    assert "desk1: claimed" in shown and "desk1: replied" in shown
    assert run(tmp_path, "tickets", "resolve", "HD-000001", "--staff", "desk1").returncode == 0
    rated = run(tmp_path, "chat", "--phone", "+919876500002", stdin="5\n").stdout
    assert "5 - बेहतरीन" in rated and "रेटिंग देने के लिए धन्यवाद" in rated


def test_staff_commands_explain_mistakes(tmp_path):
    run(tmp_path, "seed", "--employees", "60")
    unknown = run(tmp_path, "tickets", "claim", "HD-000009", "--staff", "desk1")
    assert unknown.returncode == 2 and "no active staff member 'desk1'" in unknown.stderr
    run(tmp_path, "staff", "add", "desk1", stdin="correct horse battery\n")
    missing = run(tmp_path, "tickets", "claim", "HD-000009", "--staff", "desk1")
    assert missing.returncode == 2 and "no ticket HD-000009" in missing.stderr
    short = run(tmp_path, "staff", "add", "desk2", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr


def test_staff_work_a_ticket_on_the_command_line_in_local_time(tmp_path):
    run(tmp_path, "seed", "--employees", "60")
    run(tmp_path, "chat", "--phone", "+919876500002", stdin="certificate nahi mila\n2\n1\n")
    run(tmp_path, "staff", "add", "desk1", stdin="correct horse battery\n")
    noted = run(tmp_path, "tickets", "note", "HD-000001", "Asked the MDO to regenerate it.", "--staff", "desk1")
    assert noted.returncode == 0 and "internal note added to HD-000001 (not shown to the user)" in noted.stdout
    run(tmp_path, "tickets", "claim", "HD-000001", "--staff", "desk1")

    refused = run(tmp_path, "tickets", "resolve", "HD-000001", "--staff", "desk1")
    assert refused.returncode == 2 and "has no reply that reached the user yet" in refused.stderr
    run(tmp_path, "tickets", "reply", "HD-000001", "Certificate ab ban gaya hai.", "--staff", "desk1")

    detail = json.loads(run(tmp_path, "tickets", "show", "HD-000001", "--json").stdout)
    assert detail["created_at"].endswith("+05:30") and "." not in detail["created_at"]  # IST, no microseconds
    kinds = [item["kind"] for item in detail["transcript"]]
    assert {"user", "bot", "note", "reply", "event"} <= set(kinds)
    assert all(set(item) >= {"kind", "text", "at"} and item["at"].endswith("+05:30") for item in detail["transcript"])
    taps = [item["text"] for item in detail["transcript"] if item.get("tap")]
    assert taps == ["नहीं", "हेल्पडेस्क से बात करें"]  # the options the user picked, as they saw them
    assert "priority" not in detail

    shown = run(tmp_path, "tickets", "show", "HD-000001").stdout
    assert "NOTE by desk1 (internal: the user never sees it): Asked the MDO to regenerate it." in shown
    assert "reply by desk1: Certificate ab ban gaya hai." in shown and "user (tapped): नहीं" in shown
    assert " IST  " in shown and "UTC" not in shown

    mine = json.loads(
        run(tmp_path, "tickets", "list", "--status", "open", "--status", "waiting_for_user", "--json").stdout
    )
    assert [(t["ref"], t["status"]) for t in mine] == [("HD-000001", "waiting_for_user")]
    assert json.loads(run(tmp_path, "tickets", "list", "--status", "resolved", "--json").stdout) == []
    wrong = run(tmp_path, "tickets", "list", "--status", "done")
    assert wrong.returncode == 2 and "no status 'done': use open, assigned" in wrong.stderr

    resolved = run(tmp_path, "tickets", "resolve", "HD-000001", "--staff", "desk1", "--reason", "solved_elsewhere")
    assert "HD-000001 resolved (solved elsewhere); no rating is asked" in resolved.stdout


def test_staff_accounts_are_listed_disabled_enabled_and_given_new_passwords(tmp_path):
    assert run(tmp_path, "staff", "add", "desk2", stdin="correct horse battery\n").returncode == 0
    nodal = run(tmp_path, "staff", "add", "raipur", "--role", "nodal", "--district", "Raipur", "--district", "Durg",
                stdin="correct horse battery\n")  # fmt: skip
    assert nodal.returncode == 0 and "nodal 'raipur' added" in nodal.stdout
    no_scope = run(tmp_path, "staff", "add", "x1", "--role", "nodal", stdin="correct horse battery\n")
    assert (
        no_scope.returncode == 2 and "a nodal officer needs at least one --district or --department" in no_scope.stderr
    )

    listed = json.loads(run(tmp_path, "staff", "list", "--json").stdout)
    assert [(row["name"], row["role"], row["active"], row["districts"]) for row in listed] == [
        ("desk2", "staff", True, []),
        ("raipur", "nodal", True, ["Raipur", "Durg"]),
    ]
    assert listed[0]["last_login"] is None and listed[0]["created_at"].endswith("+05:30")

    disabled = run(tmp_path, "staff", "disable", "desk2")
    assert disabled.returncode == 0 and "'desk2' disabled; 0 console sessions ended" in disabled.stdout
    assert "desk2                staff  DISABLED" in run(tmp_path, "staff", "list").stdout
    refused = run(tmp_path, "tickets", "claim", "HD-000001", "--staff", "desk2")
    assert refused.returncode == 2 and "no active staff member 'desk2'" in refused.stderr
    nodal_works = run(tmp_path, "tickets", "claim", "HD-000001", "--staff", "raipur")
    assert (
        nodal_works.returncode == 2 and "'raipur' is a nodal account, which does not work tickets" in nodal_works.stderr
    )
    assert run(tmp_path, "staff", "enable", "desk2").returncode == 0

    changed = run(tmp_path, "staff", "passwd", "desk2", stdin="a brand new passphrase\n")
    assert changed.returncode == 0 and "password of 'desk2' changed" in changed.stdout
    short = run(tmp_path, "staff", "passwd", "desk2", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    missing = run(tmp_path, "staff", "disable", "nobody")
    assert missing.returncode == 2 and "no staff account 'nobody'" in missing.stderr


def test_remind_preview_follows_the_contract_and_plans_nothing(tmp_path):
    run(tmp_path, "seed", "--employees", "60")
    result = run(tmp_path, "remind", "preview", "pending-mandatory", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert set(shown) >= {"campaign", "audience", "reachable", "unreachable", "sample"}
    assert shown["campaign"] == "pending-mandatory" and shown["audience"] > 0
    assert shown["audience"] == shown["unreachable"] + sum(shown["reachable"].values())
    assert [sample["lang"] for sample in shown["sample"]] == ["en", "hi"]
    reported = json.loads(run(tmp_path, "remind", "report", "--json").stdout)
    assert reported["planned"] == 0  # the preview planned nothing
    effect = reported["effectiveness"]["pending-mandatory"]
    assert set(effect) == {"reminded", "not_reminded", "before"}
    assert effect["reminded"]["7"] == {"people": 0, "completed": 0, "rate": None}
    assert "audience: " in run(tmp_path, "remind", "preview").stdout
    unknown = run(tmp_path, "remind", "preview", "nope")
    assert unknown.returncode == 2 and "no campaign 'nope'; the campaigns are: pending-mandatory" in unknown.stderr
