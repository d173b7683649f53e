"""phones answers what phonenumbers answers: number types, and E.164 from international text."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from lead_mcp.errors import InvalidInput
from lead_mcp.services import normalize, phones

_TYPES = [t for t in vars(PhoneNumberType).values() if isinstance(t, int)]


def _library(text: str) -> int | None:
    try:
        return int(phonenumbers.number_type(phonenumbers.parse(text)))
    except phonenumbers.NumberParseException:
        return None


def _examples() -> list[str]:
    """Every region's example number of every type, and every non-geographic code's."""
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(set(numbers))


def _variants(e164: str) -> list[str]:
    """Numbers next to a real one: other last digits, one digit fewer or more, a changed first digit."""
    out = [e164[:-1] + d for d in "0123456789"] + [e164[:-1], e164 + "7", e164 + "07"]
    out += [e164[:4] + d + e164[5:] for d in "0159"]
    return out


def test_every_example_number_and_its_neighbours_get_the_librarys_type() -> None:
    examples = _examples()
    assert len(examples) > 1000  # 245 regions, each with several types
    numbers = sorted({n for e in examples for n in [e, *_variants(e)]})
    differing = [(n, phones.number_type(n), _library(n)) for n in numbers]
    differing = [d for d in differing if d[1] != d[2]]
    assert differing == []
    # The fast path answers most of them itself (the test would prove little if all went to the library).
    fast = sum(phones._split(n) is not None for n in examples)
    assert fast > 0.9 * len(examples)
    kinds = {phones.number_type(n) for n in examples}
    assert {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE} <= kinds


def test_random_numbers_of_every_country_code_get_the_librarys_type() -> None:
    rng = random.Random(20261203)
    numbers = []
    for code in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(25):
            length = rng.randint(1, 19)
            numbers.append(f"+{code}" + "".join(rng.choice("0123456789") for _ in range(length)))
    differing = [(n, phones.number_type(n), _library(n)) for n in numbers]
    assert [d for d in differing if d[1] != d[2]] == []


def test_text_that_is_not_plain_e164_gets_the_librarys_answer() -> None:
    odd = [
        "",
        "+",
        "+0123456",
        "+1",
        "+12",
        "+44 20 7946 0958",
        "+1-415-555-0100",
        "4155550100",
        "+\u0664\u0661\u0665\u0665\u0665\u0660\u0661\u0660\u0660",  # Arabic-Indic digits
        "+99912345678",  # no such country code
        "+8001234 5678",
        "+39 06 6982 1234",
        "+390669821234",  # Italian leading zero
        "+7 8 495 123 4567",
        "+549111234567",  # Argentina: a national prefix pattern that matches nothing here
        "+5215512345678",  # Mexico's old mobile "1"
        "+1" + "2" * 25,
    ]
    for text in odd:
        assert phones.number_type(text) == _library(text), text


def _library_e164(text: str, region: str) -> str | None:
    """What normalize did before the fast path: parse, is_possible_number, format as E.164."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _written(e164: str, rng: random.Random) -> list[str]:
    """One number as people write it: E.164, the library's international form, with other separators."""
    forms = [e164]
    try:
        international = phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        international = e164
    forms += [international, international.replace(" ", "-"), international.replace(" ", ".")]
    groups = international.split(" ")
    if len(groups) > 2:
        forms.append(" ".join([groups[0], f"({groups[1]})", *groups[2:]]))
        forms.append(" ".join([groups[0], "(0)", *groups[1:]]))  # a national prefix in brackets
        forms.append(" ".join([groups[0], "0" + groups[1], *groups[2:]]))  # and written bare
    digits = e164[1:]
    cut = rng.randint(1, len(digits) - 1)
    forms.append(f"+{digits[:cut]}  {digits[cut:]}")
    return forms


def test_international_text_gets_the_librarys_e164_or_is_left_to_it() -> None:
    rng = random.Random(6)
    numbers = [n for e in _examples() for n in [e, *_variants(e)]]
    for code in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(10):
            length = rng.randint(1, 18)
            numbers.append(f"+{code}" + "".join(rng.choice("0123456789") for _ in range(length)))
    texts = sorted({t for n in numbers for t in _written(n, rng)})
    assert len(texts) > 50_000
    wrong = []
    answered = 0
    for index, text in enumerate(texts):
        region = ("US", "GB", "DE", "IT", "BR")[index % 5]
        fast = phones.international(text)
        if fast is not None:
            answered += 1
            if fast != _library_e164(text, region):
                wrong.append((text, region, fast, _library_e164(text, region)))
    assert wrong == []
    # Most plainly written real numbers take the fast path.
    plain = [t for e in _examples() for t in _written(e, rng)[:5]]
    assert sum(phones.international(t) is not None for t in plain) > 0.85 * len(plain)
    assert answered > 0.4 * len(texts)


def test_normalize_phone_gives_the_librarys_number_and_refusals() -> None:
    samples = [
        "+1 415 200 0000",
        "+44 7700 900000",
        "+44 (0) 20 7946 0958",
        "(415) 555-0100",
        "+1 415 555",
        "+999 1234 5678",
        "+39 06 6982 1234",
        "+49 (30) 123-4567",
        "0049 30 1234567",
    ]
    for text in samples:
        expected = _library_e164(text, "US")
        if expected is not None:
            assert normalize.normalize_phone(text, "US") == expected, text
        else:
            with pytest.raises(InvalidInput) as refused:
                normalize.normalize_phone(text, "US")
            assert refused.value.field == "phone"
