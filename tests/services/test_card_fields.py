"""The field reader on OCR lines built by hand: repairs and layout rules that hold for any card."""

from __future__ import annotations

from lead_mcp.integrations.ocr.base import Line, Word
from lead_mcp.services.card_fields import extract, parse_email, parse_website, split_person_name


def _line(text: str, x: int, y: int, height: int = 20, confidence: float = 0.95) -> Line:
    words, cursor = [], x
    for part in text.split():
        width = int(len(part) * height * 0.55)
        words.append(Word(part, (cursor, y, cursor + width, y + height), confidence))
        cursor += width + height // 3
    return Line(words=words, confidence=confidence)


def test_emails_and_web_addresses_are_repaired_from_typical_ocr_errors():
    assert parse_email("E: anna . devries @ kanaal-design.nl") == "anna.devries@kanaal-design.nl"
    assert parse_email("Ichen@blueharbor.com") == "lchen@blueharbor.com"
    assert parse_email("kevinh@redkite es") == "kevinh@redkite.es"
    assert parse_email("mason-dübois@riverbend.io") == "mason-dubois@riverbend.io"
    assert parse_website("www. example.io") == "www.example.io"
    assert parse_website("http//www.redkite es") == "www.redkite.es"
    assert parse_website("https.llwww.lumen.io/team/") == "www.lumen.io/team"
    assert parse_website("W: Lakeshore.co") == "lakeshore.co"
    assert parse_website("Interiors Co.") is None
    assert parse_website("Senior Consultant") is None


def test_names_keep_particles_with_the_family_name():
    assert split_person_name("Anna van der Berg") == ("Anna", "van der Berg")
    assert split_person_name("Zoë Ó Briain") == ("Zoë", "Ó Briain")
    assert split_person_name("Dr. Jean-Luc de la Tour") == ("Jean-Luc", "de la Tour")
    assert split_person_name("Mary Ann Smith Jr.") == ("Mary Ann", "Smith")


def test_a_dutch_card_is_read_by_layout_with_its_region_from_the_address():
    lines = [
        _line("◆ Kanaal Ontwerp B.V.", 60, 40, 24),
        _line("Anna van der Berg", 60, 110, 40),
        _line("Creative Director", 60, 160, 20),
        _line("T: 020 123 4567 | M: 06 12345678", 60, 300),
        _line("E: anna . vanderberg @ kanaal.nl", 60, 330),
        _line("www. kanaal.nl", 60, 360),
        _line("Prinsengracht 263", 60, 390),
        _line("1016 GV Amsterdam", 60, 420),
        _line("Nederland", 60, 450),
    ]
    got = extract(lines, default_region="US")
    assert got.full_name == "Anna van der Berg"
    assert (got.given_name, got.family_name) == ("Anna", "van der Berg")
    assert got.title == "Creative Director"
    assert got.company == "Kanaal Ontwerp B.V."
    assert got.emails == ["anna.vanderberg@kanaal.nl"]
    assert got.website == "www.kanaal.nl"
    assert got.phones == ["+31201234567", "+31612345678"]
    assert got.address == "Prinsengracht 263, 1016 GV Amsterdam, Nederland"
    assert got.region == "NL"


def test_digits_misread_as_letters_are_repaired_in_phone_numbers():
    lines = [
        _line("Jo Park", 50, 40, 40),
        _line("Tel: +1 (4l5) 555-O1O0", 50, 120),
        _line("jo@park.dev", 50, 150),
    ]
    got = extract(lines)
    assert got.phones == ["+14155550100"]


def test_without_any_contact_data_no_name_or_company_is_guessed():
    lines = [_line("Fresh Bread Daily", 50, 40, 40), _line("Open Monday to Friday", 50, 120)]
    got = extract(lines)
    assert got.full_name is None and got.company is None and got.title is None
