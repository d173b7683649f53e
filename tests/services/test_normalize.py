"""Normalization keys and search tokens (pure functions)."""

from __future__ import annotations

from typing import Any

import phonenumbers
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


def test_folding_ascii_keeps_letters_and_digits_and_turns_every_other_character_into_a_space() -> None:
    for code in range(128):
        text = f"Ab{chr(code)}9z"
        assert normalize.fold(text) == normalize._fold_unicode(text), repr(chr(code))


def _phone_tokens_by_integers(e164: str) -> list[str]:
    """The rule the stored search texts were written by (country code and national number as integers)."""
    digits = e164.lstrip("+")
    for length in (1, 2, 3):
        if len(digits) > length and int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = str(int(digits[length:]))
            return [digits] if national == digits else [digits, national]
    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        return [digits]
    return [digits] if national == digits else [digits, national]


@given(st.from_regex(r"\A[1-9][0-9]{0,16}\Z"))
@settings(max_examples=1500)
def test_phone_tokens_of_stored_numbers_are_those_the_stored_texts_were_written_with(digits: str) -> None:
    assert normalize.phone_tokens("+" + digits) == _phone_tokens_by_integers("+" + digits)


def test_phone_tokens_of_every_country_code() -> None:
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for rest in ("", "0", "7", "0123", "4155550100", "0004155550100", "99999999999999"):
            e164 = f"+{code}{rest}"
            assert normalize.phone_tokens(e164) == _phone_tokens_by_integers(e164), e164
    for odd in ("+", "+0", "+0044", "+١٢٣٤٥"):  # never stored, still no crash
        assert normalize.phone_tokens(odd)[0] == odd.lstrip("+")


def _search_text_part_by_part(**fields: Any) -> str:
    """The search text as each part's own fold, joined: what search_text's single pass must equal."""
    parts = [
        normalize.fold(fields[name])
        for name in (
            "full_name",
            "given_name",
            "family_name",
            "company",
            "title",
            "website",
            "met_at",
            "address",
        )
        if fields[name]
    ]
    parts += [normalize.fold(e) for e in fields["emails"]]
    parts += [t for p in fields["phones"] for t in normalize.phone_tokens(p)]
    parts += [normalize.fold(t) for t in [*fields["tags"], *fields["custom"]]]
    if fields["notes"]:
        parts.append(normalize.fold(fields["notes"]))
    return " ".join(p for p in parts if p)


_ASCII_TEXT = st.text(alphabet="aZ9 \t\n-_.,'@:/+\x00\x1f", max_size=16)
_ANY_TEXT = st.one_of(_ASCII_TEXT, st.text(alphabet=_FOLD_ALPHABET, max_size=16))
_PART = st.one_of(st.none(), st.just(""), _ANY_TEXT)
_LIST = st.lists(_ANY_TEXT, max_size=3)


@given(
    full_name=_PART,
    given_name=_PART,
    family_name=_PART,
    company=_PART,
    title=_PART,
    website=_PART,
    met_at=_PART,
    address=_PART,
    notes=_PART,
    emails=_LIST,
    phones=st.lists(
        st.sampled_from(["+14155550100", "+447700900123", "+4930164546", "+999123", "+1"]), max_size=2
    ),
    tags=_LIST,
    custom=_LIST,
)
@settings(max_examples=800)
def test_search_text_folds_the_joined_parts_as_each_part_on_its_own(**fields: Any) -> None:
    assert normalize.search_text(**fields) == _search_text_part_by_part(**fields)
