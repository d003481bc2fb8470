"""Replies split to fit a channel's message limit without losing a character or an option."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.messages import Option, Reply, split_reply


def status_like(lines: int) -> str:
    return "Sunita Sahu, your courses:\n\n" + "\n".join(
        f"• Course number {n} with a long name — in progress, {n % 100}% — ends 29 Nov 2026" for n in range(lines)
    )


@pytest.mark.parametrize("limit", [1600, 4096])
def test_long_status_lists_are_split_between_lines(limit):
    reply = Reply(status_like(150), (Option("intent:human", "Talk to a person"),))
    parts = split_reply(reply, limit)
    assert len(parts) > 1 and all(len(part.text) <= limit for part in parts)
    kept_lines = [line for part in parts for line in part.text.split("\n") if line]
    assert kept_lines == [line for line in reply.text.split("\n") if line]
    assert all(not part.options for part in parts[:-1]) and parts[-1].options == reply.options
    assert all(part.text.splitlines()[0].startswith(("Sunita", "•")) for part in parts)


def test_a_short_reply_is_left_alone():
    reply = Reply("Did this help?", (Option("yes", "Yes"),), yes_no=("yes", "no"))
    assert split_reply(reply, 1600) == [reply]


@given(text=st.text(min_size=1, max_size=3000), limit=st.integers(min_value=20, max_value=500))
def test_no_part_is_over_the_limit_and_no_word_is_lost(text, limit):
    parts = split_reply(Reply(text), limit)
    assert all(len(part.text) <= limit for part in parts)
    assert "".join("".join(part.text.split()) for part in parts) == "".join(text.split())
