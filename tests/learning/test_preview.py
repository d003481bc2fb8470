"""A change's effect on the labelled queries, shown before it is saved; known queries made wrong need --yes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.brain import Brain
from bot.config import PROJECT_ROOT
from bot.knowledge import check_addition, with_additions
from bot.learning import changes
from bot.learning.preview import labelled_queries, preview
from tests.learning.test_clusters import HELPDESK

STEALING = {
    "id": "support.certificates_help",
    "title": {"en": "Certificates help", "hi": "सर्टिफिकेट सहायता"},
    "answer": {"en": "Write to the helpdesk.", "hi": "हेल्पडेस्क को लिखें।"},
    "examples": {"en": ["how do i download my certificate", "view certificate", "where are my certificates shown"]},
}


def proposed(brain: Brain, item: dict, kind: str = "faq"):
    return with_additions(brain.knowledge, [(kind, check_addition("console", item, brain.knowledge, kind=kind))])


def test_a_change_that_takes_known_queries_is_shown_with_them(brain: Brain) -> None:
    queries = labelled_queries(PROJECT_ROOT)
    assert len(queries) > 1500
    found = preview(brain.matcher, proposed(brain, STEALING), queries)
    wrong = {answer.query.text for answer in found.now_wrong}
    assert "where are my certificates shown" in wrong
    assert all(answer.after == "support.certificates_help" for answer in found.now_wrong)
    assert found.correct_after < found.correct_before
    assert f"{len(found.now_wrong)} known queries become wrong" in found.summary()


def test_a_harmless_change_changes_no_known_answer(brain: Brain) -> None:
    item = {"id": "course.offline", "examples": {"hi-Latn": ["podcast kahan sunu"]}}
    found = preview(brain.matcher, proposed(brain, item, "examples"), labelled_queries(PROJECT_ROOT))
    assert found.now_wrong == [] and found.correct_after >= found.correct_before


def test_faq_add_refuses_to_break_known_queries_without_yes(db_engine: Engine, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": db_engine.url.render_as_string(hide_password=False),
        "CONTENT_DIR": str(PROJECT_ROOT),
    }
    examples = [arg for text in STEALING["examples"]["en"] for arg in ("--example", text)]
    answers = [
        "--en",
        STEALING["answer"]["en"],
        "--hi",
        STEALING["answer"]["hi"],
        "--title-hi",
        STEALING["title"]["hi"],
    ]
    command = [HELPDESK, "faq", "add", STEALING["id"], *answers, *examples]
    refused = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert (
        "WRONG NOW: 'where are my certificates shown' expected certificate.download, certificate.download -> support"
        in refused.stdout
    )
    assert "known queries would be answered wrongly; nothing saved" in refused.stderr
    with Session(db_engine) as session:
        assert changes.in_force(session) == []
    saved = subprocess.run([*command, "--yes"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert saved.returncode == 0 and "saved change #1" in saved.stdout
    reverted = subprocess.run([HELPDESK, "faq", "revert", "1", "--staff", "admin1"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert reverted.stdout.strip() == "reverted change #1 (support.certificates_help)"
    with Session(db_engine) as session:
        assert changes.in_force(session) == []
