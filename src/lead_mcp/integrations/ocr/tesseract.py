"""Tesseract through tesserocr (its wheel bundles libtesseract 5.5), with the Latin script model.

One ``PyTessBaseAPI`` per worker thread: tesserocr releases the GIL while it recognises, and
Tesseract's own OpenMP threads only added context switches here, so the pool scales across
cores instead. The model is Debian's ``tesseract-ocr-script-latn`` (``Latin.traineddata``),
found under ``/usr/share/tesseract-ocr/*/tessdata`` or in ``LEAD_MCP_TESSDATA_DIR``.
"""

from __future__ import annotations

import glob
import os
import re
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from lead_mcp.errors import SetupError
from lead_mcp.integrations.ocr.base import Line, Word

MODEL = "Latin"
MODEL_FILE = f"{MODEL}.traineddata"
SYSTEM_PATTERNS = (
    "/usr/share/tesseract-ocr/*/tessdata/script",
    "/usr/share/tesseract-ocr/*/tessdata",
    "/usr/share/tessdata/script",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata/script",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata/script",
    "/opt/homebrew/share/tessdata",
)
INSTALL_HINT = (
    "Install Tesseract's Latin model (Debian/Ubuntu: apt-get install tesseract-ocr-script-latn, which "
    "`make install` does), or set LEAD_MCP_TESSDATA_DIR to the folder holding Latin.traineddata"
)
# Lines this unsure are noise (logo shapes read as letters); the extractor sees the rest.
MIN_WORD_CONFIDENCE = 20.0
# ...except words shaped like an email or web address: Tesseract gives a long token with one
# unsure letter a very low confidence, yet it is usually read right (and logo shapes never read
# as "name@host.tld" or "www.").
_ADDRESS_SHAPED = re.compile(
    r"^(?:[\w.+'-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}|(?:https?:/*)?www\.\S*|https?://\S*|[a-z0-9-]{3,}\.[a-z]{2,4}(?:/\S*)?)$",
    re.IGNORECASE,
)


def find_tessdata(configured: Path | None) -> Path | None:
    """The folder holding Latin.traineddata: the configured one, else a system location."""
    if configured is not None:
        for candidate in (configured, configured / "script"):
            if (candidate / MODEL_FILE).is_file():
                return candidate
        return None
    for pattern in SYSTEM_PATTERNS:
        for folder in sorted(glob.glob(pattern), reverse=True):
            if (Path(folder) / MODEL_FILE).is_file():
                return Path(folder)
    return None


def tesserocr_available() -> bool:
    """True when the tesserocr module imports."""
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return False
    return True


class TesseractEngine:
    """Tesseract with one API object per calling thread."""

    name = "tesseract"

    def __init__(self, tessdata: Path) -> None:
        # Tesseract would start its own OpenMP threads per page; the pool already uses every core.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        try:
            import tesserocr
        except ImportError:
            raise SetupError(
                "The tesseract OCR engine needs the tesserocr package: pip install tesserocr"
            ) from None
        self._tesserocr: Any = tesserocr
        self.tessdata = tessdata
        self._local = threading.local()
        self._apis: list[Any] = []
        self._lock = threading.Lock()
        self._api()  # fail now, not on the first card, if the model does not load

    def _api(self) -> Any:
        api = getattr(self._local, "api", None)
        if api is None:
            tesserocr = self._tesserocr
            try:
                api = tesserocr.PyTessBaseAPI(
                    path=str(self.tessdata),
                    lang=MODEL,
                    psm=tesserocr.PSM.SPARSE_TEXT,
                    oem=tesserocr.OEM.LSTM_ONLY,
                )
            except RuntimeError as exc:
                raise SetupError(
                    f"Tesseract could not load {MODEL_FILE} from {self.tessdata} ({exc}). {INSTALL_HINT}"
                ) from None
            api.SetVariable("user_defined_dpi", "300")
            self._local.api = api
            with self._lock:
                self._apis.append(api)
        return api

    def read(self, page: Image.Image, color: Image.Image) -> list[Line]:
        """Text lines with word boxes, in Tesseract's reading order."""
        tesserocr = self._tesserocr
        api = self._api()
        api.SetImage(page)
        api.Recognize()
        lines: list[Line] = []
        iterator = api.GetIterator()
        if iterator is None:
            return lines
        level_line, level_word = tesserocr.RIL.TEXTLINE, tesserocr.RIL.WORD
        words: list[Word] = []
        while True:
            if iterator.IsAtBeginningOf(level_line) and words:
                lines.append(_line(words))
                words = []
            try:
                text = iterator.GetUTF8Text(level_word)
            except RuntimeError:  # an empty word
                text = ""
            box = iterator.BoundingBox(level_word)
            if text and text.strip() and box is not None:
                confidence = iterator.Confidence(level_word)
                if confidence >= MIN_WORD_CONFIDENCE or _ADDRESS_SHAPED.match(text.strip()):
                    words.append(Word(text.strip(), tuple(int(v) for v in box), confidence / 100))  # type: ignore[arg-type]
            if not iterator.Next(level_word):
                break
        if words:
            lines.append(_line(words))
        api.Clear()
        return lines

    def close(self) -> None:
        """End every thread's API object."""
        with self._lock:
            for api in self._apis:
                api.End()
            self._apis.clear()


def _line(words: list[Word]) -> Line:
    confidence = sum(w.confidence * len(w.text) for w in words) / max(1, sum(len(w.text) for w in words))
    return Line(words=list(words), confidence=confidence)
