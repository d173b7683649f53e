"""Every tool, generated from its own input schema: missing and wrong-typed arguments are clear errors.

New tools are covered automatically. The store must be unchanged afterwards.
"""

from __future__ import annotations

from typing import Any

from mcp import Client
from tests.helpers import call

WRONG_VALUES: list[Any] = [{"nested": {"deep": [1, 2, 3]}}, [None, "\x00"], 10**30]


def _wrong_for(prop: dict[str, Any]) -> list[Any]:
    """Values whose JSON type this property does not accept."""
    allowed = set()
    for option in prop.get("anyOf", [prop]):
        kind = option.get("type")
        if isinstance(kind, list):
            allowed.update(kind)
        elif kind:
            allowed.add(kind)
        if "enum" in option or "$ref" in option:
            allowed.add("string")
    out = []
    for value in WRONG_VALUES:
        kind = {dict: "object", list: "array", int: "integer"}[type(value)]
        if kind not in allowed and not (kind == "integer" and "number" in allowed):
            out.append(value)
    return out


async def test_every_tool_names_each_missing_or_wrong_argument_and_writes_nothing(client: Client) -> None:
    ana = await call(client, "add_contact", {"full_name": "Ana", "email": "ana@x.io"})
    before = await call(client, "get_contact", {"contact_id": ana["contact"]["id"]})
    tools = (await client.list_tools()).tools
    checked = 0
    for tool in tools:
        schema = tool.input_schema
        required = schema.get("required", [])
        if required:
            result = await client.call_tool(tool.name, {})
            assert result.is_error, tool.name
            text = result.content[0].text
            for name in required:
                assert name in text, f"{tool.name}: missing {name} not named in {text!r}"
            checked += 1
        for name, prop in schema.get("properties", {}).items():
            for value in _wrong_for(prop):
                result = await client.call_tool(tool.name, {name: value})
                assert result.is_error, f"{tool.name}.{name}={value!r} was accepted"
                assert name in result.content[0].text, f"{tool.name}.{name}: {result.content[0].text!r}"
                checked += 1
    assert checked > 30
    after = await call(client, "get_contact", {"contact_id": ana["contact"]["id"]})
    assert after == before
    assert len((await call(client, "search_contacts", {}))["items"]) == 1
