"""`helpdesk bench gaps`: what recording unanswered questions costs per message, how fast 100,000 of
them are grouped, and how long a new entry takes to be answered."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from bot import db
from bot.brain import Brain
from bot.config import Settings
from bot.dialogue import Engine
from bot.learning import changes
from bot.learning.clusters import Grouper
from bot.learning.gaps import Recorded
from bot.learning.grouping import group_pending
from bot.learning.live import KnowledgeWatcher
from bot.messages import Incoming
from bot.models import ChangeKind, GapKind, UnansweredQuestion, utcnow

BATCH = 32  # messages decided together, as a busy web worker hands them over
WEBHOOK_MS = 1000 / 778  # README: `bench webhook`, SQLite, 1 worker: 778 posts/s
QUESTIONS = [
    "dark mode kaise lagaye", "how to turn on dark mode", "डार्क मोड कैसे चालू करें", "app update kab aayega",
    "when will the app update come", "podcast kahan sunu", "where are podcasts", "batch link nahi mila",
    "new batch ka link kab milega", "quiz ka answer key kahan hai", "leaderboard me naam nahi dikh raha",
    "how to change theme colour", "notification band kaise kare", "offline download limit kya hai",
]  # fmt: skip
DARK_MODE = {
    "id": "support.dark_mode",
    "title": {"en": "Dark mode", "hi": "डार्क मोड"},
    "answer": {"en": "Open Settings > Theme > Dark.", "hi": "ऐप की सेटिंग्स में थीम खोलें और डार्क चुनें।"},
    "examples": {"hi-Latn": ["dark mode kaise lagaye"], "en": ["how to turn on dark mode"]},
}


def variant(text: str, rng: random.Random) -> str:
    """The question as people type it: letters swapped, words added before or after, any number."""
    words = text.split()
    for _ in range(rng.randrange(3)):
        index = rng.randrange(len(words))
        word = words[index]
        if len(word) > 4:
            cut = rng.randrange(1, len(word) - 2)
            words[index] = word[:cut] + word[cut + 1] + word[cut] + word[cut + 2 :]
    extra = ["pls", "sir", "ji", "please", "help", "urgent", "mam", "bhai", "kindly", "today", "abhi", "jaldi"]
    for _ in range(rng.randrange(3)):
        words.insert(rng.choice([0, len(words)]), rng.choice(extra))
    return " ".join(words)


def _recording_cost(brain: Brain, url: str, rounds: int) -> tuple[float, float]:
    """ms per message: deciding batches of unanswered messages, and, inside a transaction, recording
    their question and outcome rows alone (masking included; the commit is the batch's anyway)."""
    engine = db.create_db_engine(url)
    dialogue = Engine(brain=brain, db=engine, settings=Settings(_env_file=None))
    rng = random.Random(7)
    decided = 0.0
    for round_number in range(rounds):
        batch = [
            Incoming(
                channel="whatsapp",
                user_key=f"+9197{round_number:04d}{index:04d}",
                text=variant(rng.choice(QUESTIONS), rng),
            )
            for index in range(BATCH)
        ]
        started = time.perf_counter()
        dialogue.decide_many(batch)
        decided += time.perf_counter() - started
    rows = 0.0
    for _ in range(rounds):
        texts = [variant(question, rng) for question in rng.choices(QUESTIONS, k=BATCH)]
        with db.write_scope(engine) as session:
            started = time.perf_counter()
            recorded = Recorded()
            for text in texts:
                recorded.question(kind=GapKind.ABSTAINED, text=text, lang="hi-Latn",
                                  channel="whatsapp", candidates=["course.offline", "profile.photo"])  # fmt: skip
                recorded.outcome(channel="whatsapp", lang="hi", topic=None, outcome="abstained", feedback=None)
            recorded.write(session)
            rows += time.perf_counter() - started
    engine.dispose()
    messages = rounds * BATCH
    return decided * 1000 / messages, rows * 1000 / messages


def _grouping(brain: Brain, url: str, count: int) -> tuple[float, float, int, int]:
    """Seconds to group `count` stored questions from scratch (in memory alone, and in the database)."""
    rng = random.Random(11)
    texts = [variant(rng.choice(QUESTIONS), rng) for _ in range(count)]
    started = time.perf_counter()
    grouper = Grouper(brain.matcher, [])
    clusters = len({grouper.assign(text)[0] for text in texts})
    in_memory = time.perf_counter() - started
    distinct = len(set(texts))
    engine = db.create_db_engine(url)
    now = utcnow()
    with db.write_scope(engine) as session:
        session.execute(
            insert(UnansweredQuestion),
            [{"kind": GapKind.ABSTAINED, "text": text, "lang": "en", "channel": "whatsapp", "candidates": [],
              "created_at": now} for text in texts],
        )  # fmt: skip
    started = time.perf_counter()
    with db.write_scope(engine) as session:
        group_pending(session, brain.matcher)
    stored = time.perf_counter() - started
    engine.dispose()
    return in_memory, stored, clusters, distinct


def _new_entry(brain: Brain, url: str, poll_seconds: float) -> float:
    """Seconds from saving an entry to a worker answering with it: a poll that finds it, and the rebuild."""
    engine = db.create_db_engine(url)
    dialogue = Engine(brain=brain, db=engine, settings=Settings(_env_file=None))
    watcher = KnowledgeWatcher(dialogue, brain, interval=poll_seconds)
    watcher.refresh()
    with db.write_scope(engine) as session:
        changes.add_change(session, kind=ChangeKind.FAQ, item=DARK_MODE, knowledge=brain.knowledge, actor="bench",
                           source="bench")  # fmt: skip
    started = time.perf_counter()
    assert watcher.refresh(), "the change was not seen"
    rebuilt = time.perf_counter() - started
    assert dialogue.brain.matcher.understand("dark mode kaise lagaye").match == "support.dark_mode"
    engine.dispose()
    return rebuilt


def bench_gaps(brain: Brain, *, questions: int, rounds: int, poll_seconds: float) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-gaps-") as folder:
        urls = [f"sqlite:///{Path(folder) / name}.db" for name in ("record", "group", "entry")]
        for url in urls:
            db.upgrade(url)
        decided, rows = _recording_cost(brain, urls[0], rounds)
        in_memory, stored, clusters, distinct = _grouping(brain, urls[1], questions)
        rebuilt = _new_entry(brain, urls[2], poll_seconds)
    return "\n".join(
        [
            f"recording (SQLite, batches of {BATCH}): deciding an unanswered message {decided:.2f} ms, of which its "
            f"two rows (question, outcome) {rows:.3f} ms = {rows / decided:.1%} of the decision, "
            f"{rows / WEBHOOK_MS:.1%} of `bench webhook`'s {WEBHOOK_MS:.2f} ms per message (README, SQLite, 1 worker)",
            f"grouping {questions:,} questions ({distinct:,} different texts): {in_memory:.2f} s in memory, "
            f"{stored:.2f} s read, grouped and written in SQLite; {clusters:,} clusters",
            f"a new entry: the worker's rebuild and swap {rebuilt:.2f} s after its poll sees it; every worker answers "
            f"with it within KNOWLEDGE_POLL_SECONDS ({poll_seconds:g} s) + {rebuilt:.2f} s",
        ]
    )
