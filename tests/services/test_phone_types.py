"""phone_types.number_type answers what phonenumbers.number_type(phonenumbers.parse(...)) answers."""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from lead_mcp.services import phone_types

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
    differing = [(n, phone_types.number_type(n), _library(n)) for n in numbers]
    differing = [d for d in differing if d[1] != d[2]]
    assert differing == []
    # The fast path answers most of them itself (the test would prove little if all went to the library).
    fast = sum(phone_types._split(n) is not None for n in examples)
    assert fast > 0.9 * len(examples)
    kinds = {phone_types.number_type(n) for n in examples}
    assert {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE} <= kinds


def test_random_numbers_of_every_country_code_get_the_librarys_type() -> None:
    rng = random.Random(20261203)
    numbers = []
    for code in sorted(COUNTRY_CODE_TO_REGION_CODE):
        for _ in range(25):
            length = rng.randint(1, 19)
            numbers.append(f"+{code}" + "".join(rng.choice("0123456789") for _ in range(length)))
    differing = [(n, phone_types.number_type(n), _library(n)) for n in numbers]
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
        assert phone_types.number_type(text) == _library(text), text
