"""Normalization: the keys that de-duplicate contacts and the tokens search runs on.

Pure functions with no database: email and phone keys (lower-cased address,
E.164), the folded name+company key, and the folded word tokens that both
SQLite FTS5 and PostgreSQL index (so the same query finds the same contacts).
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from lead_mcp.errors import InvalidInput
from lead_mcp.services import phones

# Company suffixes that do not distinguish one company from another ("Acme Inc" == "ACME").
_LEGAL_SUFFIXES = frozenset(
    [
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "co",
        "corp",
        "corporation",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "plc",
        "pty",
        "pte",
        "oy",
        "ab",
        "as",
        "kg",
        "ug",
        "lp",
        "llp",
        "pc",
        "kk",
    ]
)
_HONORIFICS = frozenset(["mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "mx"])
_NAME_SUFFIXES = frozenset(["jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "cpa"])
_PARTICLES = frozenset(
    [
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "st",
        "ten",
        "ter",
        "bin",
        "binti",
        "al",
        "el",
        "mac",
    ]
)
_PHONE_CHARS = re.compile(r"^[\s+()\-./0-9]*(?:(?:ext|x|#)\.?\s*\d{1,6})?$", re.IGNORECASE)
_DIGITS = re.compile(r"\d")

MAX_QUERY_WORDS = 12
MAX_WORD_LENGTH = 100


# ASCII other than lower-case letters and digits, as spaces (str.translate's ASCII fast path is
# several times quicker than a regular expression replacing each run).
_ASCII_SEPARATORS = str.maketrans(
    {c: " " for c in range(128) if chr(c) not in string.ascii_lowercase + string.digits}
)
# ASCII characters of Unicode category C other than newline and tab.
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# Letters NFKD does not take apart, spelt as people type them on an English keyboard
# ("Søren" is "Soren", "Łódź" is "Lodz"); ß and the like are left to casefold().
_TRANSLITERATE = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "ł": "l",
        "Ł": "l",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "ħ": "h",
        "Ħ": "h",
        "ŧ": "t",
        "Ŧ": "t",
    }
)
# Format characters that join or separate nothing a reader sees (zero-width space and joiners,
# soft hyphen, word joiner, BOM): dropped from keys and search words, never turned into a space,
# so "Jo\u200bsé" folds like "José".
_INVISIBLE = {"Cf"}
# Kept by clean_text although they are format characters: the zero-width joiner and non-joiner
# (emoji sequences, Persian and Indic spelling) and the tag characters of subdivision flags.
_KEPT_FORMAT = frozenset(["\u200c", "\u200d", *(chr(c) for c in range(0xE0020, 0xE0080))])


# Pure and called for every field of every contact stored or searched; names, companies, titles
# and tags repeat a lot (an import of 100k rows folds ~1M strings), so recent results are kept.
@lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lower-case, accent-free words separated by single spaces ("José Müller-Øz" -> "jose muller oz")."""
    if text.isascii():  # the common case, same result as below without per-character work
        return _fold_ascii(text)
    words = text.split()
    if len(words) > 1:
        # Word by word, each from the cache: every step below maps characters on their own (NFKD
        # reorders only runs of combining marks, which whitespace ends), so the folded words of a
        # text are its words' folded words; "Müller 123" costs the per-character work of "Müller" once.
        return " ".join(folded for folded in map(fold, words) if folded)
    return _fold_unicode(text)


def _fold_ascii(text: str) -> str:
    """fold() of ASCII text."""
    return " ".join(text.lower().translate(_ASCII_SEPARATORS).split())


def _fold_unicode(text: str) -> str:
    """fold() of any text, character by character (the reference the word-by-word fold must equal)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    stripped = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) not in _INVISIBLE
    )
    lowered = stripped.casefold()
    cleaned = "".join(ch if ch.isalnum() else " " for ch in lowered)
    return " ".join(cleaned.split())


def tokens(text: str | None) -> list[str]:
    """The search tokens of a text."""
    return fold(text).split() if text else []


def clean_text(value: str | None) -> str | None:
    """Trimmed text with control characters removed; empty becomes None."""
    if value is None:
        return None
    if value.isascii() and not _ASCII_CONTROLS.search(value):  # the common case: nothing to remove
        return value.strip() or None
    text = "".join(
        ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or ch in _KEPT_FORMAT
    )
    text = text.strip()
    return text or None


_ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]")


# RFC 5322 dot-atom of ASCII characters: email_validator's own test for a plain local part.
_DOT_ATOM = re.compile(r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+)*\Z")
_EMAIL_MAX_BYTES = 254


@lru_cache(maxsize=16_384)
def _email_domain(domain: str) -> tuple[str, str] | None:
    """email_validator's normalized and ASCII (IDNA) forms of a domain; None when it refuses it.

    email_validator checks the part after the @ on its own (syntax, IDNA, special-use names),
    so its verdict on a domain holds for every address there, and a file of 100k addresses has
    a few thousand domains. Asked through the public API with a one-letter local part (that
    address is never longer than a real one, so its length check refuses nothing a real one passes).
    """
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _plain_email(candidate: str) -> str | None:
    """A plain ASCII address normalized exactly as email_validator does it, or None to ask it.

    email_validator reads ``local@domain`` (ASCII, a single @, no quotes, brackets or display
    name) as: the local part valid and unchanged when it is a dot-atom; the domain on its own;
    then the UTF-8 length of the address as given, normalized, and with the IDNA domain. These
    are the same steps with the domain's verdict cached. Anything else, and any refusal, goes to
    email_validator itself, which words the error.
    """
    if not candidate.isascii() or candidate.count("@") != 1:
        return None
    local, domain = candidate.split("@")
    if not domain or domain[0] == "[" or not _DOT_ATOM.match(local):
        return None
    forms = _email_domain(domain)
    if forms is None:
        return None
    normalized = f"{local}@{forms[0]}"
    for address in (candidate, normalized, f"{local}@{forms[1]}"):
        if len(address.encode()) > _EMAIL_MAX_BYTES:
            return None
    return normalized.lower()


def normalize_email(raw: str, field: str = "email") -> str:
    """A syntactically valid address, lower-cased (no DNS lookups)."""
    # Zero-width characters come along when an address is copied from a page or a chat: dropped.
    candidate = _ZERO_WIDTH.sub("", raw).strip().strip("<>").removeprefix("mailto:").strip()
    if not candidate:
        raise InvalidInput(field, "is empty", "Give an address such as ana@example.com, or leave it out")
    fast = _plain_email(candidate)
    if fast is not None:
        return fast
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(
            field, f"{raw!r} is not a valid email address ({exc})", "Give an address such as ana@example.com"
        ) from None
    return checked.normalized.lower()


def normalize_phone(raw: str, region: str, field: str = "phone") -> str:
    """E.164 form of a phone number; numbers without a country code are read in ``region``."""
    value, refusal = _phone(raw, region)
    if refusal is not None:
        raise InvalidInput(field, *refusal)
    assert value is not None
    return value


# A company's switchboard, a shared office line: the same text is parsed once (pure, errors kept).
@lru_cache(maxsize=16_384)
def _phone(raw: str, region: str) -> tuple[str | None, tuple[str, str] | None]:
    """The E.164 number, or the reason and hint of its refusal."""
    text = raw.strip()
    if not text or not _PHONE_CHARS.match(text) or len(_DIGITS.findall(text)) < 5:
        hint = "Give digits with an optional leading + and country code, e.g. +1 415 555 0100"
        return None, (f"{raw!r} is not a phone number", hint)
    fast = phones.international(text)
    if fast is not None:
        return fast, None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, (f"{raw!r} is not a phone number", "Give it with its country code, e.g. +49 30 1234567")
    if not phonenumbers.is_possible_number(parsed):
        where = phonenumbers.region_code_for_number(parsed) or region
        return None, (
            f"{raw!r} has the wrong number of digits for {where}",
            "Check the digits and give the country code, e.g. +44 20 7946 0958",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def looks_like_phone(text: str) -> bool:
    """True when a search query is a phone number rather than words."""
    return bool(_PHONE_CHARS.match(text.strip())) and len(_DIGITS.findall(text)) >= 6


def phone_search_token(text: str, region: str) -> str:
    """The digits a phone query is searched by (E.164 digits when it parses)."""
    try:
        parsed = phonenumbers.parse(text.strip(), region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    except phonenumbers.NumberParseException:
        pass
    return "".join(_DIGITS.findall(text))


def normalize_website(raw: str, field: str = "website") -> str:
    """Host and path without scheme or trailing slash, host lower-cased ("www.example.com/team")."""
    value, refusal = _website(raw)
    if refusal is not None:
        raise InvalidInput(field, *refusal)
    assert value is not None
    return value


# Sites repeat across an import (one per company), and urlsplit is most of a record's cost after
# the email and phone: each distinct text is read once. Pure, so errors are kept too.
@lru_cache(maxsize=16_384)
def _website(raw: str) -> tuple[str | None, tuple[str, str] | None]:
    """The normalized site, or the reason and hint of its refusal."""
    text = raw.strip()
    if not text:
        return None, ("is empty", "Give a site such as example.com, or leave it out")
    try:
        parts = urlsplit(text if "://" in text else f"http://{text}")
        host = (parts.hostname or "").lower()
        port_number = parts.port  # a port that is not a number 0-65535 raises ValueError
    except ValueError:
        bad = f"{raw!r} is not a web address (bad host or port)"
        return None, (bad, "Give a site such as example.com/team")
    if parts.scheme not in {"http", "https"} or "." not in host or " " in text:
        return None, (f"{raw!r} is not a web address", "Give a site such as example.com/team")
    port = f":{port_number}" if port_number else ""
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{port}{path}{query}", None


def normalize_tag(raw: str, field: str = "tags") -> str:
    """A tag: trimmed, inner whitespace collapsed, lower-cased, at most 100 characters."""
    tag = " ".join(raw.split()).lower()
    if not tag:
        raise InvalidInput(field, "contains an empty tag", "Remove it")
    if len(tag) > 100:
        raise InvalidInput(field, f"tag {raw[:20]!r}... is longer than 100 characters", "Shorten it")
    return tag


@lru_cache(maxsize=16_384)
def _fold_company(company: str) -> str:
    words = [w for w in fold(company).split() if w not in _LEGAL_SUFFIXES]
    return " ".join(words) or fold(company)


def name_key(full_name: str | None, company: str | None) -> str | None:
    """Folded name (word order ignored) + folded company: equal keys are the same person.

    None when either part is missing: a bare name is too weak to merge on.
    """
    if not full_name or not company:
        return None
    words = [w for w in fold(full_name).split() if w not in _HONORIFICS and w not in _NAME_SUFFIXES]
    folded_company = _fold_company(company)
    if not words or not folded_company:
        return None
    return digest_long_key(" ".join(sorted(words)) + "|" + folded_company)


# contact_keys.value holds 400 characters; a 300-character name and company (or letters that
# NFKD spells out at length, such as U+FDFA) fold to more. A key longer than this keeps its first
# characters, readable, and the SHA-256 of the whole, so equal keys stay equal and distinct ones
# distinct (PostgreSQL refused the long value outright).
MAX_KEY_LENGTH = 200


def digest_long_key(key: str) -> str:
    """``key`` itself when short enough, else its head and a digest of all of it (MAX_KEY_LENGTH long)."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_KEY_LENGTH - len(digest) - 1]}#{digest}"


# given_name and family_name hold 200 characters, a full name 300: a longer part is cut at a word.
MAX_NAME_PART = 200


def cut_at_word(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at the last space within it when there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip()


def split_name(full_name: str) -> tuple[str | None, str | None]:
    """Given and family name, keeping particles with the family name ("Anna van der Berg").

    Each part is at most MAX_NAME_PART characters (cut at a word), as the columns hold.
    """
    given, family = _split_name(full_name)
    return (
        cut_at_word(given, MAX_NAME_PART) if given else given,
        cut_at_word(family, MAX_NAME_PART) if family else family,
    )


def _split_name(full_name: str) -> tuple[str | None, str | None]:
    words = full_name.split()
    while words and words[0].lower().rstrip(".") in _HONORIFICS:
        words = words[1:]
    while len(words) > 1 and words[-1].lower().rstrip(".,").replace(".", "") in _NAME_SUFFIXES:
        words = words[:-1]
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    # The family name starts at the first particle after the first word, else it is the last word.
    for index in range(1, len(words) - 1):
        if words[index].lower() in _PARTICLES:
            return " ".join(words[:index]), " ".join(words[index:])
    return " ".join(words[:-1]), words[-1]


_COUNTRY_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def phone_tokens(e164: str) -> list[str]:
    """Search tokens of a phone: all digits, and the national number without country code."""
    digits = e164.lstrip("+")
    out = [digits]
    # The country code is the shortest known 1-3 digit prefix (as phonenumbers reads it); the
    # national number is the rest as an integer. Same result as parsing, at a fraction of the cost.
    # Stored numbers are E.164 (ASCII digits, no leading zero): anything else goes to the parser.
    if digits.isascii() and digits.isdigit() and digits[:1] != "0":
        for length in (1, 2, 3):
            if len(digits) > length and digits[:length] in _COUNTRY_CODES:
                national = digits[length:].lstrip("0") or "0"  # as an integer
                if national != digits:
                    out.append(national)
                return out
    try:
        national = str(phonenumbers.parse(e164).national_number)
        if national != digits:
            out.append(national)
    except phonenumbers.NumberParseException:
        pass
    return out


def search_text(
    *,
    full_name: str | None,
    given_name: str | None,
    family_name: str | None,
    company: str | None,
    title: str | None,
    emails: Iterable[str],
    phones: Iterable[str],
    website: str | None,
    notes: str | None,
    tags: Iterable[str],
    met_at: str | None,
    address: str | None,
    custom: Iterable[str] = (),
) -> str:
    """The folded text a contact is found by (name, company, title, emails, phones, notes, tags, custom)."""
    parts = [v for v in (full_name, given_name, family_name, company, title, website, met_at, address) if v]
    parts.extend(emails)
    for phone in phones:
        parts.extend(phone_tokens(phone))  # digits, which fold to themselves
    parts.extend(tags)
    parts.extend(custom)
    if notes:
        parts.append(notes)
    # fold() maps characters on their own and whitespace ends every step (see fold), so the
    # parts' folds joined are the words of the parts joined by spaces, folded: ASCII text in one
    # pass, without a cache look-up per part (most parts, a name or an email, are unique).
    joined = " ".join(parts)
    if joined.isascii():
        return _fold_ascii(joined)
    folded = (_fold_ascii(p) if p.isascii() else fold(p) for p in parts)
    return " ".join(f for f in folded if f)


def query_phrases(query: str, region: str) -> list[list[str]]:
    """Plain-text query -> phrases (each word's folded tokens, in order) for the search index.

    "ana@fintech.io" -> [["ana", "fintech", "io"]]; "+1 415 555 0100" -> [["14155550100"]].
    """
    text = query.strip()
    if not text:
        return []
    if looks_like_phone(text):
        return [[phone_search_token(text, region)]]
    words = text.split()
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(
            "query", f"has {len(words)} words; at most {MAX_QUERY_WORDS} are used", "Search by fewer words"
        )
    phrases = []
    for word in words:
        folded = fold(word[:MAX_WORD_LENGTH]).split()
        if folded:
            phrases.append(folded)
    return phrases
