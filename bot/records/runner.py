"""Running an uploaded report's import in the background, its state in the database (`bot.records.jobs`).

The import runs in a thread of the worker that received the upload (the file is on its disk), off the
request path; a second thread beats for it: how far it has read, and that it is alive. When it ends,
its counts and rejects file go to the database and the uploaded file is deleted.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.access.roles import Scope
from bot.db import write_scope
from bot.models import ImportStatus, utcnow
from bot.records import jobs
from bot.records.importer import ReportError, import_report
from bot.records.rejected_rows import save_rejects

logger = logging.getLogger(__name__)

UPLOADED_NAME = "report.csv"  # the upload's name in its own folder (its rejects file: report.rejects.csv)
UNEXPECTED = (
    "The import stopped on an unexpected error ({kind}). Batches finished before it are saved; upload the "
    "file again to finish. If it happens again, the server log has the details."
)


@dataclass(frozen=True)
class ImportOrder:
    """An uploaded file to import: its job, the folder it was written to, and the uploader's limits."""

    job_id: int
    folder: Path
    file_name: str  # as the uploader knows it, for messages
    scope: Scope | None  # None: every district and department
    allow_rollback: bool

    @property
    def path(self) -> Path:
        return self.folder / UPLOADED_NAME


def start(engine: Engine, order: ImportOrder) -> threading.Thread:
    """Run the import in a background thread (it waits for its turn first)."""
    thread = threading.Thread(target=run, args=(engine, order), name=f"import-{order.job_id}", daemon=True)
    thread.start()
    return thread


def run(engine: Engine, order: ImportOrder) -> None:
    """Wait for the job's turn, import, record the outcome; the uploaded file is deleted in any case."""
    heart = _Heartbeat(engine, order.job_id)
    heart.start()
    try:
        _wait_for_turn(engine, order.job_id, heart)
        summary = import_report(
            engine, order.path, allow_rollback=order.allow_rollback, on_progress=heart.progress, scope=order.scope
        )
        with write_scope(engine) as session:
            if summary.rejects_path is not None:
                save_rejects(session, order.job_id, summary.rejects_path)
            jobs.finish(session, order.job_id, summary, now=utcnow())
        logger.info("import %s done: %s rows read, %s rejected", order.job_id, summary.rows_read, summary.rejected)
    except _GivenUp:
        logger.warning("import %s was marked interrupted while it waited; not run", order.job_id)
    except ReportError as error:
        _record_failure(engine, order.job_id, str(error).replace(str(order.path), order.file_name))
    except Exception as error:
        logger.exception("import %s stopped on an unexpected error", order.job_id)
        _record_failure(engine, order.job_id, UNEXPECTED.format(kind=type(error).__name__))
    finally:
        heart.stop()
        shutil.rmtree(order.folder, ignore_errors=True)


class _GivenUp(Exception):
    """The job was marked interrupted while it waited (its beats did not reach the database in time)."""


def _wait_for_turn(engine: Engine, job_id: int, heart: _Heartbeat) -> None:
    while True:
        with write_scope(engine) as session:
            status = jobs.claim(session, job_id, now=utcnow())
        if status is ImportStatus.RUNNING:
            return
        if status is not ImportStatus.QUEUED:
            raise _GivenUp
        heart.wait()


def _record_failure(engine: Engine, job_id: int, error: str) -> None:
    try:
        with write_scope(engine) as session:
            jobs.fail(session, job_id, error, now=utcnow())
    except SQLAlchemyError:  # the database is away: the job goes stale and shows as interrupted
        logger.exception("import %s: could not record its failure", job_id)


class _Heartbeat:
    """Beats for a job every `jobs.HEARTBEAT` in a thread of its own (a batch may take longer than that),
    and after each batch, with the import's latest progress."""

    def __init__(self, engine: Engine, job_id: int):
        self.engine = engine
        self.job_id = job_id
        self.read_bytes = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"import-{job_id}-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def progress(self, done: int, _total: int) -> None:
        """The importer's progress callback after each batch: bytes of the file read so far, shown at once."""
        self.read_bytes = done
        self._write()

    def wait(self) -> None:
        """Sleep one beat (or until stopped)."""
        self._stopped.wait(jobs.HEARTBEAT.total_seconds())

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stopped.wait(jobs.HEARTBEAT.total_seconds()):
            self._write()

    def _write(self) -> None:
        try:
            with write_scope(self.engine) as session:
                jobs.beat(session, self.job_id, progress_bytes=self.read_bytes, now=utcnow())
        except SQLAlchemyError:  # a busy or absent database: the next beat tries again
            logger.warning("import %s: a heartbeat failed", self.job_id, exc_info=True)
