"""Progress of long runs: a bar on a terminal, a log line now and then otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

logger = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 10.0


@contextmanager
def progress_reporter(description: str) -> Iterator[Callable[[int, int], None]]:
    """A callback `(done, total)` that draws a bar on a terminal and logs otherwise."""
    if sys.stderr.isatty():
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task(description, total=None)
            yield lambda done, total: progress.update(task, completed=done, total=total)
        return
    last = time.monotonic()

    def log(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= LOG_EVERY_SECONDS or done == total:
            last = time.monotonic()
            logger.info("%s: %d%%", description, 100 * done // max(total, 1))

    yield log
