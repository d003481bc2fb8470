"""The conversation engine and the replies it composes."""

from bot.dialogue.engine import Engine, clean_text

__all__ = ["Engine", "clean_text"]
