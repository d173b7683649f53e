"""Output schemas in the plainest equivalent form, because clients validate every result against them.

The SDK's Python client (and other validating clients) checks each tool result against the
tool's output schema. pydantic writes those schemas with ``$defs`` and ``$ref`` for every
nested model and enum, ``anyOf: [{type: X}, {type: null}]`` for every optional field and a
``title`` on every property. With jsonschema, resolving the ``$ref`` of each list item and
trying each ``anyOf`` branch cost more than the checks themselves: an ``add_contact`` result
took 0.4 ms to validate, a page of fifty follow-ups most of the call's time.

:func:`plain_schema` returns a schema that accepts exactly the same documents: references
inlined (a model that refers to itself keeps its ``$defs``), ``anyOf`` with ``null`` folded
into a ``type`` list where the other branch is a single typed schema (its keywords apply only to
values of that type, so they hold the same), and the ``title`` keywords dropped (annotations that
validate nothing; the property names and descriptions stay).
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}
# Keywords that hold for every value whatever its type: a branch carrying one is not folded.
_ANY_TYPE = frozenset({"anyOf", "oneOf", "allOf", "not", "if", "then", "else", "const", "$ref"})


class _Recursive(Exception):
    """A definition refers to itself: the schema is left as pydantic wrote it."""


def plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An equivalent schema without references, nullable ``anyOf`` or titles (see the module docstring)."""
    definitions = schema.get("$defs", {})
    try:
        plain: dict[str, Any] = _plain(schema, definitions, ())
    except _Recursive:
        return schema
    return plain


def _plain(node: Any, definitions: dict[str, Any], inlining: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_plain(item, definitions, inlining) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str):
        name = reference.removeprefix("#/$defs/")
        if name == reference or name not in definitions or name in inlining:
            raise _Recursive(reference)
        target = _plain(definitions[name], definitions, (*inlining, name))
        siblings = {
            k: _plain(v, definitions, inlining) for k, v in node.items() if k not in ("$ref", "title")
        }
        return {**target, **siblings}  # the use's own description and default win over the model's
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "$defs"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: _plain(sub, definitions, inlining) for name, sub in value.items()}
        else:
            out[key] = _plain(value, definitions, inlining)
    return _fold_nullable(out)


def _fold_nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [S, {type: null}]`` as S with ``null`` added to its type, when S has one type."""
    branches = node.get("anyOf")
    if not (isinstance(branches, list) and len(branches) == 2 and _NULL in branches):
        return node
    other = branches[0] if branches[1] == _NULL else branches[1]
    kind = other.get("type")
    if not isinstance(kind, str) or kind == "null" or _ANY_TYPE & set(other):
        return node
    folded = {**other, "type": [kind, "null"]}
    if "enum" in folded:
        folded["enum"] = [*folded["enum"], None]
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    clash = set(rest) & set(other)
    if clash - {"description", "default"}:
        return node  # both sides constrain the same keyword: keep the anyOf
    return {**folded, **rest}
