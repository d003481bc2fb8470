"""Reports uploaded in the console, imported as jobs whose state is in the database.

Any worker can show a job's progress, and imports run one at a time across all workers and machines
(two imports at once could both add the same new course or employee), oldest upload first. A running
job's worker beats every few seconds; a job whose beat stopped (its process crashed or was killed) is
marked interrupted by whoever looks next, so no job shows "running" forever. Uploading the file again
finishes the work: the importer is idempotent.

Who sees a job: its uploader, and administrators. Not other nodal officers, even of the same
district: the rejected rows of an upload are the uploader's file, other districts' rows included.
Services here never commit; the caller owns the transaction.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from bot.access.roles import Scope, role_of
from bot.models import ACTIVE_IMPORT_STATUSES, ImportJob, ImportStatus, Role, Staff, saved_id
from bot.records.importer import ImportSummary

HEARTBEAT = timedelta(seconds=2)  # how often a worker says its job is alive (and how far it has read)
STALE_AFTER = timedelta(seconds=60)  # a job silent this long has lost its worker
ACTIVE = tuple(status.value for status in ACTIVE_IMPORT_STATUSES)
# PostgreSQL: the advisory lock that makes "is another import running?" and "then this one runs" one step.
IMPORT_LOCK = 0x494D504F  # "IMPO"
INTERRUPTED = (
    "The server stopped while this import was waiting or running (a restart or a crash). Batches "
    "finished before that are saved; upload the same file again to finish: rows already imported "
    "are not changed twice."
)


@dataclass(frozen=True)
class Worker:
    """The process that runs a job: where (`this_host()`) and its process id there."""

    host: str
    pid: int

    @classmethod
    def this(cls) -> Worker:
        return cls(this_host(), os.getpid())


def this_host() -> str:
    """This machine, and the process-id namespace in it: containers may share a host name, but a pid
    means something only within its own namespace."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: the host name alone
        return socket.gethostname()
    return f"{socket.gethostname()}/pid:{namespace}"


def worker_gone(worker: Worker) -> bool:
    """Whether the process is known to be gone: only a process seen from here can be checked."""
    if worker.host != this_host() or worker.pid <= 0:
        return False
    try:
        os.kill(worker.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def create_job(
    session: Session,
    *,
    staff: Staff,
    file_name: str,
    size_bytes: int,
    allow_rollback: bool,
    scope: Scope,
    worker: Worker,
) -> ImportJob:
    """A queued job for an uploaded file, run by `worker`."""
    job = ImportJob(
        staff_id=saved_id(staff),
        file_name=file_name,
        size_bytes=size_bytes,
        allow_rollback=allow_rollback,
        scope=scope.describe(),
        worker_host=worker.host,
        worker_pid=worker.pid,
    )
    session.add(job)
    session.flush()
    return job


def claim(
    session: Session, job_id: int, *, now: datetime, gone: Callable[[Worker], bool] = worker_gone
) -> ImportStatus:
    """Start the job if its turn has come (no other import running, no older one waiting); its status now:
    running (started), queued (wait), or anything else (it was given up for lost meanwhile: stop)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
    interrupt(session, stale_jobs(session, now=now, gone=gone), now=now)
    job = _job(session, job_id)
    first = session.exec(
        select(ImportJob).where(col(ImportJob.status).in_(ACTIVE)).order_by(col(ImportJob.id)).limit(1)
    ).first()
    if first is job and job.status == ImportStatus.QUEUED.value:
        job.status, job.started_at, job.heartbeat_at = ImportStatus.RUNNING.value, now, now
    return ImportStatus(job.status)


def beat(session: Session, job_id: int, *, progress_bytes: int, now: datetime) -> None:
    """The job's worker is alive, and has read this far."""
    session.exec(
        update(ImportJob)
        .where(col(ImportJob.id) == job_id, col(ImportJob.status).in_(ACTIVE))
        .values(heartbeat_at=now, progress_bytes=progress_bytes)
    )


def finish(session: Session, job_id: int, summary: ImportSummary, *, now: datetime) -> None:
    """The import ended: its counts (even if a look-in meanwhile took it for interrupted, it did end)."""
    job = _job(session, job_id)
    job.status, job.finished_at, job.error = ImportStatus.DONE.value, now, None
    job.progress_bytes = job.size_bytes
    for name in ("rows_read", "inserted", "updated", "unchanged", "ignored_older", "rejected", "outside_scope",
                 "employees_added", "employees_updated", "courses_added"):  # fmt: skip
        setattr(job, name, getattr(summary, name))
    job.shared_phones = ", ".join(summary.shared_phones)


def fail(session: Session, job_id: int, error: str, *, now: datetime) -> None:
    """The import could not be done, and why (in words for the uploader)."""
    job = _job(session, job_id)
    job.status, job.finished_at, job.error = ImportStatus.FAILED.value, now, error


def stale_jobs(session: Session, *, now: datetime, gone: Callable[[Worker], bool] = worker_gone) -> list[int]:
    """Waiting or running jobs whose worker has stopped: silent for STALE_AFTER, or a process here that is gone."""
    active = session.exec(select(ImportJob).where(col(ImportJob.status).in_(ACTIVE)))
    return [
        saved_id(job)
        for job in active
        if now - job.heartbeat_at > STALE_AFTER or gone(Worker(job.worker_host, job.worker_pid))
    ]


def interrupt(session: Session, job_ids: list[int], *, now: datetime) -> None:
    """Mark these jobs interrupted (those still waiting or running)."""
    if job_ids:
        session.exec(
            update(ImportJob)
            .where(col(ImportJob.id).in_(job_ids), col(ImportJob.status).in_(ACTIVE))
            .values(status=ImportStatus.INTERRUPTED.value, finished_at=now, error=INTERRUPTED)
        )


def sees_every_import(staff: Staff) -> bool:
    return staff.active and role_of(staff) is Role.ADMIN


def may_see(staff: Staff, job: ImportJob) -> bool:
    """An import is its uploader's, and the administrators'."""
    return sees_every_import(staff) or (staff.active and job.staff_id == staff.id)


def visible_job(session: Session, staff: Staff, job_id: int) -> ImportJob | None:
    """The job, if this account may see it; None alike when it does not exist or is someone else's."""
    job = session.get(ImportJob, job_id)
    return job if job is not None and may_see(staff, job) else None


def visible_jobs(session: Session, staff: Staff, *, limit: int, offset: int = 0) -> tuple[list[ImportJob], int]:
    """The imports this account may see, newest first, and how many there are in all."""
    query = select(ImportJob)
    if not sees_every_import(staff):
        query = query.where(col(ImportJob.staff_id) == (staff.id if staff.active else -1))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(query.order_by(col(ImportJob.id).desc()).limit(limit).offset(offset))
    return list(page), total


def waiting_behind(session: Session, job: ImportJob) -> bool:
    """Whether a queued job waits for another import (one running, or uploaded before it)."""
    if job.status != ImportStatus.QUEUED.value:
        return False
    earlier = select(func.count()).where(col(ImportJob.status).in_(ACTIVE), col(ImportJob.id) < saved_id(job))
    running = select(func.count()).where(col(ImportJob.status) == ImportStatus.RUNNING.value)
    return bool(session.exec(earlier).one() or session.exec(running).one())


def _job(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise LookupError(f"import job {job_id} does not exist")
    return job
