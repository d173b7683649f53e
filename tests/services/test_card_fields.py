"""The field reader on OCR lines built by hand: repairs and layout rules that hold for any card."""

from __future__ import annotations

from lead_mcp.integrations.ocr.base import Line, Word
from lead_mcp.services.card_fields import (
    address_score,
    company_shape,
    extract,
    parse_email,
    parse_website,
    phone_candidates,
    split_person_name,
    title_shape,
)


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


def test_an_initial_with_a_dot_is_not_a_label_and_a_bare_letter_labels_an_address():
    # "f." and "o." are also fax/office labels, but not when glued to the rest of a word.
    assert parse_email("f.calloway@thornbury.eu") == "f.calloway@thornbury.eu"
    assert parse_email("Email: o.pennington@copperfield.co.jp") == "o.pennington@copperfield.co.jp"
    assert parse_email("E t.dossantos@helix.com.br") == "t.dossantos@helix.com.br"
    assert parse_email("Email: |.mansour@halcyon.fr") == "l.mansour@halcyon.fr"
    # An address holds no spaces: a word gap in its local part is an underscore the OCR lost.
    assert parse_email("E bethany _calloway@solstice.com") == "bethany_calloway@solstice.com"
    assert parse_email("bethany holloway@vantagepoint.io") == "bethany_holloway@vantagepoint.io"
    assert parse_website("W https://nimbus.com/team") == "nimbus.com/team"
    assert parse_website("W www.larkspur.com.br") == "www.larkspur.com.br"


def test_numbers_after_label_words_of_any_language_are_phones():
    assert phone_candidates("Mobiel: +31 6 12904744") == "+31 6 12904744"
    assert phone_candidates("Fone +55 11 96530 7192") == "+55 11 96530 7192"
    assert phone_candidates("+34 810 64 7998 Móvil +34 612 38 85 60") is not None
    assert phone_candidates("Tokyo 130-2698") is None
    assert phone_candidates("Suite 371") is None
    assert phone_candidates("Leeds LS1 5JE") is None


def test_postcodes_of_brazil_japan_and_the_netherlands_mark_address_lines():
    assert address_score("Rio de Janeiro - RJ, 55633-935") >= 0.8
    assert address_score("2-18-12 Jingumae, Chuo-ku") >= 0.8
    assert address_score("Tokyo 130-2698") >= 0.8
    assert address_score("2017 SS Rotterdam") >= 0.8
    assert address_score("Senior Architect") == 0


def test_titles_in_other_languages_are_titles():
    assert title_shape("Responsable Commercial") >= 0.6
    assert title_shape("Analista de Sistemas") >= 0.6
    assert title_shape("Vertriebsleiterin") >= 0.6
    assert title_shape("Copperfield Media") == 0


def test_dotted_legal_forms_mark_a_company_however_they_are_dotted():
    assert company_shape("Wrenfield Optics N.V.") == 1.0
    assert company_shape("Vetro Blu S.r.l") == 1.0
    assert company_shape("Wrenfield Optics") == 0


def test_a_widely_spaced_address_block_stays_one_block_and_shared_mailboxes_come_last():
    # Lines 1.4 text heights apart all over the card: the address block follows the card's spacing.
    lines = [
        _line("Amberly Analytics plc", 60, 40, 30),
        _line("Ananya Iyer", 60, 100, 50),
        _line("Supply Chain Analyst", 60, 170, 26),
        _line("Email: info@amberly.co.uk", 60, 250),
        _line("Email: ananya.iyer@amberly.co.uk", 60, 298),
        _line("Unit 12, The Old Mill", 60, 346),
        _line("420 Harbour Lane", 60, 394),
        _line("Leeds LS1 5JE", 60, 442),
        _line("United Kingdom", 60, 490),
        _line("amberly co uk", 60, 538),
    ]
    got = extract(lines, default_region="US")
    assert got.address == "Unit 12, The Old Mill, 420 Harbour Lane, Leeds LS1 5JE, United Kingdom"
    assert got.emails == ["ananya.iyer@amberly.co.uk", "info@amberly.co.uk"]
    assert got.website == "amberly.co.uk"  # read with spaces for dots, known from the email domain
    assert got.title == "Supply Chain Analyst"
    assert got.company == "Amberly Analytics plc"


def test_an_umlaut_read_as_a_macron_is_an_umlaut_again():
    lines = [
        _line("Karl-Heinz Krūger", 60, 100, 40),
        _line("Geschäftsführer", 60, 150, 20),
        _line("T: +41 44 123 45 67", 60, 250),
        _line("8001 Zūrich", 60, 280),
        _line("Schweiz", 60, 310),
    ]
    got = extract(lines, default_region="US")
    assert got.full_name == "Karl-Heinz Krüger"
    assert got.title == "Geschäftsführer"
    assert got.address == "8001 Zürich, Schweiz"
