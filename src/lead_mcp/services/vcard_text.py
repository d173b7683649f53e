"""vCard 3.0 (RFC 2426) text: escaping, line folding and one card's lines.

Small and free of dependencies so any exporter can share it: values escape
backslash, comma, semicolon and newlines; lines end in CRLF and are folded at
75 octets of UTF-8 (never inside a character), continuation lines starting
with one space, as Apple Contacts, Google Contacts and Outlook expect.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence

MAX_LINE_OCTETS = 75
CRLF = "\r\n"


def escape(value: str) -> str:
    """A text value with ``\\ , ;`` and line breaks escaped (RFC 2426 section 4)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def structured(parts: Sequence[str | None]) -> str:
    """A structured value (N, ADR): each component escaped, joined by ``;``."""
    return ";".join(escape(p or "") for p in parts)


def fold(line: str) -> str:
    """One content line folded to lines of at most 75 octets, joined by CRLF + space."""
    data = line.encode("utf-8")
    if len(data) <= MAX_LINE_OCTETS:
        return line
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
            limit = MAX_LINE_OCTETS - 1  # continuation lines begin with a space
        current.append(char)
        size += width
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def content_line(name: str, value: str, params: Iterable[str] = ()) -> str:
    """``NAME;PARAMS:value`` folded; ``value`` must already be escaped."""
    head = ";".join([name, *params])
    return fold(f"{head}:{value}")


def photo_line(data: bytes, image_type: str) -> str:
    """An inline PHOTO (base64, ``ENCODING=b``) folded like any line."""
    kind = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}.get(image_type, "JPEG")
    return content_line("PHOTO", base64.b64encode(data).decode("ascii"), ["ENCODING=b", f"TYPE={kind}"])


def card(lines: Iterable[str]) -> str:
    """A whole ``BEGIN:VCARD`` ... ``END:VCARD`` block (VERSION 3.0) around the given content lines."""
    body = [
        content_line("BEGIN", "VCARD"),
        content_line("VERSION", "3.0"),
        *lines,
        content_line("END", "VCARD"),
    ]
    return CRLF.join(body) + CRLF
