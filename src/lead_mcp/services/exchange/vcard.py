"""vCard 3.0 / 4.0 writing and vCard 2.1 / 3.0 / 4.0 reading, without a third-party library.

Writing follows RFC 2426 (3.0) and RFC 6350 (4.0): text values escape ``\\ , ;``
and newlines, lines end in CRLF, and lines longer than 75 octets are folded
(CRLF + one space) at a UTF-8 character boundary, never inside a multi-byte
character nor between a backslash and the character it escapes. vobject folds
by characters, which breaks CJK and emoji lines, hence this small writer. Each
card is built as one short string, so an export streams card by card.

Reading accepts what phones and address books write: folded lines (space or
tab), vCard 2.1 quoted-printable with soft line breaks, ``CHARSET`` parameters,
2.1 bare type parameters (``TEL;WORK;VOICE:``), grouped names (``item1.EMAIL``),
quoted parameter values, 2.1 base64 values continued on unindented lines up to
a blank line, a 2.1 ``AGENT`` holding a nested card (read as a card of its own,
after the outer one), and several cards per file. A line that cannot be read
(no colon, an unknown charset, bytes that are not text) is skipped with a
warning naming it; a card whose structure is broken (BEGIN:VCARD without
END:VCARD) becomes a :class:`RawCard` with ``error`` set. Either way the cards
around it still parse.
"""

from __future__ import annotations

import codecs
import quopri
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import phonenumbers

from lead_mcp import __version__
from lead_mcp.services import phones

CRLF = "\r\n"
MAX_LINE_OCTETS = 75
VERSIONS = ("3.0", "4.0")
PRODID = f"-//lead-mcp//lead-mcp {__version__}//EN"
CUSTOM_PREFIX = "X-LEADMCP-"


class CardContact(Protocol):
    """The contact fields a vCard is written from (an ORM row or a model both fit)."""

    id: str
    full_name: str | None
    given_name: str | None
    family_name: str | None
    company: str | None
    title: str | None
    emails: list[str]
    phones: list[str]
    website: str | None
    address: str | None
    notes: str | None
    tags: list[str]
    updated_at: datetime


# ---------------------------------------------------------------------------------------------
# Writing


def escape_text(value: str, *, semicolon: bool = True) -> str:
    """A TEXT value escaped for a content line: backslash, comma, line breaks and (see below) semicolon.

    RFC 2426 (3.0) escapes ``;`` in every text value; RFC 6350 (4.0) only inside compound
    values (N, ADR, ORG), and strict 4.0 readers keep a ``\\;`` elsewhere as two characters.
    """
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace("\n", "\\n")
    return value.replace(";", "\\;") if semicolon else value


def fold(line: str) -> str:
    """One content line with CRLF, folded at 75 octets without splitting a UTF-8 character or an escape."""
    if len(line) <= MAX_LINE_OCTETS // 4 or (len(line) <= MAX_LINE_OCTETS and line.isascii()):
        return line + CRLF
    data = line.encode("utf-8")
    if len(data) <= MAX_LINE_OCTETS:
        return line + CRLF
    parts: list[bytes] = []
    start = 0
    limit = MAX_LINE_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while cut > start + 1 and (data[cut] & 0xC0) == 0x80:  # inside a multi-byte character
            cut -= 1
        backslashes = 0
        while cut - 1 - backslashes > start and data[cut - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 1:  # the last octet opens an escape: keep "\n", "\," ... together
            cut -= 1
        parts.append(data[start:cut])
        start = cut
        limit = MAX_LINE_OCTETS - 1  # the leading space of a continuation line counts
    parts.append(data[start:])
    return (b"\r\n ".join(parts) + b"\r\n").decode("utf-8")


def _phone_kind(e164: str) -> str:
    """cell, work (fixed line) or voice, from the number itself (no type is stored)."""
    kind = phones.number_type(e164)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return "cell"
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "work"
    return "voice"


_TEL_TYPES_30 = {"cell": "CELL", "work": "WORK,VOICE", "voice": "VOICE"}
_TEL_TYPES_40 = {"cell": "cell", "work": "work,voice", "voice": "voice"}


def display_name(contact: CardContact) -> str:
    """FN: the name, else the company, else the first email or phone (FN may not be empty)."""
    for value in (contact.full_name, contact.company, *contact.emails, *contact.phones):
        if value:
            return value
    return "Unnamed contact"


def _rev(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


CustomValues = Sequence[tuple[str, object]]


def custom_property(key: str) -> str:
    """The vCard property of a custom field: ``X-LEADMCP-`` and the key in capitals, ``_`` as ``-``.

    (x-names allow letters, digits and hyphens; keys are lower-case letters, digits and ``_``.)
    """
    return CUSTOM_PREFIX + key.upper().replace("_", "-")


def custom_key(property_name: str) -> str | None:
    """The custom-field key a vCard property carries (the inverse of :func:`custom_property`)."""
    if not property_name.startswith(CUSTOM_PREFIX):
        return None
    return property_name[len(CUSTOM_PREFIX) :].lower().replace("-", "_") or None


def custom_text(value: object) -> str:
    """A custom value as text (numbers as written, dates as YYYY-MM-DD)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def card(contact: CardContact, version: str = "3.0", *, custom: CustomValues = ()) -> str:
    """One VCARD (3.0 or 4.0) with CRLF line ends, folded and escaped.

    ``custom`` holds the contact's custom-field values (key, value), written as ``X-LEADMCP-*``
    text properties that other address books keep and ignore.
    """
    v4 = version == "4.0"

    def text(value: str) -> str:  # a single text value
        return escape_text(value, semicolon=not v4)

    def part(value: str | None) -> str:  # a component of a compound value
        return escape_text(value or "")

    lines = [
        "BEGIN:VCARD",
        f"VERSION:{version}",
        f"PRODID:{PRODID}",
        f"UID:urn:uuid:{contact.id}",
        "FN:" + text(display_name(contact)),
        f"N:{part(contact.family_name)};{part(contact.given_name)};;;",
    ]
    if v4:
        lines.append("KIND:individual")
    if contact.company:
        lines.append("ORG:" + part(contact.company))
    if contact.title:
        lines.append("TITLE:" + text(contact.title))
    for index, email in enumerate(contact.emails):
        if v4:
            lines.append(f"EMAIL;TYPE=work{';PREF=1' if index == 0 else ''}:{text(email)}")
        else:
            lines.append(f"EMAIL;TYPE=INTERNET,WORK{',PREF' if index == 0 else ''}:{text(email)}")
    for index, phone in enumerate(contact.phones):
        kind = _phone_kind(phone)
        if v4:
            pref = ";PREF=1" if index == 0 else ""
            lines.append(f'TEL;VALUE=uri;TYPE="{_TEL_TYPES_40[kind]}"{pref}:tel:{phone}')
        else:
            lines.append(f"TEL;TYPE={_TEL_TYPES_30[kind]}{',PREF' if index == 0 else ''}:{phone}")
    if contact.website:
        lines.append("URL:" + _url(contact.website))
    if contact.address:
        # One stored line: it goes whole into the street component, which every reader shows.
        lines.append(("ADR;TYPE=work:" if v4 else "ADR;TYPE=WORK:") + ";;" + part(contact.address) + ";;;;")
    if contact.notes:
        lines.append("NOTE:" + text(contact.notes))
    if contact.tags:
        lines.append("CATEGORIES:" + ",".join(text(t) for t in contact.tags))
    for key, value in custom:
        if value is not None and value != "":
            # VALUE=text: an x-property's value type is unknown otherwise, and readers keep escapes.
            lines.append(custom_property(key) + ";VALUE=text:" + text(custom_text(value)))
    lines.append("REV:" + _rev(contact.updated_at))
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def _url(website: str) -> str:
    return website if "://" in website else f"https://{website}"


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class Property:
    """One content line of a card: upper-cased name, parameters, raw (still escaped) value."""

    name: str
    params: dict[str, list[str]]
    value: str
    line: int

    def types(self) -> set[str]:
        """The TYPE values, upper-cased (2.1 bare parameters included)."""
        out: set[str] = set()
        for value in self.params.get("TYPE", []):
            out.update(v.strip().upper() for v in value.split(",") if v.strip())
        return out


@dataclass
class RawCard:
    """A parsed card: its properties, or the reason it could not be read."""

    number: int
    line: int
    version: str | None = None
    properties: list[Property] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # lines skipped, and why

    def all(self, name: str) -> list[Property]:
        """Every property with this name."""
        return [p for p in self.properties if p.name == name]

    def first(self, name: str) -> Property | None:
        """The first property with this name."""
        for prop in self.properties:
            if prop.name == name:
                return prop
        return None


def split_unescaped(value: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is not escaped by a backslash (escapes are kept)."""
    if sep not in value:
        return [value]
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def unescape_text(value: str) -> str:
    """Undo TEXT escaping: ``\\n`` ``\\,`` ``\\;`` ``\\\\`` (an unknown escape keeps its character)."""
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, "")
        out.append("\n" if nxt in ("n", "N") else nxt)
    return "".join(out)


def _split_head(line: str) -> tuple[str, str] | None:
    """(name and parameters, value) split at the first colon outside double quotes."""
    quoted = False
    for index, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return line[:index], line[index + 1 :]
    return None


def _split_params(head: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in head:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_BARE_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}


def parse_head(head: str) -> tuple[str, dict[str, list[str]]]:
    """Property name (group dropped, upper-cased) and its parameters."""
    pieces = _split_params(head)
    name = pieces[0].strip().upper()
    if "." in name:
        name = name.rsplit(".", 1)[1]
    params: dict[str, list[str]] = {}
    for piece in pieces[1:]:
        piece = piece.strip()
        if not piece:
            continue
        if "=" in piece:
            key, raw = piece.split("=", 1)
            key = key.strip().upper()
        else:  # vCard 2.1: a bare value is a TYPE, or an ENCODING
            key, raw = ("ENCODING" if piece.upper() in _BARE_ENCODINGS else "TYPE"), piece
        value = raw.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        params.setdefault(key, []).append(value)
    return name, params


def _decode_value(raw: bytes, params: dict[str, list[str]]) -> str | None:
    """The value as text (quoted-printable and charset applied); None for binary (photos)."""
    encoding = (params.get("ENCODING") or [""])[0].upper()
    if encoding in {"B", "BASE64"}:
        return None
    if encoding == "QUOTED-PRINTABLE":
        raw = quopri.decodestring(raw)
    charset = (params.get("CHARSET") or ["utf-8"])[0].strip() or "utf-8"
    try:
        # Some codec names (QUOTED-PRINTABLE, BASE64...) are bytes-to-bytes codecs, not charsets.
        known = codecs.lookup(charset)._is_text_encoding
    except LookupError:
        known = False
    if not known:
        raise ValueError(f"has an unknown CHARSET {charset!r}")
    try:
        return raw.decode(charset)
    except UnicodeDecodeError as exc:
        shown = raw[exc.start : exc.start + 1].hex().upper()
        raise ValueError(
            f"is not valid {charset} (byte 0x{shown}); save the file as UTF-8 or give the CHARSET"
        ) from None


def _logical_lines(lines: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """Unfold: continuation lines (leading space/tab) and quoted-printable soft breaks."""
    current: bytearray | None = None
    start = 0
    qp_soft = base64 = False
    for number, raw in lines:
        line = raw.rstrip(b"\r\n")
        if current is not None and line[:1] in (b" ", b"\t") and not qp_soft:
            current += line[1:]
            continue
        if current is not None and base64 and line.strip() and b":" not in line:
            current += line.strip()  # vCard 2.1: base64 goes on, unindented, until a blank line
            continue
        if current is not None and qp_soft:
            current += line.lstrip(b" \t")
        else:
            if current is not None:
                yield start, bytes(current)
            current = bytearray(line)
            start = number
        head = bytes(current).split(b":", 1)[0].upper()
        qp_soft = b"QUOTED-PRINTABLE" in head and current.endswith(b"=")
        if qp_soft:
            del current[-1]
        base64 = b"BASE64" in head
    if current is not None:
        yield start, bytes(current)


MAX_NESTING = 3


def read_cards(lines: Iterable[tuple[int, bytes]]) -> Iterator[RawCard]:
    """Cards from numbered physical lines (bytes, line ends optional), one RawCard each."""
    current: RawCard | None = None
    outer: list[RawCard] = []  # cards whose AGENT property holds the card being read (vCard 2.1)
    nested: list[RawCard] = []  # finished agent cards, yielded after their outer card
    count = 0
    last_name = ""
    for number, line in _logical_lines(lines):
        if not line.strip():
            continue
        upper = line.strip().upper()
        if upper == b"BEGIN:VCARD":
            if current is not None and last_name == "AGENT" and len(outer) < MAX_NESTING:
                outer.append(current)
            elif current is not None:
                current.error = current.error or (
                    f"line {current.line}: BEGIN:VCARD without END:VCARD "
                    f"before the next card on line {number}"
                )
                yield from _finished(current, outer, nested)
                outer = []
            count += 1
            current = RawCard(number=count, line=number)
            last_name = ""
            continue
        if upper == b"END:VCARD":
            if current is not None and outer:
                nested.append(current)
                current = outer.pop()
                last_name = ""
                continue
            if current is not None:
                yield current
                yield from nested
                nested = []
            current = None
            continue
        if current is None or current.error:
            continue  # text between cards is ignored, as address books do
        try:
            last_name = _read_property(current, number, line)
        except Exception as exc:  # a line no rule foresaw: it costs that line, never the file
            current.warnings.append(f"line {number} skipped: it cannot be read ({type(exc).__name__})")
            last_name = ""
    if current is not None:
        if not current.error:
            current.error = f"line {current.line}: BEGIN:VCARD without END:VCARD (the file may be cut short)"
        yield from _finished(current, outer, nested)


def _finished(current: RawCard, outer: list[RawCard], nested: list[RawCard]) -> Iterator[RawCard]:
    """A card cut short, with the cards it was nested in (reported broken too) and their agents."""
    for card in outer:
        card.error = card.error or f"line {card.line}: its AGENT card on line {current.line} never ends"
    yield from outer
    yield current
    yield from nested
    nested.clear()


def _read_property(card: RawCard, number: int, line: bytes) -> str:
    """Add one content line to the card, or skip it with a warning; returns the property name."""
    # latin-1 maps bytes 1:1, so the split is exact whatever the value's charset is.
    split = _split_head(line.decode("latin-1"))
    if split is None:
        shown = line.decode("utf-8", errors="replace").strip()[:40]
        card.warnings.append(
            f"line {number} skipped: {shown!r} has no ':' between a property name and its value"
        )
        return ""
    try:
        name, params = parse_head(split[0])
    except ValueError as exc:
        card.warnings.append(f"line {number} skipped: {exc}")
        return ""
    if name == "VERSION":
        card.version = split[1].strip()
        return name
    try:
        text = _decode_value(split[1].encode("latin-1"), params)
    except ValueError as exc:
        card.warnings.append(f"line {number}: {name or 'a property'} skipped: its value {exc}")
        return name
    if text is not None:
        card.properties.append(Property(name=name, params=params, value=text, line=number))
    return name


def structured(prop: Property) -> list[str]:
    """The components of a structured value (N, ADR, ORG), unescaped, list values joined by ', '."""
    return [
        ", ".join(p for p in (unescape_text(v).strip() for v in split_unescaped(component, ",")) if p)
        for component in split_unescaped(prop.value, ";")
    ]


def text_list(prop: Property) -> list[str]:
    """The values of a comma-separated list (CATEGORIES, NICKNAME), unescaped."""
    return [unescape_text(v).strip() for v in split_unescaped(prop.value, ",") if v.strip()]


def write_all(contacts: Sequence[CardContact], version: str = "3.0") -> str:
    """Several cards as one text (small exports and single-contact resources)."""
    return "".join(card(c, version) for c in contacts)


__all__ = [
    "CRLF",
    "VERSIONS",
    "CardContact",
    "Property",
    "RawCard",
    "card",
    "custom_key",
    "custom_property",
    "escape_text",
    "fold",
    "read_cards",
    "split_unescaped",
    "structured",
    "text_list",
    "unescape_text",
    "write_all",
]
