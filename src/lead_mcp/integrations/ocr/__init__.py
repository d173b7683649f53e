"""OCR of business cards: engines behind one small interface, chosen by ``LEAD_MCP_OCR_ENGINE``.

``load_engine(settings)`` returns a ready engine (``auto``: Tesseract when its Latin model is
found, else EasyOCR when installed, else a SetupError that says what to install);
``read_card(engine, image)`` prepares a photo (see ``imaging``) and returns its text lines.
Both block: run them in a worker thread (``OcrPool`` does).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image

from lead_mcp.config import OcrEngineName, Settings
from lead_mcp.errors import SetupError
from lead_mcp.integrations.ocr import imaging
from lead_mcp.integrations.ocr.base import Line, OcrEngine, Word


@dataclass
class CardText:
    """What OCR read on one card, with the prepared image it read it from."""

    lines: list[Line]
    prepared: imaging.PreparedCard
    engine: str


def easyocr_available() -> bool:
    """True when the easyocr extra (and its offline weights) are installed."""
    try:
        import easyocr  # noqa: F401
        import easyocr_en_models  # noqa: F401
    except ImportError:
        return False
    return True


def load_engine(settings: Settings) -> OcrEngine:
    """The configured OCR engine, loaded and ready (raises SetupError naming what is missing)."""
    from lead_mcp.integrations.ocr import tesseract

    choice = settings.ocr_engine
    if choice in {OcrEngineName.AUTO, OcrEngineName.TESSERACT}:
        tessdata = tesseract.find_tessdata(settings.tessdata_dir)
        if tessdata is not None and tesseract.tesserocr_available():
            return tesseract.TesseractEngine(tessdata)
        if choice is OcrEngineName.TESSERACT:
            if tessdata is None:
                where = f" in LEAD_MCP_TESSDATA_DIR={settings.tessdata_dir}" if settings.tessdata_dir else ""
                raise SetupError(
                    f"LEAD_MCP_OCR_ENGINE=tesseract, but Latin.traineddata was not found{where}. "
                    f"{tesseract.INSTALL_HINT}"
                )
            raise SetupError(
                "LEAD_MCP_OCR_ENGINE=tesseract needs the tesserocr package: pip install tesserocr"
            )
    if choice in {OcrEngineName.AUTO, OcrEngineName.EASYOCR}:
        if easyocr_available():
            from lead_mcp.integrations.ocr.easyocr_engine import EasyOcrEngine

            return EasyOcrEngine()
        if choice is OcrEngineName.EASYOCR:
            raise SetupError(
                "LEAD_MCP_OCR_ENGINE=easyocr, but the easyocr extra is not installed: "
                "pip install 'lead-mcp[easyocr]' (easyocr, its offline English weights and torch)"
            )
    raise SetupError(
        "No OCR engine is available to read cards. Install Tesseract's Latin model "
        "(apt-get install tesseract-ocr-script-latn, as `make install` does) or set LEAD_MCP_TESSDATA_DIR "
        "to the folder holding Latin.traineddata; or install the easyocr extra: "
        "pip install 'lead-mcp[easyocr]'"
    )


def _score(lines: list[Line]) -> float:
    """Confident characters read: how well an orientation worked."""
    return sum(line.confidence * len(line.text) for line in lines)


def read_card(engine: OcrEngine, image: Image.Image) -> CardText:
    """Prepare a photo and OCR it, turning it when it lies sideways or upside down.

    The upright reading is kept when it is confident; otherwise the other three quarter turns
    are read too and the orientation with the most confidently read text wins (a sideways or
    upside-down photo reads as a few unsure fragments).
    """
    best = _read_turned(engine, image, 0)
    chars = sum(len(line.text) for line in best.lines)
    if chars >= 20 and _score(best.lines) / chars >= 0.75:
        return best
    for turn in (1, 3, 2):
        other = _read_turned(engine, image, turn)
        if _score(other.lines) > 1.3 * _score(best.lines):
            best = other
    return best


# Short words that end a line and that OCR reads without their closing period ("Inc", "S.A").
_STOP_WORD = re.compile(r"^(?:[A-Za-z]{2,4}|(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2})$")


def _restore_stops(page: Image.Image, lines: list[Line]) -> list[Line]:
    """Give back the full stop the OCR dropped after a short line-final word, when the page shows one."""
    out = []
    for line in lines:
        last = line.words[-1] if line.words else None
        if last is not None and _STOP_WORD.match(last.text) and imaging.dot_after(page, last.box):
            words = [*line.words[:-1], Word(last.text + ".", last.box, last.confidence)]
            line = Line(words=words, confidence=line.confidence, box=line.box)
        out.append(line)
    return out


def _read_turned(engine: OcrEngine, image: Image.Image, turn: int) -> CardText:
    prepared = imaging.prepare(image, turn=turn)
    lines = _restore_stops(prepared.page, engine.read(prepared.page, prepared.color))
    for patch in prepared.patches:
        dx, dy = patch.offset
        for line in _restore_stops(patch.image, engine.read(patch.image, patch.image.convert("RGB"))):
            words = [
                Word(w.text, (w.box[0] + dx, w.box[1] + dy, w.box[2] + dx, w.box[3] + dy), w.confidence)
                for w in line.words
            ]
            lines.append(Line(words=words, confidence=line.confidence))
    return CardText(lines=lines, prepared=prepared, engine=engine.name)


def pool_size() -> int:
    """Worker threads for OCR: one per core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def new_pool(workers: int | None = None) -> ThreadPoolExecutor:
    """The worker pool OCR runs in (off the event loop)."""
    return ThreadPoolExecutor(max_workers=workers or pool_size(), thread_name_prefix="lead-mcp-ocr")


__all__ = ["CardText", "Line", "OcrEngine", "Word", "load_engine", "new_pool", "pool_size", "read_card"]
