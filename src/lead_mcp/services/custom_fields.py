"""Custom fields: user-defined, typed properties of contacts (text, number, date, choice).

Definitions live in ``custom_fields``; a contact's values live in
``contacts.custom`` by field key, already normalized (numbers as JSON numbers,
dates as ``YYYY-MM-DD``, choices spelled as defined), so search, exports and
the assistant read them as they are. A field's type never changes once
defined, and a choice field only gains choices, so stored values stay valid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import CustomFieldRow
from lead_mcp.domain import CustomField, CustomFieldList, CustomFieldType, CustomValue
from lead_mcp.errors import Conflict, InvalidInput
from lead_mcp.services import normalize, roles
from lead_mcp.services.scope import Scope

MAX_FIELDS = 50
MAX_TEXT_VALUE = 500
MAX_CHOICES = 100
MAX_CHOICE_LENGTH = 100
MAX_LABEL = 100
MAX_DESCRIPTION = 500
MAX_KEY = 40
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# Keys that would read like a built-in contact field in exports and in the assistant's mind.
RESERVED_KEYS = frozenset(
    """id full_name given_name family_name name title company email emails phone phones website address notes
    tags tag source referred_by met_at stage budget authority need timeline score consent owner owner_id
    created_at updated_at first_response_at last_touch_at next_followup_at custom""".split()  # noqa: SIM905
)


def field_model(row: CustomFieldRow) -> CustomField:
    """A stored definition."""
    return CustomField(
        key=row.key,
        label=row.label,
        type=CustomFieldType(row.type),
        choices=list(row.choices) if row.choices else None,
        description=row.description,
        created_at=row.created_at,
    )


def make_key(label: str) -> str:
    """A key from a label: folded words joined by underscores ("Deal size (€)" -> "deal_size")."""
    key = "_".join(normalize.fold(label).split())[:MAX_KEY].rstrip("_")
    if key and not key[0].isalpha():
        key = f"f_{key}"[:MAX_KEY]
    return key


def _check_key(raw: str) -> str:
    key = raw.strip().lower()
    if not key or len(key) > MAX_KEY or not _KEY.match(key):
        raise InvalidInput(
            "key",
            f"{raw!r} is not a field key",
            f"Use lower-case letters, digits and underscores, starting with a letter, at most {MAX_KEY} "
            "characters",
        )
    if key in RESERVED_KEYS:
        raise InvalidInput(
            "key", f"{key!r} is a built-in contact field", "Pick another key, e.g. 'deal_size'"
        )
    return key


def _check_choices(raw: list[str] | None, kind: CustomFieldType) -> list[str] | None:
    if kind is not CustomFieldType.CHOICE:
        if raw:
            raise InvalidInput(
                "choices", f"only choice fields have choices, not {kind.value} fields", "Leave it out"
            )
        return None
    cleaned: list[str] = []
    folded: set[str] = set()
    for value in raw or []:
        text = normalize.clean_text(value)
        if not text:
            continue
        if len(text) > MAX_CHOICE_LENGTH:
            raise InvalidInput(
                "choices", f"{text[:20]!r}... is longer than {MAX_CHOICE_LENGTH} characters", "Shorten it"
            )
        if normalize.fold(text) not in folded:
            folded.add(normalize.fold(text))
            cleaned.append(text)
    if not cleaned:
        raise InvalidInput(
            "choices", "a choice field needs at least one choice", "Give e.g. ['fintech', 'retail']"
        )
    if len(cleaned) > MAX_CHOICES:
        raise InvalidInput(
            "choices", f"has {len(cleaned)} choices; at most {MAX_CHOICES}", "Use a text field"
        )
    return cleaned


async def define_custom_field(
    session: AsyncSession,
    scope: Scope,
    *,
    label: str,
    type: CustomFieldType,
    key: str | None = None,
    choices: list[str] | None = None,
    description: str | None = None,
) -> CustomFieldList:
    """Create a custom field, or change the label, description or choices of an existing one."""
    await roles.require_owner(session, scope, "define custom fields (they apply to every seat's contacts)")
    clean_label = normalize.clean_text(label)
    if not clean_label:
        raise InvalidInput("label", "is empty", "Give the name people see, e.g. 'Industry'")
    if len(clean_label) > MAX_LABEL:
        raise InvalidInput("label", f"is longer than {MAX_LABEL} characters", "Shorten it")
    kind = CustomFieldType(type)
    field_key = _check_key(key) if key and key.strip() else make_key(clean_label)
    if not field_key:
        raise InvalidInput(
            "key", f"no key can be made from the label {clean_label!r}", "Give key, e.g. 'industry'"
        )
    if field_key in RESERVED_KEYS:
        raise InvalidInput(
            "key", f"{field_key!r} is a built-in contact field", "Give another key, e.g. 'sector'"
        )
    text_description = normalize.clean_text(description)
    if text_description and len(text_description) > MAX_DESCRIPTION:
        raise InvalidInput("description", f"is longer than {MAX_DESCRIPTION} characters", "Shorten it")
    new_choices = _check_choices(choices, kind)
    now = scope.now()

    row = (
        await session.execute(select(CustomFieldRow).where(CustomFieldRow.key == field_key))
    ).scalar_one_or_none()
    if row is None:
        count = (await session.execute(select(func.count()).select_from(CustomFieldRow))).scalar_one()
        if count >= MAX_FIELDS:
            raise InvalidInput(
                "key", f"this workspace already has {MAX_FIELDS} custom fields", "Reuse one of them"
            )
        session.add(
            CustomFieldRow(
                workspace_id=scope.workspace_id,
                key=field_key,
                label=clean_label,
                type=kind.value,
                choices=new_choices,
                description=text_description,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        if row.type != kind.value:
            raise Conflict(
                f"type: custom field {field_key!r} is a {row.type} field and stored values depend on it; "
                f"define a new field with another key for {kind.value} values"
            )
        if new_choices is not None:
            dropped = [
                c
                for c in row.choices or []
                if normalize.fold(c) not in {normalize.fold(n) for n in new_choices}
            ]
            if dropped:
                raise Conflict(
                    f"choices: contacts may hold {', '.join(map(repr, dropped))}; a choice field only gains "
                    "choices. Pass the old choices too, plus the new ones"
                )
            row.choices = new_choices
        row.label = clean_label
        if description is not None:
            row.description = text_description
        row.updated_at = now
    await session.flush()
    return await list_custom_fields(session, scope)


async def list_custom_fields(session: AsyncSession, scope: Scope) -> CustomFieldList:
    """The workspace's custom fields, oldest first."""
    rows = (
        (
            await session.execute(
                select(CustomFieldRow).order_by(CustomFieldRow.created_at, CustomFieldRow.key)
            )
        )
        .scalars()
        .all()
    )
    return CustomFieldList(items=[field_model(r) for r in rows])


async def definitions(session: AsyncSession) -> dict[str, CustomFieldRow]:
    """The workspace's field definitions by key."""
    rows = (await session.execute(select(CustomFieldRow))).scalars().all()
    return {r.key: r for r in rows}


def coerce(definition: CustomFieldRow, raw: Any, field: str) -> CustomValue | None:
    """One value checked against its field's type; None (or empty text) clears the field."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = CustomFieldType(definition.type)
    if kind is CustomFieldType.NUMBER:
        return _number(raw, field)
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise InvalidInput(field, f"{raw!r} is not a {kind.value} value", "Give text")
    text = normalize.clean_text(str(raw)) or ""
    if kind is CustomFieldType.DATE:
        try:
            return date.fromisoformat(
                text[:10] if len(text) >= 10 and "T" in text[10:11] else text
            ).isoformat()
        except ValueError:
            raise InvalidInput(
                field, f"{raw!r} is not a date", "Give it as YYYY-MM-DD, e.g. 2026-12-01"
            ) from None
    if kind is CustomFieldType.CHOICE:
        by_fold = {normalize.fold(c): c for c in definition.choices or []}
        chosen = by_fold.get(normalize.fold(text))
        if chosen is None:
            raise InvalidInput(
                field,
                f"{text!r} is not one of the choices",
                f"Give one of {', '.join(map(repr, definition.choices or []))}, or add it with "
                "define_custom_field",
            )
        return chosen
    if len(text) > MAX_TEXT_VALUE:
        raise InvalidInput(
            field, f"is {len(text)} characters; at most {MAX_TEXT_VALUE}", "Shorten it, or use notes"
        )
    return text


def _number(raw: Any, field: str) -> int | float:
    value: int | float
    if isinstance(raw, bool):
        raise InvalidInput(field, f"{raw!r} is not a number", "Give a number such as 12000 or 4.5")
    if isinstance(raw, (int, float)):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip().replace(" ", "").replace("_", "")
        try:
            value = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        except ValueError:
            raise InvalidInput(
                field,
                f"{raw!r} is not a number",
                "Give digits with an optional decimal point, e.g. 12000 or 4.5",
            ) from None
    else:
        raise InvalidInput(field, f"{raw!r} is not a number", "Give a number such as 12000 or 4.5")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(field, "is not a finite number", "Give a number such as 12000 or 4.5")
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    elif abs(value) >= 2**53:
        raise InvalidInput(field, "is too large", "Give a number below 9,007,199,254,740,992")
    return value


async def check_values(
    session: AsyncSession, raw: Mapping[str, Any] | None, *, field: str = "custom"
) -> dict[str, CustomValue | None]:
    """Incoming custom values checked against their fields; a None value means "clear this field"."""
    if not raw:
        return {}
    if len(raw) > MAX_FIELDS:
        raise InvalidInput(
            field, f"has {len(raw)} entries; there are at most {MAX_FIELDS} custom fields", "Give fewer"
        )
    known = await definitions(session)
    out: dict[str, CustomValue | None] = {}
    for raw_key, value in raw.items():
        key = str(raw_key).strip().lower()
        definition = known.get(key)
        if definition is None:
            hint = f" ({', '.join(sorted(known))})" if known else ""
            raise InvalidInput(
                f"{field}.{raw_key}",
                "is not a custom field of this workspace",
                f"Use one of the keys list_custom_fields shows{hint}, or create it with define_custom_field",
            )
        out[key] = coerce(definition, value, f"{field}.{key}")
    return out


def search_words(custom: Mapping[str, Any] | None) -> list[str]:
    """The custom values a contact is found by (as text)."""
    return [str(v) for v in (custom or {}).values() if v is not None and v != ""]
