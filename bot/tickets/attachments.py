"""Files users sent on a ticket, for staff: fetched once from the channel, recognised by their first
bytes (never by what the sender or the channel claims), size-checked, and kept in the database.

Images a browser shows safely (JPEG, PNG, GIF, WebP) are shown inline; PDFs, office files, audio
and video are offered as downloads; anything else is refused. SVG and HTML are never served: a
browser would run their scripts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.models import AttachmentFile, Ticket, TicketMessage

INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# What a file's first bytes say it is; the order matters only for prefixes of each other (none here).
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),  # .docx, .xlsx, .pptx and plain zips
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls
    (0, b"OggS", "audio/ogg"),  # Telegram and WhatsApp voice notes
    (4, b"ftyp", "video/mp4"),
)
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/x-ole-storage": "doc",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
}


class UnknownType(ValueError):
    """The file is of a kind the console does not serve."""


def recognise(data: bytes) -> str:
    """The file's type from its first bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for offset, signature, content_type in SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return content_type
    raise UnknownType("the file is not an image, PDF, office document, voice note or video the console can show")


@dataclass(frozen=True)
class Wanted:
    """A file on a ticket's transcript line: where to fetch it, if it is not kept yet."""

    line_id: int
    channel: str
    ref: str
    kind: str


def wanted(session: Session, ticket: Ticket, line_id: int) -> Wanted | None:
    """The file on this line of this ticket (a line of another ticket is not found)."""
    line = session.get(TicketMessage, line_id)
    if line is None or line.ticket_id != ticket.id or not line.attachment_ref:
        return None
    return Wanted(line_id, ticket.channel, line.attachment_ref, line.attachment_kind or "file")


def kept(session: Session, line_id: int) -> AttachmentFile | None:
    return session.get(AttachmentFile, line_id)


def keep(session: Session, line_id: int, data: bytes) -> AttachmentFile:
    """Store a fetched file, recognised; a file another worker stored meanwhile wins."""
    found = kept(session, line_id)
    if found is not None:
        return found
    stored = AttachmentFile(ticket_message_id=line_id, content_type=recognise(data), size_bytes=len(data), data=data)
    session.add(stored)
    return stored


def file_name(ref: str, line_id: int, content_type: str) -> str:
    """What a download is called: the ticket and line, never what the user named it (it may hold PII)."""
    return f"{ref}-{line_id}.{EXTENSIONS.get(content_type, 'bin')}"
