"""vCard 3.0 text: escaping and folding, checked against a real parser (vobject)."""

from __future__ import annotations

import vobject

from lead_mcp.services import vcard_text


def test_escape_handles_backslash_comma_semicolon_and_every_kind_of_line_break():
    assert vcard_text.escape("a\\b,c;d\ne\r\nf\rg") == "a\\\\b\\,c\\;d\\ne\\nf\\ng"


def test_fold_keeps_lines_within_75_octets_without_splitting_a_character():
    line = "NOTE:" + "Zürich 東京 — naïve " * 20
    folded = vcard_text.fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 3
    assert all(len(part.encode("utf-8")) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_a_card_round_trips_through_a_real_vcard_parser():
    note = "Line one; with a semicolon, a comma\nand a second line \\ backslash " + "ü" * 80
    text = vcard_text.card(
        [
            vcard_text.content_line("N", vcard_text.structured(["Souza", "Ana", None, None, None])),
            vcard_text.content_line("FN", vcard_text.escape("Ana Souza")),
            vcard_text.content_line("NOTE", vcard_text.escape(note)),
            vcard_text.photo_line(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3, "image/png"),
        ]
    )
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n") and text.endswith("END:VCARD\r\n")
    parsed = vobject.readOne(text)
    assert parsed.note.value == note
    assert parsed.n.value.family == "Souza"
    assert parsed.photo.value.startswith(b"\x89PNG")
