"""Small real files as users send them: a PNG screenshot a browser can draw, a PDF's first bytes."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 48, height: int = 32, rgb: tuple[int, int, int] = (20, 54, 93)) -> bytes:
    """A solid-colour PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    image = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + image


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<html><script>alert(document.cookie)</script></html>"
