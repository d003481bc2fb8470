"""Knowledge added at run time: checked like faq/, layered over the files, audited, revertible, exported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.access import audit
from bot.brain import Brain
from bot.db import write_scope
from bot.knowledge import ContentError, load_faqs, load_off_topic
from bot.learning import changes
from bot.learning.export import export
from bot.learning.live import layered_brain
from bot.models import ChangeKind

DARK_MODE = {
    "id": "support.dark_mode",
    "title": {"en": "Dark mode", "hi": "डार्क मोड"},
    "answer": {"en": "Open Settings > Theme > Dark.", "hi": "ऐप की सेटिंग्स में थीम खोलें और डार्क चुनें।"},
    "examples": {
        "en": ["how to turn on dark mode"],
        "hi": ["डार्क मोड कैसे चालू करें"],
        "hi-Latn": ["dark mode kaise lagaye"],
    },
}


def add(db: Engine, brain: Brain, kind: ChangeKind, item: dict, actor: str = "desk1") -> int:
    with write_scope(db) as session:
        change = changes.add_change(
            session, kind=kind, item=item, knowledge=brain.knowledge, actor=actor, source="console"
        )
        return change.id or 0


def test_a_new_entry_is_answered_and_a_revert_takes_it_back(db_engine: Engine, brain: Brain) -> None:
    change_id = add(db_engine, brain, ChangeKind.FAQ, DARK_MODE)
    learned, version = layered_brain(brain, db_engine)
    assert version == (change_id, 0)
    assert learned.matcher.understand("dark mode kaise chalu karu").match == "support.dark_mode"
    assert brain.matcher.understand("dark mode kaise chalu karu").match is None  # the files' brain is untouched
    with write_scope(db_engine) as session:
        changes.revert(session, change_id, actor="admin1")
    reverted, version = layered_brain(brain, db_engine)
    assert version == (change_id, 1) and reverted is brain
    with Session(db_engine) as session:
        trail = [(event.actor, event.action) for event in audit.events(session, subject_prefix="knowledge:")]
        assert trail == [("admin1", "knowledge.reverted"), ("desk1", "knowledge.faq")]
        with pytest.raises(changes.ChangeError, match="no change #1 in force"):
            changes.revert(session, change_id, actor="admin1")


def test_examples_for_a_topic_and_off_topic_marks_change_what_is_understood(db_engine: Engine, brain: Brain) -> None:
    assert brain.matcher.understand("podcast kahan sunu").match is None
    add(
        db_engine, brain, ChangeKind.EXAMPLES, {"id": "course.offline", "examples": {"hi-Latn": ["podcast kahan sunu"]}}
    )
    item = {"id": "off_topic.marked", "examples": {"en": ["cricket score today"], "hi-Latn": ["aaj ka cricket score"]}}
    add(db_engine, brain, ChangeKind.OFF_TOPIC, item)
    learned, _ = layered_brain(brain, db_engine)
    assert learned.matcher.understand("podcast kahan sunu").match == "course.offline"
    assert learned.knowledge.off_topic["off_topic.marked"].refer == "none"
    understood = learned.matcher.understand("cricket score kya hai aaj")
    assert (understood.match, understood.off_topic) == (None, "none")


def test_mistakes_are_named_like_those_of_faq_files(db_engine: Engine, brain: Brain) -> None:
    wrong = {**DARK_MODE, "id": "Dark Mode", "answer": {"en": "x" * 601, "hi": "in latin letters"}}
    with pytest.raises(ContentError) as raised:
        add(db_engine, brain, ChangeKind.FAQ, wrong)
    assert raised.value.mistakes == [
        "console, entry 'Dark Mode', field 'id': 'Dark Mode' is not a topic id: lowercase words joined by dots, "
        "like 'support.dark_mode'",
        "console, entry 'Dark Mode', field 'answer.en': has 601 characters, at most 600 allowed",
        "console, entry 'Dark Mode', field 'answer.hi': must be written in Devanagari",
    ]
    with pytest.raises(ContentError, match="field 'title': a new entry needs it in en and hi"):
        add(db_engine, brain, ChangeKind.FAQ, {k: v for k, v in DARK_MODE.items() if k != "title"})
    with pytest.raises(ContentError, match="'dark mode' should be in Devanagari"):
        add(db_engine, brain, ChangeKind.FAQ, {**DARK_MODE, "examples": {"hi": ["dark mode"]}})
    with pytest.raises(ContentError, match="field 'id': already an intent or off-topic id"):
        add(db_engine, brain, ChangeKind.FAQ, {**DARK_MODE, "id": "off_topic.salary"})
    with pytest.raises(ContentError, match="field 'id': no FAQ topic or intent has this id"):
        add(db_engine, brain, ChangeKind.EXAMPLES, {"id": "course.nothing", "examples": {"en": ["x"]}})
    with Session(db_engine) as session:
        assert changes.in_force(session) == []


def test_export_writes_files_the_loader_accepts(db_engine: Engine, brain: Brain, tmp_path: Path) -> None:
    add(db_engine, brain, ChangeKind.FAQ, DARK_MODE)
    add(
        db_engine, brain, ChangeKind.EXAMPLES, {"id": "course.offline", "examples": {"hi-Latn": ["podcast kahan sunu"]}}
    )
    add(db_engine, brain, ChangeKind.OFF_TOPIC, {"id": "off_topic.marked", "examples": {"en": ["cricket score"]}})
    learned, _ = layered_brain(brain, db_engine)
    written, warnings = export(learned.knowledge, brain.knowledge, tmp_path)
    assert [path.name for path in written] == ["added.yaml", "changed.yaml", "off_topic.yaml"]
    assert warnings == [
        f"{tmp_path / 'off_topic.yaml'}: entry 'off_topic.marked' has no examples in hi, hi-Latn; add some"
    ]
    (tmp_path / "off_topic.yaml").rename(tmp_path / "off_topic.yml")  # not a faq/ file
    exported = load_faqs(tmp_path)
    assert exported["support.dark_mode"] == learned.knowledge.faqs["support.dark_mode"]
    assert exported["course.offline"] == learned.knowledge.faqs["course.offline"]
    with pytest.raises(ContentError, match=r"examples\.hi"):
        load_off_topic(tmp_path / "off_topic.yml")
