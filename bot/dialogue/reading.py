"""Reading a message before understanding it: commands, option numbers, emoji and phone numbers.

None of these are questions for the matcher: "/start" is a command, not "start reminders"; "2" picks
an option only while options are on screen; 🙏 greets or thanks; "9876500002 ka status" names a
phone that may not be the user's own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from bot.knowledge import emoji_key
from bot.phones import PhoneError, to_e164

# Chat commands (Telegram sends them as "/start", "/start@BotName payload"; anyone may type them).
COMMANDS = {"start": "greet", "help": "help", "menu": "help", "stop": "reminders_stop", "language": "language"}
_COMMAND = re.compile(r"/([A-Za-z_]+)(?:@\w+)?(?:\s.*)?", re.DOTALL)
MAX_OPTION_DIGITS = 2  # "1" or "12" picks an option; a longer number is something else (a phone, a year)
_PHONE_LIKE = re.compile(r"(?<!\d)(?:\+?\d[\d\s-]{8,14}\d)(?!\d)")


def command(text: str) -> str | None:
    """The intent a chat command stands for: /start greets (it never opts in to reminders), an
    unknown command shows the menu; None when the text is not a command."""
    match = _COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    return COMMANDS.get(match.group(1).lower(), "help")


def option_number(normalised: str) -> int | None:
    """The number typed to pick an option: decimal digits in any script that `int` reads ("२" is 2).

    "፪" or "❹" are digits to `str.isdigit` but not decimal: they are text, not a choice.
    """
    if normalised.isdecimal() and len(normalised) <= MAX_OPTION_DIGITS:
        return int(normalised)
    return None


def has_letters(text: str) -> bool:
    return any(unicodedata.category(char)[0] == "L" for char in text)


def emoji_meanings(text: str, emoji: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """What a message made only of known emoji means (greet, thanks, yes, no): what all its emoji
    agree on ("👍🙏" is thanks); nothing for any other message."""
    characters = set(emoji_key(text))
    if not characters or any(char not in emoji for char in characters):
        return frozenset()
    return frozenset.intersection(*(emoji[char] for char in characters))


def phones_mentioned(text: str) -> set[str]:
    """The phone numbers written in a message, in E.164."""
    phones = set()
    for candidate in _PHONE_LIKE.findall(text):
        try:
            phones.add(to_e164(candidate))
        except PhoneError:
            continue
    return phones
