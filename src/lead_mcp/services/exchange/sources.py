"""Where import bytes come from: inline content or a file under the scan roots, read line by line.

A path is resolved (symlinks followed) and must then lie inside one of
``LEAD_MCP_SCAN_ROOTS``; anything else is refused, so a model cannot make the
server read ``~/.ssh`` or ``/etc``. Both kinds of input are size-limited by
``LEAD_MCP_IMPORT_MAX_BYTES`` before any record is read. Lines come out as
bytes with their numbers: a UTF-8 BOM is dropped (``bom`` remembers it, so a
reader knows the file declared UTF-8), and a UTF-16 file (Excel's "Unicode
text", Outlook) is transcoded to UTF-8. Line ends are universal: a file whose
lines end in a bare CR (Excel's "CSV (Macintosh)", classic Mac OS) is split
on CR; otherwise lines end at LF (CRLF included).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from lead_mcp.config import Settings
from lead_mcp.errors import InvalidInput

PEEK_BYTES = 4096
READ_CHUNK = 1 << 16


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _size_error(field_name: str, size: int, limit: int) -> InvalidInput:
    return InvalidInput(
        field_name,
        f"is {_megabytes(size)}; imports are limited to {_megabytes(limit)} (LEAD_MCP_IMPORT_MAX_BYTES)",
        "Split the file into smaller files and import them one after another, or raise the limit",
    )


def resolve_under_roots(raw: str, settings: Settings, *, field_name: str = "path") -> Path:
    """The real path of a file inside the scan roots, or InvalidInput naming the allowed folders."""
    roots = [r.expanduser().resolve() for r in settings.scan_roots]
    if not roots:
        raise InvalidInput(
            field_name,
            "no folders are open to lead-mcp (LEAD_MCP_SCAN_ROOTS is empty)",
            "Set LEAD_MCP_SCAN_ROOTS to the folder holding the file, or pass the text as content",
        )
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InvalidInput(
            field_name, f"{raw!r} does not exist", "Give the full path of a file inside " + _roots_text(roots)
        ) from None
    if not any(real.is_relative_to(root) for root in roots):
        raise InvalidInput(
            field_name,
            f"{raw!r} is outside the folders lead-mcp may read",
            "Move the file into " + _roots_text(roots) + " (LEAD_MCP_SCAN_ROOTS) and pass that path",
        )
    if not real.is_file():
        raise InvalidInput(
            field_name, f"{raw!r} is not a regular file", "Give the path of a .vcf or .csv file"
        )
    return real


def _roots_text(roots: list[Path]) -> str:
    return " or ".join(str(r) for r in roots[:5])


@dataclass
class Progress:
    """Bytes read so far out of the total, for progress reports."""

    total: int
    done: int = 0


@dataclass
class ImportSource:
    """The bytes to import and how to open them."""

    label: str
    size: int
    path: Path | None = None
    content: bytes | None = None
    progress: Progress = field(init=False)
    bom: str | None = field(init=False, default=None)  # "utf-8" or "utf-16" once lines() saw one

    def __post_init__(self) -> None:
        self.progress = Progress(total=self.size)

    @classmethod
    def from_content(cls, content: str, settings: Settings) -> ImportSource:
        """Inline text (a tool argument)."""
        data = content.encode("utf-8", errors="surrogatepass")
        if len(data) > settings.import_max_bytes:
            raise _size_error("content", len(data), settings.import_max_bytes)
        return cls(label="content", size=len(data), content=data)

    @classmethod
    def from_file(cls, path: Path, settings: Settings, *, field_name: str = "path") -> ImportSource:
        """A file already checked to be allowed (see :func:`resolve_under_roots`); the CLI passes any file."""
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidInput(
                field_name, f"cannot read {str(path)!r} ({exc.strerror})", "Check the path"
            ) from None
        if size > settings.import_max_bytes:
            raise _size_error(field_name, size, settings.import_max_bytes)
        return cls(label=str(path), size=size, path=path)

    def _open(self) -> BinaryIO:
        if self.content is not None:
            return io.BytesIO(self.content)
        assert self.path is not None
        return self.path.open("rb")

    def head(self) -> bytes:
        """The first bytes (format detection), BOM removed, UTF-16 transcoded."""
        with self._open() as stream:
            data = stream.read(PEEK_BYTES)
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16", errors="ignore").encode("utf-8")
        return data.removeprefix(codecs.BOM_UTF8)

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """Numbered lines (1-based) with their line ends; progress advances as they go."""
        with self._open() as stream:
            head = stream.read(PEEK_BYTES)
            stream.seek(0)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                self.bom = "utf-16"
                # newline="": universal line splitting (CR, LF, CRLF), line ends kept as they are.
                text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="")
                for number, line in enumerate(text, 1):
                    self.progress.done = min(self.size, self.progress.done + len(line) * 2)
                    yield number, line.encode("utf-8")
                return
            if head.startswith(codecs.BOM_UTF8):
                self.bom = "utf-8"
            # Rows end in bare CRs when they outnumber LFs (an LF may still break a line inside a cell).
            bare_cr = head.count(b"\r") - head.count(b"\r\n")
            raw_lines = _cr_lines(stream) if bare_cr > head.count(b"\n") else stream
            for number, raw in enumerate(raw_lines, 1):
                self.progress.done += len(raw)
                yield number, raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw


def _cr_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines ending in a bare CR (each with its CR), read in chunks."""
    rest = b""
    while chunk := stream.read(READ_CHUNK):
        parts = (rest + chunk).split(b"\r")
        rest = parts.pop()
        for part in parts:
            yield part + b"\r"
    if rest:
        yield rest
