"""The small interface every OCR engine implements: a page image in, text lines with boxes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from PIL import Image


@dataclass(frozen=True)
class Word:
    """One recognised word and its box (x0, y0, x1, y1) in page pixels."""

    text: str
    box: tuple[int, int, int, int]
    confidence: float


@dataclass
class Line:
    """One recognised text line: its words in reading order, box and confidence 0-1."""

    words: list[Word]
    confidence: float
    box: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))

    def __post_init__(self) -> None:
        if self.words and self.box == (0, 0, 0, 0):
            self.box = (
                min(w.box[0] for w in self.words),
                min(w.box[1] for w in self.words),
                max(w.box[2] for w in self.words),
                max(w.box[3] for w in self.words),
            )

    @property
    def text(self) -> str:
        """The words joined by single spaces."""
        return " ".join(w.text for w in self.words)

    @property
    def height(self) -> int:
        """Box height in pixels (a proxy for font size)."""
        return self.box[3] - self.box[1]


class OcrEngine(Protocol):
    """Reads text lines from a prepared page. ``read`` blocks: call it from a worker thread."""

    name: str

    def read(self, page: Image.Image, color: Image.Image) -> list[Line]:
        """Text lines of a grayscale page (dark text on light); ``color`` is the same page in RGB."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...
