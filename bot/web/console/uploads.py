"""Receiving one uploaded file: the multipart body parsed as it arrives, the file written straight to disk.

Not `request.form()`: Starlette's parser keeps every file part in an anonymous SpooledTemporaryFile
(1 MB in memory, then the system's temporary folder) with no limit on its size, and returns only once
the whole body has arrived. Here python-multipart's streaming parser is fed each chunk as it comes:
the size limit is checked against Content-Length before anything is read and against the bytes as they
come, the file part goes straight to the file the import reads (never more than a chunk in memory),
and the form's fields before the file (the CSRF token first) are checked before a byte of it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FIELD_BYTES = 4096  # a text field of the form: the CSRF token, a checkbox
MAX_PARTS = 16
ENVELOPE_BYTES = 64 * 1024  # boundaries, part headers and the small fields around the file
NAME_CHARS = 200


class UploadRefused(Exception):
    """The upload cannot be taken: an HTTP status and what to tell the person."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class Upload:
    """What arrived: the form's text fields, the file's name as the browser gave it, its size in bytes."""

    fields: dict[str, str] = field(default_factory=dict)
    file_name: str = ""
    size: int = 0


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(413, f"The file is larger than the limit of {limit // 2**20} MB (IMPORT_MAX_UPLOAD_MB).")


Check = Callable[[dict[str, str], str], None]


async def receive_file(request: Request, *, target: Path, name: str, limit: int, check: Check) -> Upload:
    """Write the form's file field `name` to `target` (at most `limit` bytes); its fields and file name.

    `check` sees the text fields sent before the file and the file's name, and raises UploadRefused
    to stop there, before a byte of the file is written.
    Raises UploadRefused for anything else wrong with the upload (`target` is then left incomplete).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise too_large(limit)
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise UploadRefused(400, "Send the report with the upload form (multipart/form-data).")
    receiver = _Receiver(target=target, name=name, limit=limit, check=check)
    parser = MultipartParser(options[b"boundary"], receiver.callbacks())
    try:
        async for chunk in request.stream():
            await run_in_threadpool(parser.write, chunk)  # the file is written as the chunk is parsed
        parser.finalize()
    except FormParserError as error:
        raise UploadRefused(400, "The upload was not a well-formed form; try again.") from error
    except ClientDisconnect as error:
        raise UploadRefused(400, "The upload was cut off before it ended; try again.") from error
    finally:
        receiver.close()
    if not receiver.received_file:
        raise UploadRefused(422, "Choose a report file to upload.")
    return receiver.upload


def client_file_name(raw: str) -> str:
    """The last component of the name the browser sent (some send a whole path), shortened."""
    name = PureWindowsPath(PurePosixPath(raw).name).name.strip()
    return name[-NAME_CHARS:]


class _Receiver:
    """python-multipart's callbacks: text fields into a dict, the one file part into the target file."""

    def __init__(self, *, target: Path, name: str, limit: int, check: Check):
        self.target, self.name, self.limit, self.check = target, name, limit, check
        self.upload = Upload()
        self.received_file = False
        self._parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._field: str | None = None  # the text field being read
        self._value = bytearray()
        self._file: BinaryIO | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise UploadRefused(400, "The upload form has too many fields.")
        self._disposition, self._field = b"", None
        self._value.clear()

    def _header_end(self) -> None:
        if bytes(self._header_name).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        part_name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            self._field = part_name
            return
        if part_name != self.name or self.received_file:
            raise UploadRefused(400, "Upload one report file at a time.")
        self.upload.file_name = client_file_name(options[b"filename"].decode("utf-8", "replace"))
        self.check(self.upload.fields, self.upload.file_name)
        self.received_file = True
        self._file = self.target.open("xb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self.upload.size += end - start
            if self.upload.size > self.limit:
                raise too_large(self.limit)
            self._file.write(data[start:end])
            return
        self._value.extend(data[start:end])
        if len(self._value) > FIELD_BYTES:
            raise UploadRefused(400, "A field of the upload form is too long.")

    def _part_end(self) -> None:
        if self._file is not None:
            self.close()
        elif self._field is not None:
            self.upload.fields[self._field] = self._value.decode("utf-8", "replace")
