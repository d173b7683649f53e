"""Both OCR engines on real fixture cards, and how the engine is chosen."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from lead_mcp.config import OcrEngineName, Settings
from lead_mcp.errors import SetupError
from lead_mcp.integrations.ocr import imaging, load_engine, read_card
from lead_mcp.services.card_fields import extract
from tests.conftest import FIXTURES

CARDS = FIXTURES / "cards"
TRUTH = {row["file"]: row for row in map(json.loads, (CARDS / "truth.jsonl").read_text().splitlines())}


def _read(engine, name: str):
    image = imaging.decode((CARDS / name).read_bytes(), max_bytes=20_000_000, max_pixels=40_000_000)
    return extract(read_card(engine, image).lines, default_region="US")


@pytest.fixture(scope="module")
def tesseract():
    engine = load_engine(Settings(ocr_engine=OcrEngineName.TESSERACT))
    yield engine
    engine.close()


@pytest.mark.parametrize(
    "name",
    [
        "card_002.png",  # rotated scan, German address and numbers
        "card_003.png",  # photo on a table, diacritics, Australian numbers
        "card_009.png",  # rotated, white text on red and black
        "card_013.png",  # company in white on a blue band
        "card_019.png",  # sidebar company over two lines, logo bars
        "card_010.png",  # particle name "Zoë Ó Briain", dark card
    ],
)
def test_tesseract_reads_every_field_of_fixture_cards(tesseract, name):
    truth = TRUTH[name]
    got = _read(tesseract, name)
    for field in ("full_name", "given_name", "family_name", "title", "company", "website", "address"):
        assert getattr(got, field) == truth[field], field
    assert got.emails == [truth["email"]]
    assert got.phones == truth["phones"]
    assert all(0 < v <= 1 for v in got.confidence.values())


@pytest.mark.slow
def test_easyocr_reads_fixture_cards_offline(monkeypatch):
    import urllib.request

    def no_download(*args, **kwargs):
        raise AssertionError(f"easyocr tried to download {args[:1]}")

    # EasyOCR fetches missing weights with urllib; the offline models must make that unnecessary.
    monkeypatch.setattr(urllib.request, "urlretrieve", no_download)
    monkeypatch.setattr(urllib.request, "urlopen", no_download)
    engine = load_engine(Settings(ocr_engine=OcrEngineName.EASYOCR))
    try:
        assert engine.name == "easyocr"
        got = _read(engine, "card_014.png")
        truth = TRUTH["card_014.png"]
        assert got.full_name == "Noah Hughes" and got.title == "Mortgage Broker"
        assert got.emails == [truth["email"]] and got.phones == truth["phones"]
        assert got.website == truth["website"]
    finally:
        engine.close()


def test_auto_engine_prefers_tesseract_and_says_what_to_install_when_nothing_is_there(tmp_path):
    assert load_engine(Settings()).name == "tesseract"
    with pytest.raises(SetupError, match="tesseract-ocr-script-latn"):
        load_engine(Settings(ocr_engine=OcrEngineName.TESSERACT, tessdata_dir=tmp_path))
    # With the model missing, auto falls back to easyocr (installed by the test extras).
    assert load_engine(Settings(ocr_engine=OcrEngineName.AUTO, tessdata_dir=tmp_path)).name == "easyocr"


def test_decode_applies_exif_orientation_and_reads_webp_and_jpeg(tmp_path):
    card = Image.open(CARDS / "card_008.png").convert("RGB")
    rotated = card.rotate(90, expand=True)  # stored sideways, EXIF says "rotate back"
    exif = Image.Exif()
    exif[0x0112] = 8  # orientation: rotate 90 clockwise to view
    path = tmp_path / "sideways.jpg"
    rotated.save(path, format="JPEG", quality=92, exif=exif)
    decoded = imaging.decode(path.read_bytes(), max_bytes=10**8, max_pixels=10**8)
    assert decoded.size == card.size
    webp = tmp_path / "card.webp"
    card.save(webp, format="WEBP", quality=90)
    assert imaging.decode(webp.read_bytes(), max_bytes=10**8, max_pixels=10**8).size == card.size
    with pytest.raises(imaging.ImageRejected, match="not a PNG, JPEG or WebP"):
        imaging.decode(b"GIF89a" + b"\0" * 50, max_bytes=10**8, max_pixels=10**8)


def test_a_card_photographed_upside_down_on_a_table_is_still_found_and_read(tesseract, tmp_path):
    card = Image.open(CARDS / "card_015.png").convert("RGB")
    table = Image.new("RGB", (1800, 1300), (120, 90, 60))
    table.paste(card.rotate(-7, expand=True, fillcolor=(120, 90, 60)), (200, 180))
    prepared = imaging.prepare(table)
    assert prepared.card_found
    got = extract(tesseract.read(prepared.page, prepared.color), default_region="US")
    assert got.full_name == "Daniel Lindqvist" and got.emails == ["dlindqvist@lakeshore.co"]


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_card_photographed_sideways_or_upside_down_is_turned_and_read(tesseract, turn):
    card = Image.open(CARDS / "card_006.png").convert("RGB").rotate(turn, expand=True)
    got = extract(read_card(tesseract, card).lines, default_region="US")
    assert got.full_name == "Liam Chen" and got.emails == ["lchen@blueharbor.com"]
