"""The vCard writer (folding, escaping, CRLF) and reader (2.1 quoted-printable, charsets, folding)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from lead_mcp.services.exchange import vcard


@dataclass
class Card:
    id: str = "5b0c2c8e-9f1e-4c57-9a55-0c1d2f3e4a5b"
    full_name: str | None = "Ana Souza"
    given_name: str | None = "Ana"
    family_name: str | None = "Souza"
    company: str | None = None
    title: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    website: str | None = None
    address: str | None = None
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    updated_at: datetime = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _lines(text: str) -> list[bytes]:
    assert text.endswith("\r\n")
    return text.encode("utf-8").split(b"\r\n")[:-1]


def test_fold_splits_cjk_and_emoji_lines_at_75_octets_on_character_boundaries():
    line = "NOTE:" + "日本語🚀é" * 40
    folded = vcard.fold(line)
    physical = _lines(folded)
    assert len(physical) > 1
    for index, raw in enumerate(physical):
        assert len(raw) <= 75
        raw.decode("utf-8")  # each physical line is whole UTF-8 on its own
        assert raw.startswith(b" ") == (index > 0)
    assert b"".join(p[1:] if i else p for i, p in enumerate(physical)).decode() == line


def test_fold_keeps_a_backslash_with_the_character_it_escapes():
    line = "NOTE:" + "a" * 69 + "\\n" + "b" * 100
    physical = _lines(vcard.fold(line))
    assert physical[0].endswith(b"a") and physical[1].startswith(b" \\n")


def test_short_and_75_octet_lines_are_not_folded():
    assert vcard.fold("FN:" + "x" * 72) == "FN:" + "x" * 72 + "\r\n"
    assert len(_lines(vcard.fold("FN:" + "x" * 73))) == 2


def test_escape_text_follows_rfc_2426_and_6350():
    assert vcard.escape_text("a\\b,c;d\ne\r\nf") == "a\\\\b\\,c\\;d\\ne\\nf"
    assert vcard.escape_text("a;b,c", semicolon=False) == "a;b\\,c"


def test_card_has_crlf_line_ends_and_every_field():
    text = vcard.card(
        Card(
            company="Fintech; Labs",
            title="Head of Sales",
            emails=["ana@fintech.io", "ana@home.example"],
            phones=["+14155550100", "+447911123456"],
            website="fintech.io/team",
            address="1 Main St, Springfield",
            notes="Line 1\nLine 2",
            tags=["vip", "a,b"],
        ),
        "3.0",
    )
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:3.0"] and lines[-2:] == ["END:VCARD", ""]
    assert "N:Souza;Ana;;;" in lines
    assert "ORG:Fintech\\; Labs" in lines
    assert "EMAIL;TYPE=INTERNET,WORK,PREF:ana@fintech.io" in lines
    assert "EMAIL;TYPE=INTERNET,WORK:ana@home.example" in lines
    assert "TEL;TYPE=CELL:+447911123456" in lines  # a UK mobile number
    assert "URL:https://fintech.io/team" in lines
    assert "ADR;TYPE=WORK:;;1 Main St\\, Springfield;;;;" in lines
    assert "NOTE:Line 1\\nLine 2" in lines
    assert "CATEGORIES:vip,a\\,b" in lines
    assert "REV:20260310T150000Z" in lines
    assert "UID:urn:uuid:5b0c2c8e-9f1e-4c57-9a55-0c1d2f3e4a5b" in lines


def test_card_without_a_name_falls_back_to_company_then_email_for_fn():
    assert "FN:Acme\r\n" in vcard.card(
        Card(full_name=None, given_name=None, family_name=None, company="Acme")
    )
    nameless = Card(full_name=None, given_name=None, family_name=None, emails=["x@y.io"])
    assert "FN:x@y.io\r\n" in vcard.card(nameless)


def _read(data: bytes) -> list[vcard.RawCard]:
    return list(vcard.read_cards(enumerate(data.splitlines(keepends=True), 1)))


def test_reader_unfolds_lines_and_decodes_quoted_printable_with_soft_breaks():
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCnchen=0D=0A=\r\n"
        b"zweite Zeile\r\n"
        b"FN:Jo\r\n"
        b" hn Fo\r\n"
        b"\tlded\r\n"
        b"END:VCARD\r\n"
    )
    (card,) = _read(data)
    assert card.error is None and card.version == "2.1"
    assert card.first("NOTE").value == "München\r\nzweite Zeile"
    assert card.first("FN").value == "John Folded"


def test_reader_honours_charset_bare_types_groups_and_quoted_params():
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=ISO-8859-1:Luc\xeda\r\nTEL;CELL;PREF:+34 612 345 678\r\n"
        b'item1.EMAIL;type=INTERNET:l@x.es\r\nADR;LABEL="a: b";TYPE=work:;;Calle 1;Madrid;;;\r\nEND:VCARD\r\n'
    )
    (card,) = _read(data)
    assert card.first("FN").value == "Lucía"
    assert card.first("TEL").types() == {"CELL", "PREF"}
    assert card.first("EMAIL").value == "l@x.es"
    assert vcard.structured(card.first("ADR")) == ["", "", "Calle 1", "Madrid", "", "", ""]


def test_reader_skips_a_broken_line_reports_a_broken_card_and_keeps_reading_the_next():
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad \xff\r\nEMAIL:bad@x.io\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Unfinished\r\n"
    )
    bad, good, unfinished = _read(data)
    assert bad.error is None and bad.first("FN") is None and bad.first("EMAIL").value == "bad@x.io"
    (warning,) = bad.warnings
    assert warning.startswith("line 3: FN skipped: its value is not valid utf-8 (byte 0xFF)")
    assert good.error is None and good.first("FN").value == "Good"
    assert unfinished.error and "without END:VCARD" in unfinished.error
    # A codec that is no charset (quoted-printable named as the CHARSET) is an unknown charset too.
    (odd,) = _read(b"BEGIN:VCARD\r\nFN:Odd\r\nNOTE;CHARSET=QUOTED-PRINTABLE:a=3Db\r\nEND:VCARD\r\n")
    assert odd.warnings == ["line 3: NOTE skipped: its value has an unknown CHARSET 'QUOTED-PRINTABLE'"]


def test_reader_reads_a_21_agent_card_after_its_outer_card_and_base64_without_indent():
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Boss\r\nAGENT:\r\n"
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Assistant\r\nEMAIL:asst@x.io\r\nEND:VCARD\r\n"
        b"PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\n"
        b"/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAx\r\n"
        b"\r\n"
        b"EMAIL:boss@x.io\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Next\r\nEND:VCARD\r\n"
    )
    boss, assistant, after = _read(data)
    assert (boss.number, boss.error, boss.warnings) == (1, None, [])
    assert boss.first("FN").value == "Boss" and boss.first("EMAIL").value == "boss@x.io"
    assert (assistant.number, assistant.first("FN").value, assistant.first("EMAIL").value) == (
        2,
        "Assistant",
        "asst@x.io",
    )
    assert (after.number, after.first("FN").value) == (3, "Next")
    # A BEGIN:VCARD that follows no AGENT is still a card that never ended.
    cut, nxt = _read(b"BEGIN:VCARD\r\nFN:Cut\r\nBEGIN:VCARD\r\nFN:Nxt\r\nEND:VCARD\r\n")
    assert "BEGIN:VCARD without END:VCARD" in (cut.error or "") and nxt.error is None


def test_unescape_and_split_respect_backslashes():
    assert vcard.unescape_text("a\\,b\\;c\\nd\\\\e") == "a,b;c\nd\\e"
    assert vcard.split_unescaped("a\\;b;c", ";") == ["a\\;b", "c"]
