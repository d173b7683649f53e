"""Workspace isolation, generated over the tool list: no call of workspace A ever shows or touches B's data.

Every tool A's connection lists is called with B's ids in each argument that
looks like an id (and B's cursors and search words where a tool takes them);
every resource template is read with B's ids; every prompt is rendered with
them. A new tool, resource or prompt is covered without touching this file.
Nothing of B's that A did not itself send may appear in any answer, and B's
records must be exactly as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from lead_mcp.domain import ALL_SCOPES, Role
from mcp import Client
from tests.e2e.harness import SeatFixture, Served, bearer_client, seed_seat, serve

QUERY_WORDS = ("query", "q", "search", "term", "text")
DATE_HINTS = ("due", "date", "since", "until", "_at", "when")


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[Served]:
    """One server for the module (auth=builtin; the seats use personal tokens)."""
    with serve(module_database_url) as served:
        yield served


@dataclass
class Secrets:
    """What A must never see of B: ids, names, addresses, cursors."""

    contact_ids: list[str] = field(default_factory=list)
    followup_ids: list[str] = field(default_factory=list)
    interaction_ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [*self.contact_ids, *self.followup_ids, *self.interaction_ids, *self.other]

    @property
    def everything(self) -> set[str]:
        return {*self.ids, *self.cursors, *self.words}


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    return result.structured_content


async def _seed_b(client: Client, seat: SeatFixture) -> Secrets:
    secrets = Secrets(other=[seat.user_id, seat.email])
    zeb = await _ok(
        client,
        "add_contact",
        {
            "full_name": "Zebulon Quartzfield",
            "email": "zebulon@quartz-b.example.com",
            "phone": "+1 415 555 0199",
            "company": "Quartzfield Holdings",
            "tags": ["secretb"],
            "notes": "Wants the platinum plan",
            "met_at": "Bering Summit",
        },
    )
    yara = await _ok(
        client,
        "add_contact",
        {
            "full_name": "Yara Obsidianova",
            "email": "yara@obsidian-b.example.com",
            "referred_by": zeb["contact"]["id"],
            "tags": ["secretb"],
        },
    )
    xeno = await _ok(client, "add_contact", {"full_name": "Xenia Basaltine", "phone": "+44 20 7946 0999"})
    for added in (zeb, yara, xeno):
        secrets.contact_ids.append(added["contact"]["id"])
        secrets.followup_ids.append(added["followup"]["id"])
    touch = await _ok(
        client,
        "log_interaction",
        {"contact_id": zeb["contact"]["id"], "kind": "call", "summary": "Discussed platinum"},
    )
    secrets.interaction_ids.append(touch["interaction"]["id"])
    page = await _ok(client, "search_contacts", {"limit": 1})
    secrets.cursors.append(page["next_cursor"])
    due = await _ok(client, "list_due_followups", {"limit": 1, "within_days": 30})
    if due["next_cursor"]:
        secrets.cursors.append(due["next_cursor"])
    secrets.words = [
        "Zebulon",
        "Quartzfield",
        "zebulon@quartz-b.example.com",
        "quartz-b.example.com",
        "+14155550199",
        "Yara",
        "Obsidianova",
        "yara@obsidian-b.example.com",
        "Xenia",
        "Basaltine",
        "+442079460999",
        "secretb",
        "platinum",
        "Bering",
    ]
    return secrets


async def _snapshot(client: Client, secrets: Secrets) -> str:
    listed = await _ok(client, "search_contacts", {"limit": 200})
    details = [await _ok(client, "get_contact", {"contact_id": cid}) for cid in secrets.contact_ids]
    due = await _ok(client, "list_due_followups", {"limit": 200, "within_days": 3650})
    return json.dumps([listed, details, due], sort_keys=True, default=str)


def _types(schema: dict[str, Any]) -> tuple[set[str], list[Any], dict[str, Any]]:
    """The JSON types a property accepts, its enum values, and its array item schema."""
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    types: set[str] = set()
    enum: list[Any] = []
    items: dict[str, Any] = {}
    for option in options:
        kind = option.get("type")
        if isinstance(kind, list):
            types.update(kind)
        elif kind:
            types.add(kind)
        if "enum" in option:
            enum.extend(option["enum"])
            types.add("string")
        if "$ref" in option:
            types.add("string")  # enums are referenced definitions
        if kind == "array":
            items = option.get("items", {})
    return types, enum, items


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        options = schema.get("anyOf") or []
        for option in options:
            if "$ref" in option:
                return _resolve(option, root)
        return schema
    target: Any = root
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return dict(target)


def _id_like(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids", "ids")) or name in {"referred_by", "owner"}


def _neutral(name: str, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """A valid value that carries nothing of B's."""
    resolved = _resolve(schema, root)
    types, enum, items = _types(resolved)
    if enum:
        return enum[0]
    if "integer" in types or "number" in types:
        return resolved.get("minimum", resolved.get("default", 1))
    if "boolean" in types:
        return True
    if "array" in types:
        return [_neutral(name, items, root)] if items else []
    if any(hint in name for hint in DATE_HINTS):
        return "2026-12-01"
    return "isolation probe"


def _probe_values(name: str, schema: dict[str, Any], root: dict[str, Any], b: Secrets) -> list[Any]:
    """B's values to try in one argument."""
    types, _, _ = _types(_resolve(schema, root))
    if name == "cursor":
        return list(b.cursors)
    if name in QUERY_WORDS:
        return list(b.words)
    if _id_like(name):
        values: list[Any] = list(b.ids)
        if "array" in types:
            return [list(b.contact_ids), list(b.followup_ids), list(b.ids)]
        return values
    return []


def _calls(tool: Any, b: Secrets) -> list[dict[str, Any]]:
    """Argument sets for a tool: required arguments filled neutrally, then each probe argument set to B's."""
    schema = tool.input_schema or {}
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    base = {name: _neutral(name, properties[name], schema) for name in required}
    calls = []
    for name, prop in properties.items():
        for value in _probe_values(name, prop, schema, b):
            calls.append({**base, name: value})
    if not calls:
        calls.append(base)
    return calls


def _sent(arguments: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(arguments)
    return found


def _leaks(text: str, b: Secrets, sent: set[str]) -> list[str]:
    """B's secrets in an answer, apart from what the caller sent itself (error messages may echo it)."""
    lowered = text.lower()
    return [secret for secret in b.everything - sent if secret.lower() in lowered]


def _text_of(result: Any) -> str:
    parts = [getattr(block, "text", "") or "" for block in getattr(result, "content", []) or []]
    parts += [json.dumps(getattr(result, "structured_content", None), default=str)]
    for item in getattr(result, "contents", []) or []:
        parts.append(getattr(item, "text", "") or "")
    for message in getattr(result, "messages", []) or []:
        parts.append(json.dumps(message.model_dump(mode="json"), default=str))
    return "\n".join(parts)


async def test_no_tool_resource_or_prompt_of_workspace_a_reaches_workspace_b(server, module_database_url):
    seat_a = await seed_seat(
        module_database_url, workspace=None, email="owner-a@example.com", scopes=ALL_SCOPES
    )
    seat_b = await seed_seat(
        module_database_url, workspace=None, email="owner-b@example.com", scopes=ALL_SCOPES
    )
    assert seat_a.workspace_id != seat_b.workspace_id

    async with bearer_client(server.mcp_url, seat_b.token) as b_client:
        b = await _seed_b(b_client, seat_b)
        before = await _snapshot(b_client, b)

    tried = 0
    async with bearer_client(server.mcp_url, seat_a.token) as a:
        mine = await _ok(a, "add_contact", {"full_name": "Alma Own", "email": "alma@a-side.example.com"})
        # A's own records work, so refusals below are about B, not a broken connection.
        assert (await _ok(a, "get_contact", {"contact_id": mine["contact"]["id"]}))["contact"][
            "full_name"
        ] == "Alma Own"

        tools = (await a.list_tools()).tools
        assert {"get_contact", "search_contacts", "update_contact", "delete_contact", "whoami"} <= {
            t.name for t in tools
        }
        for tool in tools:
            for arguments in _calls(tool, b):
                result = await a.call_tool(tool.name, arguments)
                tried += 1
                leaks = _leaks(_text_of(result), b, _sent(arguments))
                assert not leaks, (tool.name, arguments, leaks)

        templates = (await a.list_resource_templates()).resource_templates
        for template in templates:
            names = re.findall(r"{([^}]+)}", template.uri_template)
            for value in b.ids:
                uri = template.uri_template
                for name in names:
                    uri = uri.replace("{" + name + "}", value)
                try:
                    text = _text_of(await a.read_resource(uri))
                except MCPError as exc:
                    text = str(exc)
                tried += 1
                assert not _leaks(text, b, {value, uri}), (uri, text[:300])
        for resource in (await a.list_resources()).resources:
            try:
                text = _text_of(await a.read_resource(str(resource.uri)))
            except MCPError as exc:
                text = str(exc)
            tried += 1
            assert not _leaks(text, b, set()), (resource.uri, text[:300])

        for prompt in (await a.list_prompts()).prompts:
            for value in b.ids:
                arguments = {arg.name: value for arg in prompt.arguments or []}
                try:
                    text = _text_of(await a.get_prompt(prompt.name, arguments))
                except MCPError as exc:
                    text = str(exc)
                tried += 1
                assert not _leaks(text, b, set(arguments.values())), (prompt.name, text[:300])

        # Searching A for B's words finds nothing; A's own contact is still there.
        for word in b.words:
            assert (await _ok(a, "search_contacts", {"query": word}))["items"] == []

    assert tried > 50
    async with bearer_client(server.mcp_url, seat_b.token) as b_client:
        assert await _snapshot(b_client, b) == before


async def test_two_seats_of_one_workspace_share_leads_and_filter_their_own(server, module_database_url):
    owner = await seed_seat(module_database_url, workspace=None, email="lead-owner@example.com")
    member = await seed_seat(
        module_database_url, workspace=owner.workspace_id, email="lead-member@example.com", role=Role.MEMBER
    )
    async with bearer_client(server.mcp_url, owner.token) as first:
        added = await _ok(
            first, "add_contact", {"full_name": "Shared Lead", "email": "shared@lead.example.com"}
        )
    contact_id = added["contact"]["id"]
    assert added["contact"]["owner_id"] == owner.user_id
    async with bearer_client(server.mcp_url, member.token) as second:
        who = await _ok(second, "whoami", {})
        assert who["role"] == "member" and who["workspace"]["id"] == owner.workspace_id
        everyone = await _ok(second, "search_contacts", {"query": "Shared Lead"})
        assert [c["id"] for c in everyone["items"]] == [contact_id]
        assert (await _ok(second, "search_contacts", {"owner": "me"}))["items"] == []
        mine_by_mail = await _ok(second, "search_contacts", {"owner": "lead-owner@example.com"})
        assert [c["id"] for c in mine_by_mail["items"]] == [contact_id]
        moved = await _ok(second, "update_contact", {"contact_id": contact_id, "owner": "me"})
        assert moved["contact"]["owner_id"] == member.user_id
        assert [c["id"] for c in (await _ok(second, "search_contacts", {"owner": "me"}))["items"]] == [
            contact_id
        ]
        unowned = await _ok(second, "update_contact", {"contact_id": contact_id, "owner": ""})
        assert unowned["contact"]["owner_id"] is None
        refused = await second.call_tool("search_contacts", {"owner": "owner-b@example.com"})
        assert refused.is_error
        assert "owner" in refused.content[0].text
