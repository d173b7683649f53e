"""QR codes decode (with a real decoder) to what they encode; NDEF records are well formed."""

from __future__ import annotations

import segno

from lead_mcp.integrations import qr
from tests.card_support import decode_qr


def test_the_png_qr_code_decodes_to_the_url_it_encodes():
    url = "https://cards.example.com/c/ana-souza?src=qr"
    assert decode_qr(qr.png(url)) == [url]


def test_the_qr_code_has_print_grade_error_correction():
    code = qr.make("https://cards.example.com/c/ana-souza?src=qr")
    assert code.error in {"Q", "H"} and not code.is_micro
    assert isinstance(code, segno.QRCode)


def test_the_inline_svg_scales_and_has_a_white_background_for_dark_themes():
    svg = qr.svg_inline("http://127.0.0.1:8765/c/ana?src=qr")
    assert svg.startswith("<svg viewBox=") and 'fill="#fff"' in svg and "width=" not in svg.split(">")[0]


def test_an_ndef_uri_record_uses_the_https_prefix_code_and_short_record_form():
    message = qr.ndef_uri_message("https://cards.example.com/c/ana?src=nfc")
    assert message[0] == 0xD1  # MB | ME | SR | TNF well-known
    assert message[1] == 1 and message[3:4] == b"U" and message[4] == 0x04
    assert message[2] == len(message) - 4
    assert qr.parse_ndef_uri_message(message) == "https://cards.example.com/c/ana?src=nfc"


def test_a_long_url_gets_a_long_ndef_record():
    url = "http://example.com/" + "a" * 300
    message = qr.ndef_uri_message(url)
    assert message[0] == 0xC1 and int.from_bytes(message[2:6], "big") == len(url) - len("http://") + 1
    assert qr.parse_ndef_uri_message(message) == url
