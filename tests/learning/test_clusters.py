"""Grouping unanswered questions across spellings and scripts, deterministic and incremental, and `helpdesk gaps`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.brain import Brain
from bot.config import PROJECT_ROOT
from bot.db import write_scope
from bot.dialogue import Engine as DialogueEngine
from bot.learning.clusters import Grouper
from bot.learning.grouping import group_pending, regroup
from bot.learning.report import gap_clusters
from bot.models import GapCluster, UnansweredQuestion, utcnow
from tests.dialogue.test_engine import say

HELPDESK = str(Path(sys.executable).with_name("helpdesk"))
DARK_MODE = [
    "dark mode kaise lagaye",
    "how to turn on dark mode",
    "डार्क मोड कैसे चालू करें",
    "drak mode chahiye",
]
OTHERS = ["batch link nahi mila", "podcast kahan sunu", "when will the app update come"]


def ask_each(engine: DialogueEngine, texts: list[str]) -> None:
    """Each text from its own user (so no question turns into a ticket's second message)."""
    for number, text in enumerate(texts):
        say(engine, text, user=f"+9198000{number:05d}")


def clusters_of(db: Engine) -> dict[str, int | None]:
    with Session(db) as session:
        rows = session.exec(select(UnansweredQuestion).order_by(col(UnansweredQuestion.id)))
        return {row.text: row.cluster_id for row in rows}


def test_one_question_asked_four_ways_is_one_cluster(engine: DialogueEngine, brain: Brain) -> None:
    ask_each(engine, DARK_MODE + OTHERS)
    with write_scope(engine.db) as session:
        assert group_pending(session, brain.matcher) == len(DARK_MODE + OTHERS)
    with Session(engine.db) as session:
        gaps = gap_clusters(session, since=utcnow() - timedelta(days=1), faq_ids=brain.knowledge.faqs)
    assert gaps[0].count == 4
    assert sorted(gaps[0].examples) == sorted(DARK_MODE)
    assert gaps[0].langs == {"en": 1, "hi": 1, "hi-Latn": 2}
    assert not gaps[0].answered
    assert all(label in brain.knowledge.faqs for label in gaps[0].suggested)
    assert [gap.count for gap in gaps[1:]] == [1, 1, 1]  # the other questions stay apart


def test_grouping_bit_by_bit_equals_grouping_at_once_and_regrouping(engine: DialogueEngine, brain: Brain) -> None:
    texts = DARK_MODE + OTHERS + ["dark mode on karna hai", "batch ka link nahi aaya", "where are podcasts"]
    for number, text in enumerate(texts):
        say(engine, text, user=f"+9198000{number:05d}")
        with write_scope(engine.db) as session:
            group_pending(session, brain.matcher)
    step_by_step = clusters_of(engine.db)
    with write_scope(engine.db) as session:
        assert group_pending(session, brain.matcher) == 0  # nothing new
        regroup(session, brain.matcher)
    regrouped = clusters_of(engine.db)
    # The same partition (regrouping makes new ids, in the same order).
    assert len(set(step_by_step.values())) == len(set(regrouped.values()))
    assert [step_by_step[text] == step_by_step[DARK_MODE[0]] for text in texts] == [
        regrouped[text] == regrouped[DARK_MODE[0]] for text in texts
    ]
    assert step_by_step["dark mode on karna hai"] == step_by_step[DARK_MODE[0]]
    assert step_by_step["batch ka link nahi aaya"] == step_by_step["batch link nahi mila"]
    assert step_by_step["where are podcasts"] == step_by_step["podcast kahan sunu"]


def test_the_grouper_is_deterministic_and_fast_on_many_questions(brain: Brain) -> None:
    phrasings = DARK_MODE + OTHERS + ["app update kab aayega", "when will the app update come"]
    texts = [f"{phrasings[number % len(phrasings)]} {'pls' * (number % 3)}" for number in range(20_000)]
    first, second = Grouper(brain.matcher, []), Grouper(brain.matcher, [])
    assert [first.assign(text)[0] for text in texts] == [second.assign(text)[0] for text in texts]


def test_helpdesk_gaps_json_follows_the_contract(engine: DialogueEngine, tmp_path: Path) -> None:
    ask_each(engine, DARK_MODE)
    url = engine.db.url.render_as_string(hide_password=False)
    environment = {**os.environ, "DATABASE_URL": url, "CONTENT_DIR": str(PROJECT_ROOT)}
    done = subprocess.run(
        [HELPDESK, "gaps", "--json", "--days", "7"],
        capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120, check=True,
    )  # fmt: skip
    [cluster] = json.loads(done.stdout)
    assert set(cluster) == {"id", "count", "examples", "langs", "last_seen", "suggested", "answered"}
    assert (cluster["count"], cluster["answered"], sum(cluster["langs"].values())) == (4, False, 4)
    text = subprocess.run(
        [HELPDESK, "gaps"], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120, check=True
    ).stdout
    assert f"#{cluster['id']}  4 questions" in text and "डार्क मोड कैसे चालू करें" in text


def test_two_groupings_at_once_make_each_cluster_once(engine: DialogueEngine, brain: Brain) -> None:
    ask_each(engine, DARK_MODE + OTHERS)
    start = threading.Barrier(2)

    def group() -> None:
        start.wait()
        with write_scope(engine.db) as session:
            group_pending(session, brain.matcher)

    workers = [threading.Thread(target=group) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    with Session(engine.db) as session:
        assert len(session.exec(select(GapCluster)).all()) == 1 + len(OTHERS)
    assert len(set(clusters_of(engine.db).values())) == 1 + len(OTHERS)
