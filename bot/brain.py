"""Everything the bot knows, loaded once per process: content, matcher and translations."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.i18n import Texts
from bot.knowledge import ContentError, Knowledge, load_knowledge
from bot.understanding.matcher import Matcher


@dataclass(frozen=True)
class Brain:
    knowledge: Knowledge
    matcher: Matcher
    texts: Texts


@lru_cache(maxsize=2)
def load_brain(content_dir: Path) -> Brain:
    """Load and validate faq/, intents/ and locales/ under content_dir; fails loudly on any mistake."""
    if not (content_dir / "faq").is_dir():  # an installed package carries no content: it is the deployment's
        raise ContentError.at(
            content_dir, "no faq/ folder here; set CONTENT_DIR to the folder holding faq/, intents/ and locales/"
        )
    knowledge = load_knowledge(content_dir)
    return Brain(knowledge=knowledge, matcher=Matcher(knowledge), texts=Texts(content_dir / "locales"))
