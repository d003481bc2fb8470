"""The rejects file of a console import, kept in the database (gzip, in parts) for any worker to hand out.

An upload is imported on one machine but its page may be served by any; the rejects file (line,
reason and the row as uploaded) is therefore stored with the job, compressed (such files repeat the
same reasons and cells), in parts of at most PART_BYTES so no part is large to read or hand out.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import count
from pathlib import Path

from sqlmodel import Session, col, select

from bot.models import ImportRejects

PART_BYTES = 1 << 20
READ_BYTES = 1 << 20
GZIP = 31  # zlib's window bits for the gzip format


def save_rejects(session: Session, job_id: int, path: Path) -> None:
    """Store the rejects file of a job, read and compressed a block at a time."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP)
    pending = bytearray()
    part = 0
    with path.open("rb") as stream:
        while block := stream.read(READ_BYTES):
            pending += compressor.compress(block)
            while len(pending) >= PART_BYTES:
                session.add(ImportRejects(job_id=job_id, part=part, data=bytes(pending[:PART_BYTES])))
                del pending[:PART_BYTES]
                part += 1
    pending += compressor.flush()
    for start in range(0, len(pending), PART_BYTES):
        session.add(ImportRejects(job_id=job_id, part=part, data=bytes(pending[start : start + PART_BYTES])))
        part += 1
    session.flush()


def has_rejects(session: Session, job_id: int) -> bool:
    return (
        session.exec(select(ImportRejects.part).where(col(ImportRejects.job_id) == job_id).limit(1)).first() is not None
    )


def rejects_part(session: Session, job_id: int, part: int) -> bytes | None:
    """One stored part, compressed (None past the last)."""
    row = session.get(ImportRejects, (job_id, part))
    return row.data if row is not None else None


async def unpacked(fetch: Callable[[int], Awaitable[bytes | None]]) -> AsyncIterator[bytes]:
    """The rejects file's bytes, from its parts as `fetch(part)` gives them (None past the last)."""
    decompressor = zlib.decompressobj(wbits=GZIP)
    for part in count():
        data = await fetch(part)
        if data is None:
            break
        if chunk := decompressor.decompress(data):
            yield chunk
    if rest := decompressor.flush():
        yield rest
