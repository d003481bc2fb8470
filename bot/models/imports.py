"""Reports imported from the staff console: each upload's job, and the rejected rows it left."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field

from bot.models.base import TableModel, utcnow


class ImportStatus(StrEnum):
    QUEUED = "queued"  # uploaded; waits while another import runs
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the file as a whole could not be imported, or the import stopped on an error
    INTERRUPTED = "interrupted"  # the worker running it stopped (crash, restart) before it ended


ACTIVE_IMPORT_STATUSES = (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportJob(TableModel, table=True):
    """One report uploaded in the console and imported in the background, in the database so that
    any worker can show its progress, and a job whose worker died is seen as interrupted."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_staff_created", "staff_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", description="who uploaded it")
    file_name: str = Field(max_length=200, description="the uploaded file's name, as the browser gave it")
    size_bytes: int = 0
    progress_bytes: int = Field(default=0, description="how far into the file the import has read")
    status: str = Field(default=ImportStatus.QUEUED.value, max_length=12, index=True, description="ImportStatus")
    allow_rollback: bool = False
    scope: str = Field(default="", description="what the uploader could import, e.g. 'district raipur'")
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored_older: int = 0
    rejected: int = 0
    outside_scope: int = 0
    employees_added: int = 0
    employees_updated: int = 0
    courses_added: int = 0
    shared_phones: str = Field(default="", description="masked phones now shared by several employees")
    error: str | None = None
    worker_host: str = Field(default="", max_length=120)
    worker_pid: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    heartbeat_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ImportRejects(TableModel, table=True):
    """The rejects file of an import (line, reason and the row as uploaded), gzip-compressed in parts,
    so that any worker on any machine can hand it out."""

    __tablename__ = "import_rejects"

    job_id: int = Field(foreign_key="import_job.id", primary_key=True)
    part: int = Field(primary_key=True, description="0, 1, ...: the parts in order")
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
