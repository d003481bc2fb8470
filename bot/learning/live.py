"""Knowledge that changes under a running server: each worker polls the database's knowledge version,
rebuilds its matcher in a background thread when it changed, and swaps it in whole."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from sqlalchemy.engine import Engine as DatabaseEngine

from bot.brain import Brain
from bot.db import session_scope
from bot.dialogue import Engine
from bot.learning import changes
from bot.understanding.matcher import Matcher

logger = logging.getLogger(__name__)


def layered_brain(base: Brain, db: DatabaseEngine) -> tuple[Brain, tuple[int, int]]:
    """The files' knowledge with the database's changes in force, and the version it reflects."""
    with session_scope(db) as session:
        seen = changes.version(session)
        knowledge = changes.layered(session, base.knowledge)
    if knowledge == base.knowledge:  # nothing added, or all of it reverted: the files' matcher serves
        return base, seen
    return replace(base, knowledge=knowledge, matcher=Matcher(knowledge, base.matcher.calibration)), seen


class KnowledgeWatcher:
    """Keeps one dialogue engine answering with the knowledge in the database."""

    def __init__(self, engine: Engine, base: Brain, *, interval: float):
        self.engine = engine
        self.base = base
        self.interval = interval
        self.seen: tuple[int, int] | None = None

    def refresh(self) -> bool:
        """Rebuild and swap if the knowledge changed since last time; True if it did. Runs off the request path."""
        with session_scope(self.engine.db) as session:
            current = changes.version(session)
        if current == self.seen:
            return False
        started = time.perf_counter()
        brain, seen = layered_brain(self.base, self.engine.db)
        self.engine.use(brain)
        self.seen = seen
        logger.info("knowledge version %s in use, rebuilt in %.2f s", seen, time.perf_counter() - started)
        return True

    async def run(self) -> None:
        """Poll until cancelled; a failed poll (database away) is logged and tried again next time."""
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                logger.warning("could not check the knowledge for changes", exc_info=True)
            await asyncio.sleep(self.interval)
