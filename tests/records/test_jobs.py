"""Console imports as jobs in the database: one at a time in upload order, lost workers seen as such,
who sees which job, and the rejects file kept with the job (both backends)."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.access.roles import Scope
from bot.db import session_scope
from bot.models import ImportJob, ImportStatus, Staff, utcnow
from bot.records import jobs
from bot.records.importer import ImportSummary
from bot.records.rejected_rows import PART_BYTES, has_rejects, rejects_part, save_rejects, unpacked
from bot.tickets.staff import add_staff

HERE = jobs.Worker.this()
NOBODY = lambda worker: False  # noqa: E731  (no worker process is known to be gone)


def accounts(session: Session) -> dict[str, Staff]:
    for name, role, districts in (("boss", "admin", []), ("raipur1", "nodal", ["Raipur"]),
                                  ("raipur2", "nodal", ["Raipur"])):  # fmt: skip
        add_staff(session, name=name, password="correct horse battery", role=role, districts=districts)
    session.flush()
    return {staff.name: staff for staff in session.exec(select(Staff))}


def new_job(session: Session, staff: Staff, worker: jobs.Worker = HERE) -> int:
    job = jobs.create_job(session, staff=staff, file_name="nov.csv", size_bytes=1000, allow_rollback=False,
                          scope=Scope(districts=frozenset({"raipur"})), worker=worker)  # fmt: skip
    return job.id


def status(session: Session, job_id: int) -> str:
    return session.get(ImportJob, job_id).status


def test_imports_run_one_at_a_time_in_upload_order(db_engine):
    with session_scope(db_engine) as session:
        staff = accounts(session)
        first, second = new_job(session, staff["raipur1"]), new_job(session, staff["boss"])
    now = utcnow()
    with session_scope(db_engine) as session:
        assert jobs.claim(session, second, now=now, gone=NOBODY) is ImportStatus.QUEUED  # the older one goes first
        assert jobs.claim(session, first, now=now, gone=NOBODY) is ImportStatus.RUNNING
        assert jobs.waiting_behind(session, session.get(ImportJob, second))
    with session_scope(db_engine) as session:
        assert jobs.claim(session, second, now=now, gone=NOBODY) is ImportStatus.QUEUED  # while the first runs
        summary = ImportSummary(rows_read=5, inserted=3, rejected=2, outside_scope=1, shared_phones=["+91******0001"])
        jobs.finish(session, first, summary, now=now)
    with session_scope(db_engine) as session:
        assert jobs.claim(session, second, now=now, gone=NOBODY) is ImportStatus.RUNNING
        done = session.get(ImportJob, first)
        assert (done.status, done.rows_read, done.rejected, done.outside_scope, done.progress_bytes) == (
            "done", 5, 2, 1, 1000)  # fmt: skip
        assert done.shared_phones == "+91******0001"
        jobs.fail(session, second, "nov.csv: the file is empty", now=now)
    with session_scope(db_engine) as session:
        assert (status(session, second), session.get(ImportJob, second).error) == (
            "failed",
            "nov.csv: the file is empty",
        )


def test_a_job_whose_worker_stopped_beating_is_interrupted_and_frees_the_queue(db_engine):
    with session_scope(db_engine) as session:
        staff = accounts(session)
        lost, waiting = new_job(session, staff["raipur1"]), new_job(session, staff["raipur2"])
    start = utcnow()
    with session_scope(db_engine) as session:
        assert jobs.claim(session, lost, now=start, gone=NOBODY) is ImportStatus.RUNNING
    with session_scope(db_engine) as session:  # its worker beats on time: still running
        jobs.beat(session, lost, progress_bytes=400, now=start + jobs.STALE_AFTER)
        jobs.beat(session, waiting, progress_bytes=0, now=start + jobs.STALE_AFTER)
    later = start + jobs.STALE_AFTER * 2 - timedelta(seconds=1)
    with session_scope(db_engine) as session:
        assert jobs.stale_jobs(session, now=later, gone=NOBODY) == []
        assert session.get(ImportJob, lost).progress_bytes == 400
    silent = start + jobs.STALE_AFTER * 2 + timedelta(seconds=1)
    with session_scope(db_engine) as session:
        jobs.beat(session, waiting, progress_bytes=0, now=silent)  # the waiting one's worker is alive
        assert jobs.stale_jobs(session, now=silent, gone=NOBODY) == [lost]
        assert jobs.claim(session, waiting, now=silent, gone=NOBODY) is ImportStatus.RUNNING
    with session_scope(db_engine) as session:
        interrupted = session.get(ImportJob, lost)
        assert interrupted.status == "interrupted" and "upload the same file again" in interrupted.error
        jobs.beat(session, lost, progress_bytes=999, now=silent)  # a late beat brings nothing back
    with session_scope(db_engine) as session:
        assert (status(session, lost), session.get(ImportJob, lost).progress_bytes) == ("interrupted", 400)


def test_a_worker_process_known_to_be_gone_is_interrupted_at_once(db_engine):
    dead = jobs.Worker(HERE.host, 2**22 + 1)  # beyond Linux's pid_max: no such process
    assert jobs.worker_gone(dead) and not jobs.worker_gone(HERE)
    assert not jobs.worker_gone(jobs.Worker("another-machine", os.getpid()))  # only beats tell about others
    with session_scope(db_engine) as session:
        staff = accounts(session)
        job_id = new_job(session, staff["raipur1"], worker=dead)
    with session_scope(db_engine) as session:
        assert jobs.stale_jobs(session, now=utcnow()) == [job_id]
        assert jobs.claim(session, job_id, now=utcnow()) is ImportStatus.INTERRUPTED  # its runner stops


def test_a_job_is_its_uploader_s_and_the_administrators(db_engine):
    with session_scope(db_engine) as session:
        staff = accounts(session)
        mine, boss_s = new_job(session, staff["raipur1"]), new_job(session, staff["boss"])
    with session_scope(db_engine) as session:
        staff = {name: session.merge(account) for name, account in staff.items()}
        assert jobs.visible_job(session, staff["raipur1"], mine) is not None
        assert jobs.visible_job(session, staff["raipur2"], mine) is None  # same district, not theirs
        assert jobs.visible_job(session, staff["raipur1"], boss_s) is None
        assert jobs.visible_job(session, staff["boss"], mine) is not None
        assert jobs.visible_job(session, staff["boss"], 999) is None
        assert [job.id for job in jobs.visible_jobs(session, staff["raipur1"], limit=10)[0]] == [mine]
        assert jobs.visible_jobs(session, staff["boss"], limit=1) == ([session.get(ImportJob, boss_s)], 2)
        staff["raipur1"].active = False
        assert jobs.visible_job(session, staff["raipur1"], mine) is None


def test_the_rejects_file_is_kept_compressed_in_parts_and_comes_back_whole(db_engine, tmp_path: Path):
    lines = [
        f"{line},Phone_Number: not a 10-digit mobile number,सुनीता {os.urandom(40).hex()}\n" for line in range(40_000)
    ]
    path = tmp_path / "report.rejects.csv"
    path.write_text("line,reason,Full_Name\n" + "".join(lines), encoding="utf-8-sig")
    with session_scope(db_engine) as session:
        job_id = new_job(session, accounts(session)["raipur1"])
        assert not has_rejects(session, job_id)
        save_rejects(session, job_id, path)
    with session_scope(db_engine) as session:
        assert has_rejects(session, job_id)
        parts = []
        while (data := rejects_part(session, job_id, len(parts))) is not None:
            parts.append(data)
    assert len(parts) > 1 and all(len(part) <= PART_BYTES for part in parts)
    assert sum(map(len, parts)) < path.stat().st_size  # compressed

    async def read() -> bytes:
        async def fetch(part: int) -> bytes | None:
            return parts[part] if part < len(parts) else None

        return b"".join([chunk async for chunk in unpacked(fetch)])

    assert asyncio.run(read()) == path.read_bytes()
