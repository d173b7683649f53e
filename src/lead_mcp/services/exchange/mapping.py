"""From a parsed vCard or CSV row to a ContactCreate, with per-value warnings.

A value that cannot be stored (an email that is not an address, a phone that
is not a number, a web site that is not a URL) is dropped with a warning while
the rest of the record is kept; a record left with no name, email or phone is
an error for that record only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lead_mcp.domain import ContactCreate, Source
from lead_mcp.services.exchange import vcard
from lead_mcp.services.exchange.tabular import (
    ADDRESS_GROUPS,
    LIST_JOINER,
    CsvKind,
    CsvRow,
    Header,
    unsafe_cell,
)

LIST_SPLIT_GOOGLE = " ::: "


@dataclass
class Mapped:
    """A record ready for add_contact, with the values that were dropped and why."""

    data: ContactCreate
    warnings: list[str] = field(default_factory=list)


# Values are checked once, by add_contact's own prepare(); imports drop a refused value with a warning.
def _checked_emails(values: list[str], warnings: list[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


def _checked_phones(values: list[str], region: str, warnings: list[str]) -> list[str]:
    return [_phone_value(v, warnings) for v in values if v.strip()]


def _phone_value(value: str, warnings: list[str]) -> str:
    """A phone as written, or the number of a ``tel:`` URI (RFC 3966: parameters after ``;``).

    Phones are stored as E.164 numbers, which have no room for an extension: an ``ext=`` is
    dropped with a warning, and the number is kept.
    """
    text = value.strip()
    if text[:4].lower() != "tel:":
        return text
    number, *params = text[4:].split(";")
    for param in params:
        name, _, ext = param.partition("=")
        if name.strip().lower() == "ext" and ext.strip():
            warnings.append(
                f"phone {number.strip()[:40]!r}: extension {ext.strip()[:20]!r} dropped "
                "(phones are stored as international numbers without extensions)"
            )
    return number.strip()


def _checked_website(value: str | None, warnings: list[str]) -> str | None:
    return value.strip() if value and value.strip() else None


def _join_notes(parts: list[str]) -> str | None:
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    return text or None


def from_vcard(card: vcard.RawCard, region: str, custom_keys: frozenset[str] = frozenset()) -> Mapped:
    """A vCard's fields as a ContactCreate (FN, N, ORG, TITLE, EMAIL, TEL, URL, ADR, NOTE, CATEGORIES).

    ORG's first component is the company; a department after it goes to the notes. ``X-LEADMCP-*``
    properties fill the custom fields named in ``custom_keys`` (others are ignored).
    """
    warnings: list[str] = list(card.warnings)

    def first_text(name: str) -> str | None:
        prop = card.first(name)
        return vcard.unescape_text(prop.value).strip() or None if prop else None

    given = family = None
    n = card.first("N")
    if n is not None:
        parts = [*vcard.structured(n), "", "", "", "", ""]
        family, given = parts[0] or None, parts[1] or None
        middle = parts[2] or None
        if middle and given:
            given = f"{given} {middle}"
    org = card.first("ORG")
    company = department = None
    if org is not None:
        units = [p for p in vcard.structured(org) if p]
        company = units[0] if units else None
        department = ", ".join(units[1:]) or None
    emails = _checked_emails([vcard.unescape_text(p.value) for p in _by_pref(card.all("EMAIL"))], warnings)
    phones = _checked_phones(
        [vcard.unescape_text(p.value) for p in _by_pref(card.all("TEL"))], region, warnings
    )
    full_name = first_text("FN")
    # Writers (ours included) fall back to the company or an address when a card has no name.
    if (
        full_name
        and not (given or family)
        and (
            full_name == company
            or full_name in emails
            or full_name in phones
            or full_name == "Unnamed contact"
        )
    ):
        full_name = None
    url = card.first("URL")
    website = _checked_website(vcard.unescape_text(url.value) if url else None, warnings)
    address = None
    for adr in _by_pref(card.all("ADR")):
        address = ", ".join(p for p in vcard.structured(adr) if p) or None
        if address:
            break
    note_parts = [vcard.unescape_text(p.value) for p in card.all("NOTE")]
    if department:
        note_parts.append(f"Department: {department}")
    notes = _join_notes(note_parts)
    tags: list[str] = []
    for prop in card.all("CATEGORIES"):
        tags.extend(vcard.text_list(prop))
    custom: dict[str, str] = {}
    for prop in card.properties:
        key = vcard.custom_key(prop.name)
        if key is not None and key in custom_keys:
            custom.setdefault(key, vcard.unescape_text(prop.value).strip())
    data = ContactCreate(
        full_name=full_name,
        given_name=given,
        family_name=family,
        company=company,
        title=first_text("TITLE"),
        emails=emails,
        phones=phones,
        website=website,
        address=address,
        notes=notes,
        tags=_unique_tags(tags),
        source=Source.IMPORT,
        custom={k: v for k, v in custom.items() if v},
    )
    return Mapped(data=data, warnings=warnings)


def _by_pref(props: list[vcard.Property]) -> list[vcard.Property]:
    """Preferred values first (3.0 TYPE=PREF, 4.0 PREF=1), otherwise in file order."""

    def rank(prop: vcard.Property) -> int:
        pref = prop.params.get("PREF")
        if pref:
            try:
                return int(pref[0])
            except ValueError:
                return 1
        return 0 if "PREF" in prop.types() else 101

    return sorted(props, key=rank)


def _unique_tags(tags: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = " ".join(tag.split())
        if tag and len(tag) <= 100:
            seen.setdefault(tag, None)
    return list(seen)[:50]


def _split(value: str, separators: tuple[str, ...]) -> list[str]:
    if not any(sep in value for sep in separators):  # the common case: a cell of one value
        stripped = value.strip()
        return [stripped] if stripped else []
    parts = [value]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [p.strip() for p in parts if p.strip()]


def from_csv(row: CsvRow, header: Header, region: str) -> Mapped:
    """A CSV row's cells as a ContactCreate, according to the header's roles."""
    warnings: list[str] = []
    single: dict[str, str] = {}
    emails: list[str] = []
    phones: list[str] = []
    tags: list[str] = []
    notes: list[str] = []
    custom: dict[str, str] = {}
    # Address parts by address (Outlook: Business, Home, Other), each combined on its own.
    address_parts: dict[str, dict[str, list[str]]] = {}
    linkedin_url = connected_on = department = None
    # Our own export joins list cells with "; " and nothing else: a tag may hold a comma.
    email_seps = (LIST_JOINER,) if header.ours else (LIST_SPLIT_GOOGLE, ";", ",")
    phone_seps = (LIST_JOINER,) if header.ours else (LIST_SPLIT_GOOGLE, ";")
    tag_seps = (LIST_JOINER,) if header.ours else (LIST_SPLIT_GOOGLE, ";", ",")
    for index, role in enumerate(header.roles):
        if role is None or index >= len(row.cells):
            continue
        value = unsafe_cell(row.cells[index]).strip()
        if not value:
            continue
        kind = role.field
        if kind == "emails":
            emails.extend(_split(value, email_seps))
        elif kind == "phones":
            phones.extend(_split(value, phone_seps))
        elif kind == "tags":
            for tag in _split(value, tag_seps):
                if tag.startswith("* "):  # Google's system groups: "* myContacts", "* starred"
                    tag = tag[2:].strip()
                    if "".join(tag.casefold().split()) == "mycontacts":
                        continue
                tags.append(tag)
        elif kind == "notes":
            notes.append(value)
        elif kind == "address_part" and role.part:
            address_parts.setdefault(role.group, {}).setdefault(role.part, []).append(value)
        elif kind == "custom" and role.part:
            custom.setdefault(role.part, value)
        elif kind == "department":
            department = department or value
        elif kind == "linkedin_url":
            linkedin_url = value
        elif kind == "connected_on":
            connected_on = value
        elif kind in {
            "full_name",
            "given_name",
            "middle_name",
            "family_name",
            "company",
            "title",
            "website",
            "address",
            "met_at",
        }:
            single.setdefault(kind, value.split(LIST_SPLIT_GOOGLE)[0].strip())
    given = single.get("given_name")
    if given and single.get("middle_name"):
        given = f"{given} {single['middle_name']}"
    address = single.get("address")
    for group in sorted(address_parts, key=lambda g: ADDRESS_GROUPS.index(g) if g in ADDRESS_GROUPS else 99):
        address = address or _address_from_parts(address_parts[group])
    if department:
        notes.append(f"Department: {department}")
    if address and "\n" in address:  # Google's formatted address has one line per part
        address = ", ".join(p.strip() for p in address.replace("\r", "\n").split("\n") if p.strip())
    if header.kind is CsvKind.LINKEDIN:
        extra = []
        if linkedin_url:
            extra.append(f"LinkedIn: {linkedin_url}")
        if connected_on:
            extra.append(f"Connected on LinkedIn: {connected_on}")
        if extra:
            notes.append("\n".join(extra))
        tags.append("linkedin")
        single.setdefault("met_at", "LinkedIn")
    elif linkedin_url:
        notes.append(f"LinkedIn: {linkedin_url}")
    data = ContactCreate(
        full_name=single.get("full_name"),
        given_name=given,
        family_name=single.get("family_name"),
        company=single.get("company"),
        title=single.get("title"),
        emails=_checked_emails(emails, warnings),
        phones=_checked_phones(phones, region, warnings),
        website=_checked_website(single.get("website"), warnings),
        address=address,
        notes=_join_notes(notes),
        tags=_unique_tags(tags),
        met_at=single.get("met_at"),
        source=Source.IMPORT,
        custom=custom,
    )
    return Mapped(data=data, warnings=warnings)


def _address_from_parts(parts: dict[str, list[str]]) -> str | None:
    street = ", ".join(parts.get("street", []))
    city = " ".join(parts.get("city", [])[:1])
    region = " ".join(parts.get("region", [])[:1])
    postcode = " ".join(parts.get("postcode", [])[:1])
    country = " ".join(parts.get("country", [])[:1])
    locality = " ".join(p for p in (city, region, postcode) if p)
    text = ", ".join(p for p in (street, locality, country) if p)
    return text or None
