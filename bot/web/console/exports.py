"""CSV downloads from the console: UTF-8 with a BOM (Excel then reads Hindi right), streamed, and safe
to open in a spreadsheet.

A cell that begins with `=`, `+`, `-` or `@` is a formula to Excel and LibreOffice: a name in an
imported report could otherwise run as one on a nodal officer's machine. Such text cells get a
leading `'` (shown as text, as OWASP advises); numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import AsyncIterator, Iterable, Sequence
from urllib.parse import quote

from starlette.responses import StreamingResponse

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | None


def spreadsheet_safe(value: Cell) -> Cell:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Sequence[Cell]]) -> str:
    """Rows as CSV text, each cell made safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def file_name(*words: str) -> str:
    """A download's name from words: letters (any script), digits and dashes, e.g. `pending-district-raipur.csv`."""
    joined = "-".join(word.casefold() for word in words if word)
    text = "".join(char if unicodedata.category(char)[0] in "LMN" else "-" for char in joined)
    slug = re.sub("-{2,}", "-", text).strip("-")  # letters with their vowel signs (M), as Hindi needs
    return (slug or "export")[:120] + ".csv"


def csv_download(chunks: AsyncIterator[str], name: str) -> StreamingResponse:
    """A CSV file download, sent as its chunks come."""

    async def with_bom() -> AsyncIterator[bytes]:
        yield BOM.encode()
        async for chunk in chunks:
            yield chunk.encode()

    return StreamingResponse(with_bom(), media_type="text/csv; charset=utf-8", headers=attachment(name))


def attachment(name: str) -> dict[str, str]:
    """Headers that make the browser save the response as this file: the name as written (RFC 6266), and
    in ASCII for old clients (other letters as `_`)."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}
