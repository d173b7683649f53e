"""Normalization keys and search tokens (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- fast paths: the same answers (and the same errors) as the libraries they shortcut -----------

_EMAIL_PIECES = [
    "a",
    "Ana",
    "o'brien",
    "x+tag",
    "b.c",
    ".",
    "..",
    "@",
    "@@",
    "-",
    "_",
    "~",
    "!",
    "#",
    "%",
    "=",
    "?",
    "^",
    "`",
    "{",
    "|",
    "}",
    "*",
    "/",
    "&",
    "$",
    '"',
    "\\",
    " ",
    "<",
    ">",
    "(",
    ")",
    ",",
    ";",
    ":",
    "[",
    "]",
    "1.2.3.4",
    "[1.2.3.4]",
    "example.com",
    "EXAMPLE.COM",
    "x.io",
    "co.uk",
    "localhost",
    "x.test",
    "x.local",
    "x.arpa",
    "x.invalid",
    "x.onion",
    "xn--bcher-kva.example",
    "xn--zz",
    "bücher.de",
    "é",
    "\u0338",
    "ǅ",
    "ｆ",
    "＠",
    "-x.io",
    "x-.io",
    "x..io",
    "x.io.",
    "1.com",
    "x.123",
    "a" * 64,
    "b" * 65,
    "c" * 63 + ".com",
    "d" * 64 + ".com",
    "info",
    "POSTMASTER",
    "mailto:",
    "\t",
]


def _slow_email(raw: str) -> str:
    """normalize_email as it was before the fast path: email_validator for every address."""
    from email_validator import EmailNotValidError, validate_email

    candidate = raw.strip().strip("<>").removeprefix("mailto:").strip()
    if not candidate:
        raise InvalidInput("email", "is empty", "Give an address such as ana@example.com, or leave it out")
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        problem = f"{raw!r} is not a valid email address ({exc})"
        raise InvalidInput("email", problem, "Give an address such as ana@example.com") from None


def _same_email_answer(raw: str) -> None:
    try:
        expected: str | BaseException = _slow_email(raw)
    except InvalidInput as exc:
        expected = exc
    if isinstance(expected, str):
        assert normalize.normalize_email(raw) == expected, raw
    else:
        with pytest.raises(InvalidInput) as caught:
            normalize.normalize_email(raw)
        assert str(caught.value) == str(expected), raw


@pytest.mark.parametrize(
    "raw",
    [
        "Ana.Souza@Fintech.IO",
        "info@EXAMPLE.com",
        "a@xn--bcher-kva.example",
        "ana@bücher.de",
        "josé@example.com",
        '"quoted"@example.com',
        "Ana <ana@example.com>",
        "a@[1.2.3.4]",
        "a@localhost",
        "a@x.test",
        "a@x.arpa",
        "a.@x.io",
        "a..b@x.io",
        "a@x..io",
        "a@-x.io",
        "a@x.io.",
        "a@b@c.io",
        "a @x.io",
        "a\u0338@x.io",
        "a@x.io\u0338",
        ("l" * 64) + "@example.com",
        ("l" * 65) + "@example.com",
        "a@" + ".".join(["d" * 63] * 3) + ".com",
        ("l" * 60) + "@" + ".".join(["d" * 60] * 3) + ".io",
        ("l" * 64) + "@" + ".".join(["d" * 61] * 3) + ".io",
        "a@xn--" + "d" * 58 + ".example",
    ],
)
def test_plain_email_fast_path_answers_as_email_validator(raw: str) -> None:
    _same_email_answer(raw)
    _same_email_answer(raw)  # the second time the domain's verdict comes from the cache


def test_email_fast_path_covers_the_common_addresses() -> None:
    # The shortcut must actually be taken for ordinary addresses (else the import stays slow).
    assert normalize._plain_email("Ana.Souza+crm@Mail.Example.ORG") == "ana.souza+crm@mail.example.org"
    assert normalize._plain_email("p12@example12.com") == "p12@example12.com"
    assert normalize._plain_email("a@localhost") is None  # refused: email_validator words the error


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_EMAIL_PIECES), min_size=1, max_size=8))
def test_email_fast_path_matches_email_validator_on_generated_addresses(pieces: list[str]) -> None:
    _same_email_answer("".join(pieces))
    if "@" not in pieces:
        _same_email_answer("".join(pieces[:1]) + "@" + "".join(pieces[1:]))


def test_website_answers_are_kept_per_text_with_each_callers_field() -> None:
    for _ in range(2):  # the second answer comes from the cache, errors included
        assert normalize.normalize_website(" HTTPS://WWW.Example.com/Team/ ") == "www.example.com/Team"
        with pytest.raises(InvalidInput, match=r"^website: 'not a site' is not a web address"):
            normalize.normalize_website("not a site")
        bad_port = r"^custom\.site: 'example.com:99999' is not a web address \(bad"
        with pytest.raises(InvalidInput, match=bad_port):
            normalize.normalize_website("example.com:99999", "custom.site")
        with pytest.raises(InvalidInput, match=r"^website: is empty"):
            normalize.normalize_website("   ")


def test_phone_answers_are_kept_per_text_and_region_with_each_callers_field() -> None:
    for _ in range(2):  # the second answer comes from the cache, errors included
        assert normalize.normalize_phone("030 164546", "DE") == "+4930164546"
        assert normalize.normalize_phone("030 164546", "GB") != "+4930164546"
        with pytest.raises(InvalidInput, match=r"^phone: '030 164546' has the wrong number of digits for US"):
            normalize.normalize_phone("030 164546", "US")
        with pytest.raises(InvalidInput, match=r"^custom\.fax: 'call me' is not a phone number"):
            normalize.normalize_phone("call me", "US", "custom.fax")
        with pytest.raises(InvalidInput, match=r"^phone: '\+1 23' "):
            normalize.normalize_phone("+1 23", "US")


# Characters where folding could depend on a neighbour: combining marks (NFKD reorders runs of
# them), compatibility forms that decompose to a space or several letters, case special cases,
# invisible format characters and every kind of whitespace str.split() splits on.
_FOLD_ALPHABET = (
    "aZ9 \t\n\u00a0\u2003\u3000éÉüß\u03a3\u03c2\u0130ıØøŁæœþ"
    "\u0301\u0308\u0327\u0323\u031b\u00a8\u00b4\ufb01\u2460\u00bd\u3392"
    "\u200b\u200c\u200d\u00ad\ufeff\u2060한글ＡＢ-_.,'@"
)


@given(st.text(alphabet=_FOLD_ALPHABET, max_size=24))
@settings(max_examples=600)
def test_folding_a_text_word_by_word_equals_folding_it_character_by_character(text: str) -> None:
    assert normalize.fold(text) == normalize._fold_unicode(text)
    assert normalize.fold(text) == " ".join(filter(None, (normalize._fold_unicode(w) for w in text.split())))
