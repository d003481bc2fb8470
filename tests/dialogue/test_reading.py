"""Reading a message before understanding it: commands, option numbers, emoji, phone numbers."""

from __future__ import annotations

import pytest

from bot.dialogue.reading import command, emoji_meanings, option_number, phones_mentioned


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("/start", "greet"),
        ("/start@IgotHelpdeskBot campaign-7", "greet"),
        ("/STOP", "reminders_stop"),
        ("/help", "help"),
        ("/language", "language"),
        ("/whatever", "help"),
        ("start", None),
        ("/ start", None),
        ("otp / password", None),
    ],
)
def test_commands(text, intent):
    assert command(text) == intent


@pytest.mark.parametrize(
    ("normalised", "number"),
    [("1", 1), ("12", 12), ("२", 2), ("٣", 3), ("፪", None), ("❹", None), ("123", None), ("1 2", None), ("", None)],
)
def test_option_numbers_are_decimal_digits_that_int_reads(normalised, number):
    assert option_number(normalised) == number


@pytest.mark.parametrize(
    ("text", "meanings"),
    [
        ("🙏", {"greet", "thanks"}),
        ("🙏🏾🙏", {"greet", "thanks"}),
        ("👍🏻", {"thanks", "yes"}),
        ("👍 🙏", {"thanks"}),
        ("🙏 namaste", set()),
        ("🎉", set()),
    ],
)
def test_emoji_meanings_are_what_all_the_emoji_agree_on(brain, text, meanings):
    assert emoji_meanings(text, brain.knowledge.lexicon.emoji) == meanings


def test_phones_mentioned_are_read_in_any_common_format():
    assert phones_mentioned("9876500002 ka status batao") == {"+919876500002"}
    assert phones_mentioned("status of +91 98765-00002 and 09876500003") == {"+919876500002", "+919876500003"}
    assert phones_mentioned("otp 123456 nahi aaya, HD-000012") == set()
