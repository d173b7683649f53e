"""Published output schemas: plain (no references, no nullable anyOf), accepting what pydantic's do."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema
import pytest
from pydantic import TypeAdapter

from lead_mcp.config import Settings
from lead_mcp.mcp.schemas import plain_schema
from lead_mcp.mcp.server import build_server

ODD_VALUES: list[Any] = [None, 0, -1, 1.5, "", "x", True, [], {}, [1], {"k": "v"}, "2026-01-01T00:00:00Z"]


def _tool_schemas() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each tool's schema as pydantic writes it for its output model, and as the server publishes it."""
    server = build_server(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    out = {}
    for tool in server._tool_manager.list_tools():
        meta = tool.fn_metadata
        if meta.output_schema is None or meta.wrap_output:
            continue
        out[tool.name] = (TypeAdapter(meta.output_model).json_schema(), meta.output_schema)
    return out


TOOL_SCHEMAS = _tool_schemas()


def _sample(schema: dict[str, Any], defs: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A document the original schema accepts, with branches, optional fields and list lengths at random."""
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].removeprefix("#/$defs/")], defs, rng, depth)
    if "anyOf" in schema:
        return _sample(rng.choice(schema["anyOf"]), defs, rng, depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object":
        required = set(schema.get("required", []))
        doc = {
            name: _sample(sub, defs, rng, depth + 1)
            for name, sub in schema.get("properties", {}).items()
            if name in required or rng.random() < 0.7
        }
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and depth < 4 and rng.random() < 0.5:
            doc["extra_key"] = _sample(extra, defs, rng, depth + 1)
        return doc
    if kind == "array":
        count = 0 if depth > 4 else rng.randint(0, 2)
        return [_sample(schema.get("items", {}), defs, rng, depth + 1) for _ in range(count)]
    if kind == "integer":
        return rng.randint(0, 100)
    if kind == "number":
        return rng.choice([0.5, 3, 99.25])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if schema.get("format") == "date-time":
        return "2026-12-03T09:00:00Z"
    return rng.choice(["Ana", "ana@fintech.io", "+14155550100"])


def _mutated(doc: Any, rng: random.Random) -> Any:
    """``doc`` with one value somewhere replaced by an odd one, a key dropped, or an item appended."""
    doc = copy.deepcopy(doc)
    nodes: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, (dict, list)):
            nodes.append(node)
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(doc)
    target = rng.choice(nodes)
    if isinstance(target, dict) and target:
        key = rng.choice(sorted(target))
        if rng.random() < 0.25:
            del target[key]
        else:
            target[key] = rng.choice(ODD_VALUES)
    elif isinstance(target, list):
        target.append(rng.choice(ODD_VALUES))
    else:
        target["unexpected"] = rng.choice(ODD_VALUES)
    return doc


def _valid(validator: Any, doc: Any) -> bool:
    return next(iter(validator.iter_errors(doc)), None) is None


def test_published_output_schemas_are_plain_and_valid() -> None:
    assert len(TOOL_SCHEMAS) >= 20
    for name, (_, published) in TOOL_SCHEMAS.items():
        jsonschema.Draft202012Validator.check_schema(published)
        text = json.dumps(published)
        assert "$ref" not in text and "$defs" not in text, name
        assert '"anyOf": [{"type": "string"}, {"type": "null"}]' not in text, name


@pytest.mark.parametrize("tool", sorted(TOOL_SCHEMAS))
def test_plain_output_schema_accepts_and_refuses_what_pydantics_does(tool: str) -> None:
    original, published = TOOL_SCHEMAS[tool]
    assert plain_schema(original) == published
    before = jsonschema.Draft202012Validator(original)
    after = jsonschema.Draft202012Validator(published)
    rng = random.Random(f"{tool}-3")
    refused = 0
    for _ in range(150):
        doc = _sample(original, original.get("$defs", {}), rng)
        assert _valid(before, doc), (tool, doc)
        assert _valid(after, doc), (tool, doc)
        for _ in range(3):
            odd = _mutated(doc, rng)
            accepted = _valid(before, odd)
            refused += not accepted
            assert _valid(after, odd) == accepted, (tool, odd)
    assert refused > 0  # the mutations do reach documents the schema refuses


def test_plain_schema_keeps_a_self_referring_model_and_odd_branches() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert plain_schema(tree) == tree
    either = {"anyOf": [{"type": "string", "const": "a"}, {"type": "null"}]}
    assert plain_schema(either) == either
    nullable_enum = {
        "anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}],
        "default": None,
        "title": "T",
    }
    assert plain_schema(nullable_enum) == {
        "enum": ["a", "b", None],
        "type": ["string", "null"],
        "default": None,
    }
    validator = jsonschema.Draft202012Validator(plain_schema(nullable_enum))
    assert _valid(validator, None) and _valid(validator, "a") and not _valid(validator, "c")
