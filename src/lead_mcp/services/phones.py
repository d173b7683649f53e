"""Phone numbers read fast, with exactly the answers phonenumbers gives.

phonenumbers is the reference for what a number is, but it is slow for the two
things done to every number of a big import or export:

- :func:`international` turns text written with its country code ("+1 415 555
  0100", "+44 (20) 7946-0958") into E.164, as ``parse`` + ``is_possible_number``
  + ``format_number`` do (20 µs a number here, a fifth of an import's parsing; 2.6 µs
  this way);
- :func:`number_type` says what a stored E.164 number is (mobile, fixed line,
  toll-free ...) for a vCard's ``TEL;TYPE=CELL`` or a card's "Mobile", as
  ``number_type(parse(...))`` does (30 µs, 4.4 µs this way: it was half of a
  100k-card vCard export).

Both read the country code and national number straight off the digits and use
the region's patterns, compiled once. Whatever is off that path goes to
phonenumbers itself, or is left to the caller to: text with other characters, a
country code without regions, a national number whose start ``parse`` might strip
as a national prefix, a length it refuses, a number that is not possible.
``tests/services/test_phones.py`` compares both with the library on every
region's example numbers, their neighbours, written in many ways, and random
numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberType
from phonenumbers.phonemetadata import PhoneNumberDesc

_E164 = re.compile(r"\+[1-9][0-9]{2,19}")
# "+", then digits with the separators people write (space, hyphen, dot, parentheses), ending in a digit.
_INTERNATIONAL = re.compile(r"\+[1-9][0-9 ().\-]{1,40}[0-9]")
_SEPARATORS = str.maketrans("", "", " ().-")
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' limits: parse refuses a national number outside them
_NON_GEO = "001"

# The types _number_type_helper tries, in its order, between the general pattern and fixed/mobile.
_SPECIAL = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


@dataclass(frozen=True, slots=True)
class _Desc:
    """One number description: its possible lengths (empty: any) and its full-match pattern."""

    lengths: frozenset[int]
    fullmatch: Callable[[str], object] | None  # None: matches nothing

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc:
        if desc is None or not desc.national_number_pattern:
            return cls(frozenset(), None)
        return cls(frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern).fullmatch)

    def matches(self, nsn: str) -> bool:
        if self.fullmatch is None or (self.lengths and len(nsn) not in self.lengths):
            return False
        return self.fullmatch(nsn) is not None


@dataclass(frozen=True, slots=True)
class _Region:
    """A region's patterns, compiled once."""

    general: _Desc
    special: tuple[tuple[_Desc, int], ...]
    fixed: _Desc
    mobile: _Desc
    same_fixed_and_mobile: bool
    leading_digits: Callable[[str], object] | None

    def type_of(self, nsn: str) -> int:
        """phonenumbers' ``_number_type_helper``."""
        if not self.general.matches(nsn):
            return PhoneNumberType.UNKNOWN
        for desc, kind in self.special:
            if desc.matches(nsn):
                return kind
        if self.fixed.matches(nsn):
            if self.same_fixed_and_mobile or self.mobile.matches(nsn):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_fixed_and_mobile and self.mobile.matches(nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


@cache
def _region(country_code: int, region_code: str) -> _Region | None:
    if region_code == _NON_GEO:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code, None)
    else:
        metadata = PhoneMetadata.metadata_for_region(region_code.upper(), None)
    if metadata is None:
        return None
    leading = metadata.leading_digits
    return _Region(
        general=_Desc.of(metadata.general_desc),
        special=tuple((_Desc.of(getattr(metadata, name)), kind) for name, kind in _SPECIAL),
        fixed=_Desc.of(metadata.fixed_line),
        mobile=_Desc.of(metadata.mobile),
        same_fixed_and_mobile=bool(metadata.same_mobile_and_fixed_line_pattern),
        leading_digits=re.compile(leading).match if leading is not None else None,
    )


@cache
def _national_prefix(country_code: int) -> Callable[[str], re.Match[str] | None] | None:
    """The pattern parse tries to strip from a national number of this country code, if any."""
    main = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main)
    prefix = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(prefix).match if prefix else None


def _split(e164: str) -> tuple[int, str] | None:
    """Country code and national number of plain E.164 text, when parse would read it so unchanged."""
    if not _E164.fullmatch(e164):
        return None
    digits = e164[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            nsn = digits[size:]
            break
    else:
        return None
    if not _MIN_NSN <= len(nsn) <= _MAX_NSN:
        return None
    strip = _national_prefix(code)
    if strip is not None:
        found = strip(nsn)
        # A match that consumes digits or captures a group may change the number: parse decides.
        if found is not None and (found.end() or any(g is not None for g in found.groups())):
            return None
    return code, nsn


def _slow(e164: str) -> int | None:
    try:
        return int(phonenumbers.number_type(phonenumbers.parse(e164)))
    except phonenumbers.NumberParseException:
        return None


def number_type(e164: str) -> int | None:
    """The number's ``PhoneNumberType`` (UNKNOWN when no pattern fits), None when it does not parse."""
    split = _split(e164)
    if split is None:
        return _slow(e164)
    code, nsn = split
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    if len(regions) == 1:
        region = _region(code, regions[0])
        return PhoneNumberType.UNKNOWN if region is None else region.type_of(nsn)
    # phonenumbers' region_code_for_number: the first region whose leading digits match, or
    # (without them) whose patterns give a type; that type is then the answer.
    for candidate in regions:
        region = _region(code, candidate)
        if region is None:
            continue
        if region.leading_digits is not None:
            if region.leading_digits(nsn):
                return region.type_of(nsn)
        else:
            kind = region.type_of(nsn)
            if kind != PhoneNumberType.UNKNOWN:
                return kind
    return PhoneNumberType.UNKNOWN


def international(text: str) -> str | None:
    """The E.164 form of a possible number written with ``+`` and its country code; None: ask phonenumbers.

    None also when the number is not possible: the caller's own parse then says why.
    """
    if not _INTERNATIONAL.fullmatch(text):
        return None
    e164 = "+" + text[1:].translate(_SEPARATORS)
    split = _split(e164)
    if split is None:
        return None
    code, nsn = split
    # parse keeps leading zeros ("Italian leading zeros") in the national significant number, so
    # the number is possible exactly when its country code takes a national number this long.
    return e164 if len(nsn) in _possible_lengths(code) else None


@cache
def _possible_lengths(country_code: int) -> frozenset[int]:
    """The national-number lengths ``is_possible_number`` takes for a country code, asked of it once.

    It reads the length alone (``_test_number_length`` on the general description).
    """
    return frozenset(
        length
        for length in range(_MIN_NSN, _MAX_NSN + 1)
        if phonenumbers.is_possible_number(
            phonenumbers.PhoneNumber(country_code=country_code, national_number=int("1" * length))
        )
    )
