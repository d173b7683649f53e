"""QR codes (segno) and NFC Data Exchange Format (NDEF) records for a card's URL.

QR codes use error correction level Q (25% of the symbol may be lost) and are
raised to H (30%) whenever that fits in the same size, so a printed code
survives smudges, folds and glare. The quiet zone is the standard four
modules. NDEF is what an NFC tag (NTAG213/215/216 and the like) stores: a
message made of one well-known "U" (URI) record, as NFC Forum RTD-URI
specifies, so a phone tapped on the tag opens the card page.
"""

from __future__ import annotations

import io
from functools import lru_cache

import segno

QUIET_ZONE = 4
PNG_SCALE = 10

# NFC Forum URI Record Type Definition: a one-byte code stands for a common prefix.
_NDEF_URI_PREFIXES = (
    (0x04, "https://"),
    (0x03, "http://"),
)


def make(url: str) -> segno.QRCode:
    """The QR code for a URL, with print-grade error correction."""
    return segno.make(url, error="q", boost_error=True, micro=False)


@lru_cache(maxsize=256)  # a card's code changes only with its URL; pages and downloads reuse it
def png(url: str, *, scale: int = PNG_SCALE) -> bytes:
    """The QR code as a black-on-white PNG."""
    out = io.BytesIO()
    make(url).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()


@lru_cache(maxsize=256)
def svg(url: str, *, title: str | None = None) -> bytes:
    """The QR code as a standalone SVG document that scales to any print size."""
    out = io.BytesIO()
    make(url).save(
        out, kind="svg", scale=10, border=QUIET_ZONE, xmldecl=True, title=title, svgns=True, light="#fff"
    )
    return out.getvalue()


@lru_cache(maxsize=256)
def svg_inline(url: str, *, css_class: str = "qr") -> str:
    """The QR code as an ``<svg>`` element to embed in HTML (scales with CSS; no size attributes)."""
    return str(
        make(url).svg_inline(
            scale=1, border=QUIET_ZONE, omitsize=True, svgclass=css_class, lineclass=None, light="#fff"
        )
    )


def ndef_uri_message(url: str) -> bytes:
    """An NDEF message holding one URI record for ``url`` (what NFC writer apps and tags store)."""
    code, rest = 0x00, url
    for prefix_code, prefix in _NDEF_URI_PREFIXES:
        if url.startswith(prefix):
            code, rest = prefix_code, url[len(prefix) :]
            break
    payload = bytes([code]) + rest.encode("utf-8")
    record_type = b"U"
    tnf_well_known = 0x01
    flags = 0x80 | 0x40 | tnf_well_known  # MB (first record) | ME (last record) | TNF
    if len(payload) < 256:
        header = bytes([flags | 0x10, len(record_type), len(payload)])  # SR: one-byte payload length
    else:
        header = bytes([flags, len(record_type)]) + len(payload).to_bytes(4, "big")
    return header + record_type + payload


def parse_ndef_uri_message(message: bytes) -> str:
    """The URL in a one-record NDEF URI message (the inverse of :func:`ndef_uri_message`)."""
    flags, type_length = message[0], message[1]
    if flags & 0x07 != 0x01 or not flags & 0x80 or not flags & 0x40:
        raise ValueError("not a single well-known NDEF record")
    if flags & 0x10:
        length, offset = message[2], 3
    else:
        length, offset = int.from_bytes(message[2:6], "big"), 6
    if flags & 0x08:  # IL: an ID length byte follows
        offset += 1
    record_type = message[offset : offset + type_length]
    payload = message[offset + type_length : offset + type_length + length]
    if record_type != b"U" or len(payload) != length:
        raise ValueError("not a URI record")
    prefix = dict(_NDEF_URI_PREFIXES).get(payload[0], "")
    return prefix + payload[1:].decode("utf-8")
