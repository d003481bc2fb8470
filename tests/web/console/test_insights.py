"""Insights: counts per week, topic and language from what the bot did, on the page, in the CSV and on the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import timedelta

from sqlmodel import Session

from bot.config import PROJECT_ROOT
from bot.learning.insights import by_topic, by_week, insight_rows
from bot.models import utcnow
from tests.dialogue.test_engine import say
from tests.learning.test_clusters import HELPDESK
from tests.web.console.helpers import staff_client


def conversations(engine) -> None:
    """Two helped, one not helped, one not understood, one asking for a person."""
    say(engine, "otp nahi aa raha", user="+919800000001")
    say(engine, choice="yes", user="+919800000001")
    say(engine, "otp not received", user="+919800000002")
    say(engine, choice="yes", user="+919800000002")
    say(engine, "how do I download my certificate", user="+919800000003")
    say(engine, choice="no", user="+919800000003")
    say(engine, "dark mode kaise lagaye", user="+919800000004")
    say(engine, "kisi insaan se baat karao", user="+919800000005")


def test_the_rows_count_what_the_bot_did(engine, db_engine):
    conversations(engine)
    with Session(db_engine) as session:
        rows = insight_rows(session, since=utcnow() - timedelta(days=7))
    [week] = by_week(rows)
    assert (week.questions, week.answered, week.abstained, week.escalated) == (5, 3, 1, 1)
    assert (week.helpful_yes, week.helpful_no, week.deflection) == (2, 1, 0.75)
    topics = {row.topic: row for row in by_topic(rows)}
    assert topics["registration.otp_not_received"].helpful_rate == 1.0
    assert topics["certificate.download"].helpful_rate == 0.0
    otp = "registration.otp_not_received"
    assert {(row.topic, row.lang) for row in rows} >= {(otp, "hi"), (otp, "en"), ("(none)", "hi")}


def test_the_page_the_csv_and_the_command(app, engine, db_engine, tmp_path):
    conversations(engine)
    desk1 = staff_client(app, "desk1")
    page = desk1.get("/staff/insights").text
    assert '<strong class="figure">5</strong> questions' in page
    assert '<strong class="figure">75%</strong> deflection' in page
    assert 'aria-label="2 questions: 2 answered, 0 not answered, 0 to a person"' not in page  # one bar per week
    assert 'aria-label="5 questions: 3 answered, 1 not answered, 1 to a person"' in page
    assert "OTP not received" in page and 'aria-label="100% helpful: 2 yes, 0 no"' in page
    assert "dark mode kaise lagaye" in page  # the top unanswered
    download = desk1.get("/staff/insights.csv?days=84")
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="insights-84-days.csv"' in download.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert sum(int(row["questions"]) for row in table) == 5
    assert {row["helpful_rate"] for row in table if row["topic"] == "certificate.download"} == {"0.0"}
    env = {**os.environ, "DATABASE_URL": db_engine.url.render_as_string(hide_password=False),
           "CONTENT_DIR": str(PROJECT_ROOT)}  # fmt: skip
    done = subprocess.run([HELPDESK, "insights", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    report = json.loads(done.stdout)
    assert sum(row["questions"] for row in report["rows"]) == 5
    assert report["top_gaps"][0]["examples"] == ["dark mode kaise lagaye"]
    assert {row["topic"]: row["helpful_rate"] for row in report["topics"]}["registration.otp_not_received"] == 1.0
