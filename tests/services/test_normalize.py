"""Normalization keys and search tokens (pure functions)."""

from __future__ import annotations

import pytest

from lead_mcp.errors import InvalidInput
from lead_mcp.services import normalize


def test_emails_are_validated_and_lower_cased_without_dns() -> None:
    assert normalize.normalize_email(" <Ana.Souza@Fintech.IO> ") == "ana.souza@fintech.io"
    assert normalize.normalize_email("mailto:bo@example.co.uk") == "bo@example.co.uk"
    for bad in ("ana", "ana@", "@x.io", "a b@x.io", "ana@x..io"):
        with pytest.raises(InvalidInput, match="email"):
            normalize.normalize_email(bad)


def test_phones_become_e164_in_the_default_region() -> None:
    assert normalize.normalize_phone("(415) 555-0100", "US") == "+14155550100"
    assert normalize.normalize_phone("+49 (0)30 164546", "US") == "+4930164546"
    assert normalize.normalize_phone("030 164546", "DE") == "+4930164546"
    assert normalize.normalize_phone("+44 20 7946 0958 ext. 12", "US").startswith("+442079460958")
    for bad in ("call me", "12", "+1 23", "555-CALL-NOW"):
        with pytest.raises(InvalidInput, match="phone"):
            normalize.normalize_phone(bad, "US")


def test_websites_lose_scheme_and_trailing_slash() -> None:
    assert normalize.normalize_website("HTTPS://WWW.Example.com/Team/") == "www.example.com/Team"
    assert normalize.normalize_website("example.io") == "example.io"
    with pytest.raises(InvalidInput, match="website"):
        normalize.normalize_website("not a site")


def test_name_key_ignores_order_accents_titles_and_legal_suffixes() -> None:
    key = normalize.name_key("Dr. José Müller", "Greenleaf Software Pty Ltd")
    assert key == normalize.name_key("muller jose", "GREENLEAF SOFTWARE")
    assert key != normalize.name_key("José Müller", "Redleaf Software")
    assert normalize.name_key("José Müller", None) is None


@pytest.mark.parametrize(
    ("full", "given", "family"),
    [
        ("Ana Souza", "Ana", "Souza"),
        ("Anna van der Berg", "Anna", "van der Berg"),
        ("Dr. Maria de la Cruz Jr.", "Maria", "de la Cruz"),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("Cher", "Cher", None),
    ],
)
def test_split_name_keeps_particles_with_the_family_name(full: str, given: str, family: str | None) -> None:
    assert normalize.split_name(full) == (given, family)


def test_query_phrases_fold_words_and_read_phone_numbers() -> None:
    assert normalize.query_phrases("Ana@Fintech.io", "US") == [["ana", "fintech", "io"]]
    assert normalize.query_phrases("  José   Müller ", "US") == [["jose"], ["muller"]]
    assert normalize.query_phrases("+1 (415) 555-0100", "US") == [["14155550100"]]
    assert normalize.query_phrases('"; DROP TABLE contacts; --', "US") == [["drop"], ["table"], ["contacts"]]
    assert normalize.query_phrases("***", "US") == []
    with pytest.raises(InvalidInput, match="query"):
        normalize.query_phrases(" ".join(["w"] * 40), "US")
