"""Readable names for what a message or a ticket is about: FAQ titles, intent names, the catch-alls."""

from __future__ import annotations

from bot.brain import Brain
from bot.i18n import Texts


def intent_titles(texts: Texts, lang: str) -> dict[str, str]:
    """The intents users can pick from a menu, by id, as the menu names them."""
    t = texts.t
    return {
        "help": t(lang, "Menu"),
        "human": t(lang, "Talk to a person"),
        "my_status": t(lang, "My course status"),
        "ticket_status": t(lang, "My helpdesk requests"),
        "language": t(lang, "Change language"),
        "reminders_stop": t(lang, "Stop reminders"),
        "reminders_start": t(lang, "Start reminders"),
    }


def topic_title(brain: Brain, label: str, lang: str) -> str:
    """A ticket category or matched label in words: an FAQ's title, an intent's name, or a catch-all."""
    if label in brain.knowledge.faqs:
        return brain.knowledge.title(label, lang)
    texts = brain.texts
    catch_alls = {
        "general": texts.t(lang, "General question"),
        "unclassified": texts.t(lang, "Not classified yet"),
    }
    if label in catch_alls:
        return catch_alls[label]
    return intent_titles(texts, lang).get(label) or label.replace("_", " ").replace(".", ": ")
