"""A reminder sender in its own process, for the kill-and-restart and concurrency tests.

usage: python -m tests.reminders.sender_process DATABASE_URL CHANNEL(file|console) OUT_FILE NOW_ISO DELAY
DELAY (seconds per send) makes it slow enough to be killed mid-run.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from bot.db import create_db_engine
from bot.delivery.worker import Provider
from bot.reminders import send
from tests.reminders.helpers import campaigns, texts
from tests.reminders.providers import FileProvider, SlowMailbox


def main() -> None:
    url, channel, out, now, delay = sys.argv[1:6]
    db = create_db_engine(url)
    provider: Provider = (
        SlowMailbox(float(delay)) if channel == "console" else FileProvider(Path(out), delay=float(delay))
    )
    summary = send(db, campaigns=campaigns(), providers={provider.channel: provider}, texts=texts(),
                   now=datetime.fromisoformat(now), progress=False, batch_size=5)  # fmt: skip
    print(summary.as_dict(), flush=True)


if __name__ == "__main__":
    main()
