"""A reminder sender in its own process, for the kill-and-restart and concurrency tests.

usage: python -m tests.reminders.sender_process DATABASE_URL CHANNEL(file|console) OUT_FILE NOW_ISO WORKERS
HELPDESK_REMINDER_FILE_DELAY (seconds per send) makes it slow enough to be killed mid-run.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

from bot.db import create_db_engine
from bot.reminders import ConsoleChannel, FileChannel, send
from tests.reminders.helpers import campaigns, texts


def main() -> None:
    url, channel, out, now, workers = sys.argv[1:6]
    db = create_db_engine(url)
    delay = float(os.environ.get("HELPDESK_REMINDER_FILE_DELAY", "0"))
    if channel == "console":
        senders = {"console": ConsoleChannel()}
        hook = (lambda job: time.sleep(delay)) if delay else None
    else:
        senders = {"file": FileChannel(Path(out))}
        hook = None
    summary = send(db, campaigns=campaigns(), senders=senders, texts=texts(), now=datetime.fromisoformat(now),
                   progress=False, workers=int(workers), batch_size=5, before_send=hook)  # fmt: skip
    print(summary.as_dict(), flush=True)


if __name__ == "__main__":
    main()
