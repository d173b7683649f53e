"""CSV writing (spreadsheet-safe) and reading (header mapping for generic, LinkedIn and Google files).

Writing: UTF-8 (optionally with a BOM so Excel picks the encoding), RFC 4180
quoting and CRLF rows, one row per contact, list fields joined by ``"; "``.
A cell that starts with ``= + - @``, a tab or a carriage return is prefixed
with ``'`` (OWASP's advice against CSV/formula injection): a spreadsheet shows
it as text, the value stays readable, and our own reader removes the prefix.

Reading: the header is the first row (within the first 20) that names at
least one known column; rows before it are a preamble (LinkedIn's
``Connections.csv`` starts with "Notes:" lines). Header names are folded
(case, punctuation, numbering) and looked up in a table of common English
names, Google Contacts' ``E-mail 1 - Value`` style and Outlook's. Columns that
map to nothing but hold data are reported as unmapped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

HEADER_SEARCH_ROWS = 20
FALLBACK_ENCODING = "cp1252"  # Excel's "CSV" on Windows in Western Europe and the Americas
LIST_JOINER = "; "
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

EXPORT_COLUMNS = (
    ("id", "ID"),
    ("full_name", "Full Name"),
    ("given_name", "Given Name"),
    ("family_name", "Family Name"),
    ("company", "Company"),
    ("title", "Title"),
    ("emails", "Emails"),
    ("phones", "Phones"),
    ("website", "Website"),
    ("address", "Address"),
    ("notes", "Notes"),
    ("tags", "Tags"),
    ("stage", "Stage"),
    ("source", "Source"),
    ("score", "Score"),
    ("met_at", "Met At"),
    ("referred_by_id", "Referred By"),
    ("created_at", "Created At"),
    ("updated_at", "Updated At"),
    ("last_touch_at", "Last Touch At"),
    ("next_followup_at", "Next Follow-up At"),
)


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix a quote), still readable."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unsafe_cell(value: str) -> str:
    """Undo :func:`safe_cell` when reading our own (or any OWASP-neutralised) export back."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


class RowWriter:
    """Formats rows as CSV text: one call, one string (so exports stream row by row)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def row(self, cells: Iterable[str]) -> str:
        """One CSV row with CRLF, every cell neutralised against formula injection."""
        self._writer.writerow([safe_cell(c) for c in cells])
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def header_row(custom: Iterable[str] = ()) -> list[str]:
    """The column titles of an export, then those of the custom fields (see :func:`custom_header`)."""
    return [*(title for _, title in EXPORT_COLUMNS), *custom]


# ---------------------------------------------------------------------------------------------
# Reading


class CsvKind(StrEnum):
    """Which flavour of CSV a header says the file is."""

    GENERIC = "csv"
    LINKEDIN = "linkedin"
    GOOGLE = "google"


@dataclass(frozen=True)
class Role:
    """What a column holds: a contact field, a part of one (address parts), or a custom field's key.

    ``group`` tells address parts of different addresses apart (Outlook's Business and Home
    columns): parts are only ever combined within one group.
    """

    field: str
    part: str | None = None
    group: str = ""


_NAME = {
    "full_name": "name|full name|fullname|contact|contact name|display name|person|lead name|customer name",
    "given_name": "first name|firstname|first|given name|givenname|forename|first names",
    "middle_name": "middle name|middle|additional name|additional names|middle names",
    "family_name": "last name|lastname|last|surname|family name|familyname",
    # Not a bare "account": Outlook's "Account" column is an account number, not the company.
    "company": "company|company name|organization|organisation|org|organization name|organisation name|"
    "account name|employer|business|business name|firm|organization 1 name|organization 1",
    "department": "department|dept|organization department|organization 1 department",
    "title": "job title|jobtitle|position|role|designation|occupation|organization title|"
    "organization 1 title|job|title",
    "emails": "email|e mail|email address|e mail address|emails|email addresses|mail|work email|"
    "business email|personal email|home email|other email|primary email|secondary email|"
    "email 1|email 2|email 3|e mail 1|e mail 2|e mail 3|e mail 1 value|e mail 2 value|e mail 3 value|"
    "e mail 4 value|e mail 5 value|email 1 value|email 2 value|email 3 value|e mail 2 address|"
    "e mail 3 address|email address 2|email address 3",
    "phones": "phone|phone number|phones|phone numbers|telephone|telephone number|tel|mobile|mobile phone|"
    "mobile number|cell|cell phone|cellphone|work phone|business phone|business phone 2|home phone|"
    "home phone 2|other phone|primary phone|main phone|company main phone|direct phone|direct dial|"
    "phone 1|phone 2|phone 3|phone 1 value|phone 2 value|phone 3 value|phone 4 value|phone 5 value|"
    "mobile phone number|work phone number|whatsapp",
    "website": "website|web site|url|web page|webpage|homepage|home page|site|web|company website|"
    "website 1 value|website 2 value|personal website|business website",
    "address": "address|full address|postal address|mailing address|street address|business address|"
    "home address|address 1 formatted|address 2 formatted|address formatted|location",
    "notes": "notes|note|comments|comment|description|remarks|about|memo",
    "tags": "tags|tag|labels|label|categories|category|groups|group|group membership|lists",
    "met_at": "met at|where met|event|met|meeting place|where we met",
    "linkedin_url": "linkedin|linkedin url|linkedin profile|profile url|linkedin profile url",
    "connected_on": "connected on|connection date",
}
_ADDRESS_PARTS = {
    "street": "street|street 1|street 2|address line 1|address line 2|address 1|address 2|"
    "business street|business street 2|business street 3|home street|home street 2|home street 3|"
    "other street|other street 2|other street 3|address 1 street|mailing street|street address 1|"
    "street address 2",
    "city": "city|town|business city|home city|other city|address 1 city|mailing city|locality",
    "region": "state|region|province|county|business state|home state|other state|address 1 region|"
    "state province|mailing state|state region",
    "postcode": "zip|zip code|zipcode|postal code|postcode|post code|business postal code|"
    "home postal code|other postal code|address 1 postal code|mailing zip",
    "country": "country|country region|business country|business country region|home country|"
    "home country region|other country|other country region|address 1 country|mailing country",
}
# Which address a prefixed part belongs to; a file with several keeps the first that is filled.
ADDRESS_GROUPS = ("business", "", "home", "other", "mailing")
# Google's and Outlook's type/label columns, and our own export's bookkeeping: known, not imported.
_KNOWN_UNUSED = re.compile(
    r"^(e mail \d+ (type|label)|email \d+ (type|label)|phone \d+ (type|label)|address \d+ (type|label)|"
    r"website \d+ (type|label)|organization \d+ (type|location|symbol|yomi name|job description)|"
    r"id|stage|source|score|referred by|created at|updated at|last touch at|next follow up at|"
    r"name prefix|name suffix|prefix|suffix)$"
)

HEADER_ROLES: dict[str, Role] = {}
for _field, _names in _NAME.items():
    for _name in _names.split("|"):
        HEADER_ROLES.setdefault(_name.strip(), Role(_field))
for _part, _names in _ADDRESS_PARTS.items():
    for _name in _names.split("|"):
        _first = _name.split()[0]
        HEADER_ROLES.setdefault(
            _name.strip(), Role("address_part", _part, _first if _first in ADDRESS_GROUPS else "")
        )
# A generic "Title" is a job title; in Outlook's export (which also has "Job Title") it is Mr/Ms.
HONORIFIC_TITLE = "title"


def fold_header(cell: str) -> str:
    """'E-mail 1 - Value' -> 'e mail 1 value'; '\\ufeffFirst Name' -> 'first name'."""
    text = cell.replace("\ufeff", "").casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def is_known_header(cell: str) -> bool:
    """True when a column title already means something to the reader (a built-in or ignored column)."""
    name = fold_header(cell)
    return name in HEADER_ROLES or bool(_KNOWN_UNUSED.match(name))


def custom_header(key: str, label: str, taken: set[str]) -> str:
    """The export column title of a custom field: its label, unless that reads as another column."""
    for title in (label, f"{label} [{key}]", f"custom {key}"):
        if title and not is_known_header(title) and fold_header(title) not in taken:
            taken.add(fold_header(title))
            return title
    return f"custom {key} {len(taken)}"  # never reached for valid keys; keeps titles unique


def custom_header_names(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Folded column titles that name a custom field (its key, label, or export title) -> its key."""
    names: dict[str, str] = {}
    for key, label in fields:
        for title in (key, label, f"{label} [{key}]", f"custom {key}"):
            names.setdefault(fold_header(title), key)
    return names


@dataclass
class Header:
    """A mapped header row: each column's role (or None), its line, the kind of file."""

    cells: list[str]
    roles: list[Role | None]
    line: int
    kind: CsvKind
    unmapped: list[int] = field(default_factory=list)
    known: int = 0
    ours: bool = False  # our own export: list cells are joined by LIST_JOINER and split only on it

    def mapping(self) -> dict[str, str]:
        """Column title -> what it fills, for the import report."""
        out: dict[str, str] = {}
        for cell, role in zip(self.cells, self.roles, strict=True):
            if role is None or role.field == "ignored":
                continue
            if role.field == "address_part":
                out[cell] = f"address ({role.part})"
            elif role.field == "custom":
                out[cell] = f"custom.{role.part}"
            else:
                out[cell] = role.field
        return out


def map_header(cells: list[str], line: int, custom: Mapping[str, str] | None = None) -> Header | None:
    """The header's roles, or None when no cell names a known column.

    ``custom`` maps folded titles to custom-field keys (see :func:`custom_header_names`).
    """
    folded = [fold_header(c) for c in cells]
    ours = (
        len(cells) >= len(EXPORT_COLUMNS)
        and [c.replace("\ufeff", "") for c in cells[: len(EXPORT_COLUMNS)]] == header_row()
    )
    roles: list[Role | None] = []
    known = 0
    for index, name in enumerate(folded):
        role = None if ours and index >= len(EXPORT_COLUMNS) else HEADER_ROLES.get(name)
        if role is None and custom and name in custom:
            role = Role("custom", custom[name])
        if role is None and name and _KNOWN_UNUSED.match(name):
            role = Role("ignored")
        if role is not None and role.field != "ignored":
            known += 1
        roles.append(role)
    if known == 0:
        return None
    names = set(folded)
    if "job title" in names and HONORIFIC_TITLE in names:
        roles = [Role("ignored") if n == HONORIFIC_TITLE else r for n, r in zip(folded, roles, strict=True)]
    kind = CsvKind.GENERIC
    if {"first name", "last name", "connected on"} <= names:
        kind = CsvKind.LINKEDIN
    elif (
        "e mail 1 value" in names
        or "phone 1 value" in names
        or "group membership" in names
        or ("organization 1 name" in names and "given name" in names)
    ):
        kind = CsvKind.GOOGLE
    if kind is CsvKind.LINKEDIN:  # LinkedIn's "URL" is the person's profile, not their web site
        roles = [Role("linkedin_url") if n == "url" else r for n, r in zip(folded, roles, strict=True)]
    unmapped = [i for i, r in enumerate(roles) if r is None]
    return Header(cells=cells, roles=roles, line=line, kind=kind, unmapped=unmapped, known=known, ours=ours)


@dataclass
class CsvRow:
    """A data row with where it starts, or the reason it cannot be read."""

    number: int
    line: int
    cells: list[str]
    error: str | None = None


@dataclass
class Decoding:
    """Lines that were not UTF-8 and were read as Windows-1252 instead (for the import's notices)."""

    fallback: str | None = FALLBACK_ENCODING
    legacy_lines: int = 0
    first_legacy_line: int | None = None

    def notice(self) -> str | None:
        """A sentence for the import result, or None when every line was UTF-8."""
        if not self.legacy_lines:
            return None
        where = f"line {self.first_legacy_line}"
        count = "1 line" if self.legacy_lines == 1 else f"{self.legacy_lines} lines"
        return (
            f"{count} (first: {where}) were not valid UTF-8 and were read as Windows-1252 (Excel's "
            "default on Windows); check accented letters, or save the file as CSV UTF-8 and import it again"
        )


DELIMITERS = (",", ";", "\t", "|")


def _choose_delimiter(texts: list[str], custom: Mapping[str, str] | None) -> str:
    """The delimiter under which a header names the most known columns, then fits the rows best.

    Counting characters is not enough: a European Excel file separated by ``;`` has more commas
    than semicolons as soon as its notes are prose.
    """
    best, best_score = ",", (-1, -1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(texts, delimiter=delimiter))
        except csv.Error:
            continue
        known, header_at = 0, -1
        for index, cells in enumerate(rows):
            candidate = map_header(cells, index, custom) if any(c.strip() for c in cells) else None
            if candidate is not None and candidate.known > known:
                known, header_at = candidate.known, index
        if header_at < 0:
            continue
        width = len(rows[header_at])
        following = [r for r in rows[header_at + 1 :] if any(c.strip() for c in r)]
        fitting = sum(1 for r in following if len(r) == width)
        score = (known, fitting, width if width > 1 else 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass
class _Line:
    number: int
    text: str
    bad: str | None


def open_quote_line(lines: Sequence[_Line], delimiter: str) -> int | None:
    """The line on which a quote opens that the text never closes (None: every quote is closed).

    Follows the csv module's own reading: a quote opens a field only at the field's start, and
    ``""`` inside a quoted field is a literal quote.
    """
    in_quotes = False
    opened = None
    for entry in lines:
        text = entry.text
        at_start = not in_quotes  # each line after the first continues a quoted field
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if in_quotes:
                if ch == '"' and i + 1 < n and text[i + 1] == '"':
                    i += 1  # an escaped quote
                elif ch == '"':
                    in_quotes = False
            elif ch == '"' and at_start:
                in_quotes, opened = True, entry.number
            at_start = not in_quotes and (ch == delimiter or ch in "\r\n")
            i += 1
    return opened if in_quotes else None


def read_rows(
    lines: Iterable[tuple[int, bytes]],
    *,
    custom: Mapping[str, str] | None = None,
    decoding: Decoding | None = None,
) -> tuple[Header | None, Iterator[CsvRow], list[str]]:
    """Find the header and iterate data rows. Returns (header, rows, preamble lines skipped).

    ``custom`` maps folded column titles to custom-field keys; ``decoding`` collects the lines read
    as Windows-1252 (give ``Decoding(fallback=None)`` when the file declared UTF-8 with a BOM).
    """
    decoding = decoding or Decoding()
    source = iter(lines)
    buffered: list[_Line] = []
    for number, raw in source:
        buffered.append(_decode(number, raw, decoding))
        if len(buffered) >= HEADER_SEARCH_ROWS:
            break
    delimiter = _choose_delimiter([b.text for b in buffered if b.bad is None], custom)

    def all_lines() -> Iterator[_Line]:
        yield from buffered
        for number, raw in source:
            yield _decode(number, raw, decoding)

    stream = all_lines()
    # csv needs text lines; it asks for the next one itself, so remember which line it is on.
    current: list[_Line] = []
    replay: list[_Line] = []  # lines to read again (after an unclosed quote swallowed them)
    ended = [False]

    def texts() -> Iterator[str]:
        while True:
            if replay:
                item = replay.pop(0)
            else:
                read = next(stream, None)
                if read is None:
                    ended[0] = True
                    return
                item = read
            current.append(item)
            yield item.text

    reader = [csv.reader(texts(), delimiter=delimiter)]
    header: Header | None = None
    preamble: list[str] = []
    looked_at: list[tuple[list[str], int, str | None, str | None]] = []
    # The header is the first row naming two known columns; failing that (a one-column file such
    # as a bare list of emails), the first naming one. Rows before it are a preamble.
    while len(looked_at) < HEADER_SEARCH_ROWS:
        try:
            cells = next(reader[0])
            error = None
        except StopIteration:
            break
        except csv.Error as exc:
            cells, error = [], f"cannot be read as CSV ({exc})"
        line = current[0].number if current else 0
        bad = next((x.bad for x in current if x.bad), None)
        current.clear()
        looked_at.append((cells, line, error, bad))
        candidate = map_header(cells, line, custom) if any(c.strip() for c in cells) else None
        if candidate is not None and candidate.known >= 2:
            header = candidate
            break
    if header is None:
        for cells, line, _error, _bad in looked_at:
            candidate = map_header(cells, line, custom) if any(c.strip() for c in cells) else None
            if candidate is not None:
                header = candidate
                break
    if header is None:
        return (
            None,
            iter(()),
            [delimiter.join(c)[:80] for c, *_rest in looked_at if any(x.strip() for x in c)],
        )
    leftover = [entry for entry in looked_at if entry[1] > header.line]
    preamble = [delimiter.join(c)[:80] for c, line, *_rest in looked_at if line < header.line and any(c)]

    def unclosed(lines_used: list[_Line]) -> tuple[list[str], int, str, None] | None:
        """A row that swallowed the rest of the file (or the field limit) in an unclosed quote."""
        if len(lines_used) < 2:
            return None
        opened = open_quote_line(lines_used, delimiter)
        if opened is None:
            return None
        kept = [x for x in lines_used if x.number <= opened]
        replay[:0] = [x for x in lines_used if x.number > opened]
        ended[0] = False
        reader[0] = csv.reader(texts(), delimiter=delimiter)
        return (
            [],
            kept[0].number,
            f'has a quote (") opened on line {opened} that is never closed, so the rest of the file '
            "would be one cell; close or remove that quote and import again (the rows after it are "
            "read on their own)",
            None,
        )

    def parsed() -> Iterator[tuple[list[str], int, str | None, str | None]]:
        """(cells, first line, csv error, encoding problem) of each row after the header."""
        yield from leftover
        while True:
            try:
                cells = next(reader[0])
                error = None
            except StopIteration:
                return
            except csv.Error as exc:
                cells, error = [], f"cannot be read as CSV ({exc})"
            lines_used = list(current)
            current.clear()
            if not lines_used:
                return
            if ended[0] or error is not None:
                broken = unclosed(lines_used)
                if broken is not None:
                    yield broken
                    continue
            yield cells, lines_used[0].number, error, next((x.bad for x in lines_used if x.bad), None)

    def rows() -> Iterator[CsvRow]:
        number = 0
        width = len(header.cells)
        for cells, line, error, bad in parsed():
            if error is None and not any(c.strip() for c in cells):
                continue
            number += 1
            if error is None and bad:
                error = bad
            if error is None and len(cells) > width:
                extra = [c for c in cells[width:] if c.strip()]
                if extra:
                    error = (
                        f"has {len(cells)} cells but the header has {width} "
                        "(an unquoted comma or quote?); quote the cell or remove the extra cells"
                    )
            yield CsvRow(number=number, line=line, cells=cells, error=error)

    return header, rows(), preamble


def _decode(number: int, raw: bytes, decoding: Decoding) -> _Line:
    try:
        return _Line(number, raw.decode("utf-8"), None)
    except UnicodeDecodeError as exc:
        shown = raw[exc.start : exc.start + 1].hex().upper()
    if decoding.fallback:
        try:
            text = raw.decode(decoding.fallback)
        except UnicodeDecodeError:
            pass
        else:
            decoding.legacy_lines += 1
            if decoding.first_legacy_line is None:
                decoding.first_legacy_line = number
            return _Line(number, text, None)
        why = f"is neither UTF-8 nor Windows-1252 (byte 0x{shown} on line {number})"
    else:
        why = (
            f"is not valid UTF-8 although the file starts with a UTF-8 mark (byte 0x{shown} on line {number})"
        )
    return _Line(
        number, raw.decode("utf-8", errors="replace"), f"{why}; save the file as UTF-8 and import it again"
    )
