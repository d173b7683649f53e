"""What the card tests share: a sample card, a real QR decoder, and reading the form token from a page."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import zxingcpp
from PIL import Image

from lead_mcp.web import form_token

# A phone's browser: views from bots and scripts are not counted, so tests look like a person.
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)

CARD = {
    "full_name": "Ana Souza",
    "title": "Founder & CEO",
    "company": "Fintech.io; Payments, Lending",
    "email": "ana@fintech.io",
    "phone": "+1 415 555 0100",
    "website": "fintech.io/team",
    "bio": "I help small banks ship faster.\nSecond line, with commas; semicolons \\ and a backslash. "
    "Çà et là: naïve façade, 東京, Zürich — a long line that a vCard writer must fold.",
    "links": ["https://linkedin.com/in/ana-souza", "Book a call | https://cal.com/ana"],
}


def decode_qr(image: bytes) -> list[str]:
    """Every QR code a real decoder (ZXing) finds in a PNG/JPEG image."""
    picture = Image.open(io.BytesIO(image)).convert("L")
    return [
        result.text
        for result in zxingcpp.read_barcodes(picture)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def form_token_of(html: str) -> str:
    """The signed form token a card page carries."""
    found = _TOKEN.search(html)
    assert found, "the page has no form token"
    return found.group(1)


def seconds_until_fillable(token: str, min_seconds: float) -> float:
    """How long a visitor must still wait before the form may be sent (from the time in the token)."""
    issued = form_token.issued_at(token)
    assert issued is not None
    return max(0.0, min_seconds - (datetime.now(UTC) - issued).total_seconds() + 0.05)
