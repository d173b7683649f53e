"""Card-scan benchmark: field micro-F1, seconds per card and peak memory on the card fixtures.

    python -m benchmarks.scan_cards [--engine tesseract|easyocr|all] [--cards DIR] [--show] [--misses]
    python -m benchmarks.scan_cards --synthetic 60 --seed 1 [--misses]   # unseen cards (synth_cards)

Scoring follows ``shared/fixtures/cards/README.md``: micro-F1 over nine fields (given, family
and full name, title, company, email, phones, website, address); a present prediction that
matches is a true positive, a wrong one a false positive and a false negative; names, title,
company and address compare case-insensitively after NFC and whitespace collapsing; phones as
E.164 sets; email and website exactly after lower-casing (website without scheme and trailing
slash). Timing is warm (one card read first, not counted): median seconds per card for
decoding, preparing, OCR and extraction, one card at a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

from lead_mcp.config import OcrEngineName, Settings
from lead_mcp.integrations.ocr import imaging, load_engine, read_card
from lead_mcp.services.card_fields import Extraction, extract

DEFAULT_CARDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "cards"
TEXT_FIELDS = ("given_name", "family_name", "full_name", "title", "company", "address")
MAX_BYTES = 20_000_000
MAX_PIXELS = 40_000_000


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold() or None


def _site(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.lower().strip()
    for scheme in ("https://", "http://"):
        value = value.removeprefix(scheme)
    return value.rstrip("/") or None


def score_card(truth: dict[str, Any], got: Extraction) -> tuple[int, int, int, list[str]]:
    """(tp, fp, fn, mismatches) of one card."""
    tp = fp = fn = 0
    wrong: list[str] = []
    pairs: list[tuple[str, Any, Any]] = [
        (f, _text(truth.get(f)), _text(getattr(got, f))) for f in TEXT_FIELDS
    ]
    pairs.append(("email", (truth.get("email") or "").lower() or None, got.emails[0] if got.emails else None))
    pairs.append(("phones", frozenset(truth.get("phones") or []) or None, frozenset(got.phones) or None))
    pairs.append(("website", _site(truth.get("website")), _site(got.website)))
    for name, want, have in pairs:
        if have is not None and want is not None and have == want:
            tp += 1
            continue
        if have is not None:
            fp += 1
        if want is not None:
            fn += 1
        if have != want:
            wrong.append(f"{name}: want {want!r} got {have!r}")
    return tp, fp, fn, wrong


def load_cards(cards: Path) -> list[tuple[dict[str, Any], bytes]]:
    """(truth, image bytes) of every card in a folder with a truth.jsonl."""
    truth = [json.loads(line) for line in (cards / "truth.jsonl").read_text().splitlines() if line.strip()]
    return [(t, (cards / t["file"]).read_bytes()) for t in truth]


FIELDS = (*TEXT_FIELDS, "email", "phones", "website")


def run(
    engine_name: str, images: list[tuple[dict[str, Any], bytes]], show: bool, misses: bool = False
) -> dict[str, Any]:
    """Scan every card with one engine; returns the figures."""
    settings = Settings(ocr_engine=OcrEngineName(engine_name))
    engine = load_engine(settings)

    def one(data: bytes) -> Extraction:
        image = imaging.decode(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
        text = read_card(engine, image)
        return extract(text.lines, default_region=settings.default_region)

    one(images[0][1])  # warm-up: model load and first-call costs are not counted
    seconds: list[float] = []
    cpu: list[float] = []
    tp = fp = fn = 0
    by_field: dict[str, list[str]] = {f: [] for f in FIELDS}
    for card, data in images:
        start, start_cpu = time.perf_counter(), time.process_time()
        got = one(data)
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        a, b, c, wrong = score_card(card, got)
        tp, fp, fn = tp + a, fp + b, fn + c
        if show and wrong:
            print(f"  {card['id']}: " + "; ".join(wrong), file=sys.stderr)
        for item in wrong:
            name, _, detail = item.partition(": ")
            meta = card.get("meta") or {}
            by_field[name].append(f"{card['id']} [{meta.get('layout')}/{meta.get('degradation')}] {detail}")
    engine.close()
    if misses:
        for name in FIELDS:
            print(f"{name}: {len(by_field[name])} wrong of {len(images)}", file=sys.stderr)
            for line in by_field[name]:
                print(f"    {line}", file=sys.stderr)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "engine": engine_name,
        "cards": len(images),
        "f1": round(f1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "median_s_per_card": round(statistics.median(seconds), 3),
        "max_s_per_card": round(max(seconds), 3),
        "median_cpu_s_per_card": round(statistics.median(cpu), 3),
        "wrong_by_field": {name: len(by_field[name]) for name in FIELDS if by_field[name]},
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["tesseract", "easyocr", "all"], default="tesseract")
    parser.add_argument(
        "--cards", type=Path, default=DEFAULT_CARDS, help="folder with truth.jsonl and the PNGs"
    )
    parser.add_argument("--show", action="store_true", help="print each mismatching field to stderr")
    parser.add_argument("--misses", action="store_true", help="print the misses grouped by field to stderr")
    parser.add_argument(
        "--synthetic", type=int, metavar="N", help="score N generated cards (benchmarks.synth_cards) instead"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated cards")
    args = parser.parse_args(argv)
    engines = ["tesseract", "easyocr"] if args.engine == "all" else [args.engine]
    if args.synthetic:
        from benchmarks import synth_cards

        images = synth_cards.cards(args.synthetic, args.seed)
    else:
        images = load_cards(args.cards)
    for name in engines:
        figures = run(name, images, args.show, args.misses)
        if args.synthetic:
            figures["synthetic_seed"] = args.seed
        # ru_maxrss is KiB on Linux: the peak of this whole process so far (engines run in order).
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
