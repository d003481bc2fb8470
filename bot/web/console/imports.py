"""Imports for nodal officers and administrators: upload an iGOT report, watch it import, get its rejects.

The upload is streamed to a folder of its own (`uploads.receive_file`) and imported in the background
by `bot.records.runner`, with the same importer as `helpdesk import report`. A nodal officer's import
is limited to their scope: rows naming another district or department, or matching an employee
recorded in one, are rejected with the reason. Rolling records back (`--allow-rollback`) is an
administrator's decision: nodal officers do not get the option.

An import, its progress and its rejects file are shown to its uploader and to administrators only;
for anyone else it does not exist (404, as for an import that never was).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.access import audit
from bot.access.roles import REPORT_ROLES, Scope, role_of, scope_of
from bot.db import session_scope, write_scope
from bot.models import ACTIVE_IMPORT_STATUSES, ImportJob, Role, Staff, saved_id, utcnow
from bot.records import jobs, runner
from bot.records.rejected_rows import has_rejects, rejects_part, unpacked
from bot.tickets.presenting import staff_names
from bot.web.console.auth import console_page, refusal, signed_in_staff
from bot.web.console.csrf import csrf_ok, csrf_refused
from bot.web.console.exports import attachment
from bot.web.console.exports import file_name as download_name
from bot.web.console.nav import NavEntry
from bot.web.console.rendering import flash, path_for, redirect, render
from bot.web.console.uploads import Upload, UploadRefused, receive_file

FOLDER_PREFIX = "helpdesk-import-"
LEFT_BEHIND = 24 * 3600  # seconds: an upload folder older than this was left by a crashed worker
HISTORY_PAGE = 25
FILE_FIELD = "report"
ACTIVE = tuple(status.value for status in ACTIVE_IMPORT_STATUSES)
STATUS_LABELS = {
    "queued": "Waiting",
    "running": "Importing",
    "done": "Done",
    "failed": "Failed",
    "interrupted": "Interrupted",
}

nav = (NavEntry("Imports", "imports", REPORT_ROLES),)


def _is_admin(staff: Staff) -> bool:
    return role_of(staff) is Role.ADMIN


def _upload_limit(request: Request) -> int:
    return int(request.app.state.settings.import_max_upload_mb) * 2**20


def _reap(db: Engine) -> None:
    """Mark imports whose worker stopped as interrupted (a write only when there are such)."""
    now = utcnow()
    with session_scope(db) as session:
        stale = jobs.stale_jobs(session, now=now)
    if stale:
        with write_scope(db) as session:
            jobs.interrupt(session, jobs.stale_jobs(session, now=now), now=now)


def _history(db: Engine, staff: Staff, page: int) -> tuple[list[ImportJob], int, dict[int, str]]:
    _reap(db)
    with session_scope(db) as session:
        found, total = jobs.visible_jobs(session, staff, limit=HISTORY_PAGE, offset=(page - 1) * HISTORY_PAGE)
        return found, total, staff_names(session, {job.staff_id for job in found})


async def _imports_page(
    request: Request, staff: Staff, *, error: str | None = None, status_code: int = 200
) -> Response:
    page = request.query_params.get("page", "1")
    number = max(1, int(page)) if page.isdigit() and len(page) < 6 else 1
    found, total, names = await run_in_threadpool(_history, request.app.state.db, staff, number)
    pages = max(1, -(-total // HISTORY_PAGE))
    context: dict[str, Any] = {
        "jobs": found,
        "names": names,
        "total": total,
        "page": number,
        "pages": pages,
        "status_labels": STATUS_LABELS,
        "is_admin": _is_admin(staff),
        "scope": scope_of(staff).describe(),
        "limit_mb": request.app.state.settings.import_max_upload_mb,
        "error": error,
    }
    request.state.nav = "imports"
    return render(request, "imports.html", context, status_code=status_code)


@console_page(*REPORT_ROLES)
async def imports(request: Request, staff: Staff) -> Response:
    """The upload form and the history of imports (yours; an administrator's: everyone's)."""
    return await _imports_page(request, staff)


def _new_folder(base: Path | None) -> Path:
    """A fresh folder for an upload; folders a crashed worker left behind are removed first."""
    parent = base or Path(tempfile.gettempdir())
    for old in parent.glob(f"{FOLDER_PREFIX}*"):
        try:
            if old.is_dir() and time.time() - old.stat().st_mtime > LEFT_BEHIND:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # another worker swept it meanwhile
            continue
    return Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=parent))


class _Forged(UploadRefused):
    """The form did not come from this session's pages (CSRF)."""


def _check_form(request: Request, staff: Staff, fields: dict[str, str], name: str) -> None:
    """Before a byte of the file is kept: the form's token, who may roll back, that it is a CSV."""
    if not csrf_ok(request, FormData(fields)):
        raise _Forged(403, "csrf")
    if fields.get("allow_rollback") and not _is_admin(staff):
        raise UploadRefused(403, "Only an administrator may import with rollback; leave it unticked.")
    if not name.casefold().endswith(".csv"):
        raise UploadRefused(
            422, f"'{name}' is not a CSV file. Download the report from iGOT as CSV (or save it as 'CSV UTF-8')."
        )


def _create_job(db: Engine, staff: Staff, upload: Upload, allow_rollback: bool, scope: Scope) -> int:
    with write_scope(db) as session:
        job = jobs.create_job(
            session, staff=staff, file_name=upload.file_name, size_bytes=upload.size,
            allow_rollback=allow_rollback, scope=scope, worker=jobs.Worker.this(),
        )  # fmt: skip
        detail = f"{upload.file_name}, {upload.size} bytes" + (", allowing rollback" if allow_rollback else "")
        audit.record(session, actor=staff.name, action="import.uploaded", subject=f"import:{job.id}", detail=detail)
        return saved_id(job)


async def upload(request: Request) -> Response:
    """Receive a report (streamed to disk, size-limited), queue its import, show its page.

    Not a `console_form`: that would parse the whole body first; here the form's fields are checked
    before the file is written, and the file never passes through memory.
    """
    staff = await signed_in_staff(request)
    if staff is None:
        return redirect(path_for(request, "login"))
    refused = refusal(request, staff, REPORT_ROLES)
    if refused is not None:
        return refused
    db, settings = request.app.state.db, request.app.state.settings
    folder = await run_in_threadpool(_new_folder, settings.import_upload_dir)
    scope = scope_of(staff)
    try:
        check = partial(_check_form, request, staff)
        target = folder / runner.UPLOADED_NAME
        received = await receive_file(
            request, target=target, name=FILE_FIELD, limit=_upload_limit(request), check=check
        )
        allow_rollback = bool(received.fields.get("allow_rollback"))
        job_id = await run_in_threadpool(_create_job, db, staff, received, allow_rollback, scope)
    except UploadRefused as problem:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(problem, _Forged):
            return csrf_refused()
        return await _imports_page(request, staff, error=problem.message, status_code=problem.status_code)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    order = runner.ImportOrder(job_id=job_id, folder=folder, file_name=received.file_name,
                               scope=None if scope.everything else scope, allow_rollback=allow_rollback)  # fmt: skip
    runner.start(db, order)
    flash(request, f"'{received.file_name}' uploaded; its import has started.")
    return redirect(path_for(request, "import", job_id=job_id))


@dataclass(frozen=True)
class _Shown:
    """An import as its pages show it."""

    job: ImportJob
    uploader: str
    waiting: bool  # for another import to finish
    has_rejects: bool


def _visible(db: Engine, staff: Staff, job_id: int) -> _Shown | None:
    """The import, if this account may see it."""
    _reap(db)
    with session_scope(db) as session:
        job = jobs.visible_job(session, staff, job_id)
        if job is None:
            return None
        uploader = staff_names(session, {job.staff_id}).get(job.staff_id, "?")
        return _Shown(job, uploader, jobs.waiting_behind(session, job), has_rejects(session, job_id))


def _missing(request: Request) -> Response:
    return render(request, "import_missing.html", {}, status_code=404)


def _percent(job: ImportJob) -> int:
    return min(100, job.progress_bytes * 100 // job.size_bytes) if job.size_bytes else 100


@console_page(*REPORT_ROLES)
async def import_page(request: Request, staff: Staff) -> Response:
    """One import: its progress while it runs (the page refreshes itself), then its counts and rejects."""
    found = await run_in_threadpool(_visible, request.app.state.db, staff, request.path_params["job_id"])
    if found is None:
        return _missing(request)
    context = {
        "job": found.job,
        "uploader": found.uploader,
        "waiting": found.waiting,
        "has_rejects": found.has_rejects,
        "active": found.job.status in ACTIVE,
        "percent": _percent(found.job),
        "status_labels": STATUS_LABELS,
    }
    request.state.nav = "imports"
    return render(request, "import.html", context)


@console_page(*REPORT_ROLES)
async def import_status(request: Request, staff: Staff) -> Response:
    """One import's state as JSON, for the page's progress bar."""
    found = await run_in_threadpool(_visible, request.app.state.db, staff, request.path_params["job_id"])
    if found is None:
        return JSONResponse({"error": "no such import"}, status_code=404)
    job = found.job
    counts = ("rows_read", "inserted", "updated", "unchanged", "ignored_older", "rejected", "outside_scope")
    return JSONResponse({
        "status": job.status,
        "label": "Waiting for another import to finish" if found.waiting else STATUS_LABELS[job.status],
        "active": job.status in ACTIVE,
        "progress_bytes": job.progress_bytes,
        "size_bytes": job.size_bytes,
        "percent": _percent(job),
        **{name: getattr(job, name) for name in counts},
        "has_rejects": found.has_rejects,
        "error": job.error,
    })  # fmt: skip


def _part(db: Engine, job_id: int, part: int) -> bytes | None:
    with session_scope(db) as session:
        return rejects_part(session, job_id, part)


def _record_download(db: Engine, staff: Staff, job_id: int) -> None:
    with session_scope(db) as session:
        audit.record(session, actor=staff.name, action="import.rejects_downloaded", subject=f"import:{job_id}")


@console_page(*REPORT_ROLES)
async def rejects_csv(request: Request, staff: Staff) -> Response:
    """The rejected rows of an import with line and reason, as the importer wrote them."""
    db, job_id = request.app.state.db, request.path_params["job_id"]
    found = await run_in_threadpool(_visible, db, staff, job_id)
    if found is None or not found.has_rejects:
        return _missing(request)
    await run_in_threadpool(_record_download, db, staff, job_id)

    async def fetch(part: int) -> bytes | None:
        return await run_in_threadpool(_part, db, job_id, part)

    name = download_name(Path(found.job.file_name).stem, "rejects")
    return StreamingResponse(unpacked(fetch), media_type="text/csv; charset=utf-8", headers=attachment(name))


routes = [
    Route("/imports", imports, name="imports"),
    Route("/imports", upload, methods=["POST"]),
    Route("/imports/{job_id:int}", import_page, name="import"),
    Route("/imports/{job_id:int}/status.json", import_status, name="import_status"),
    Route("/imports/{job_id:int}/rejects.csv", rejects_csv, name="import_rejects"),
]
