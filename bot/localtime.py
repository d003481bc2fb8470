"""Local time as operators write it in settings and campaign files: IANA zones and `HH:MM-HH:MM` windows."""

from __future__ import annotations

import re
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CLOCK = r"(?:[01]\d|2[0-3]):[0-5]\d"
_WINDOW = re.compile(rf"(?P<start>{_CLOCK})\s*-\s*(?P<end>{_CLOCK}|24:00)")


def time_zone(name: str) -> ZoneInfo:
    """The zone an IANA name (Asia/Kolkata) stands for; ValueError saying what to write instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone; use an IANA name such as Asia/Kolkata") from None


def parse_window(value: str) -> tuple[time, time | None]:
    """`09:00-19:00` as (start, end); an end of 24:00 is None (midnight at the end of the day)."""
    match = _WINDOW.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a window of hours; write HH:MM-HH:MM such as 09:00-19:00 (or 00:00-24:00)")
    start = time.fromisoformat(match["start"])
    end = None if match["end"] == "24:00" else time.fromisoformat(match["end"])
    if end is not None and end <= start:
        raise ValueError(f"{value!r}: the window must end after it starts, such as 09:00-19:00")
    return start, end
