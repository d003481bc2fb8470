"""Time zones and windows of hours as operators write them (settings, campaign files)."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from bot.localtime import parse_window, time_zone


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("09:00-19:00", (time(9), time(19))),
        ("00:00-24:00", (time(0), None)),
        (" 08:30 - 17:45 ", (time(8, 30), time(17, 45))),
        ("23:00-24:00", (time(23), None)),
    ],
)
def test_windows(text, window):
    assert parse_window(text) == window


@pytest.mark.parametrize(
    "text", ["9-7", "09-19", "9:00-19:00", "09:00-24:01", "24:00-24:00", "09:00", "", "09:00-19:00-21:00"]
)
def test_what_is_not_a_window(text):
    with pytest.raises(ValueError, match="is not a window of hours; write HH:MM-HH:MM such as 09:00-19:00"):
        parse_window(text)


@pytest.mark.parametrize("text", ["19:00-09:00", "09:00-09:00"])
def test_a_window_ends_after_it_starts(text):
    with pytest.raises(ValueError, match="the window must end after it starts"):
        parse_window(text)


def test_time_zones():
    assert time_zone("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    for name in ("Mars/Olympus", "", "Asia", "/etc/localtime"):
        with pytest.raises(ValueError, match="is not a time zone; use an IANA name such as Asia/Kolkata"):
            time_zone(name)
