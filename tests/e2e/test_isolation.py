"""Workspace isolation, generated over the tool list: no call of workspace A ever shows or touches B's data.

B is seeded through its own connection with a bit of everything a workspace holds:
contacts (one merged, so it has a change history), a touch, follow-ups, a card,
a scan, custom fields and values, a cadence, a stored export, a calendar feed and a
phone scan link. Every id, token, slug and name that seeding produced is a secret.

Every tool A's connection lists is then called with B's secrets in *every* string
argument (an id may hide behind any name), B's cursors and search words where a
tool takes them, and lists of B's ids in array arguments; every resource template
is read with B's ids; every prompt is rendered and every completable argument
completed with them and with prefixes of B's names; and the web routes that take
a slug or a token (card page, phone scan page, calendar feed) are requested with
them. A new tool, resource, prompt or argument is covered without touching this
file. Nothing of B's that A did not itself send may appear in any answer, and B's
records must be exactly as before.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from lead_mcp.domain import Role
from mcp import Client
from tests.e2e.harness import SeatFixture, Served, bearer_client, seed_seat, serve

QUERY_WORDS = ("query", "q", "search", "term", "text")
DATE_HINTS = ("due", "date", "since", "until", "_at", "when")
CARD_IMAGE = Path(__file__).resolve().parents[1] / "data" / "cards" / "card_001.png"
IMPORTED = 1001  # one more than an inline export: the export is stored behind a resource


@pytest.fixture(scope="module")
def scan_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder scan_card may read, holding one card photo."""
    root = tmp_path_factory.mktemp("scans")
    shutil.copyfile(CARD_IMAGE, root / "card_b.png")
    return root


@pytest.fixture(scope="module")
def server(module_database_url: str, scan_root: Path) -> Iterator[Served]:
    """One server for the module (auth=builtin; the seats use personal tokens)."""
    with serve(module_database_url, scan_roots=str(scan_root)) as served:
        yield served


@dataclass
class Secrets:
    """What A must never see of B: ids, tokens, names, addresses, cursors."""

    contact_ids: list[str] = field(default_factory=list)
    followup_ids: list[str] = field(default_factory=list)
    interaction_ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # every other id, token, slug and key of B's
    public: list[str] = field(default_factory=list)  # what B's public card page shows anyone
    # What opens a page of B's to whoever holds it (its card's slug, its feed and scan-link tokens).
    capabilities: set[str] = field(default_factory=set)

    @property
    def ids(self) -> list[str]:
        return list(
            dict.fromkeys([*self.contact_ids, *self.followup_ids, *self.interaction_ids, *self.other])
        )

    @property
    def everything(self) -> set[str]:
        return {*self.ids, *self.cursors, *self.words}

    def private(self) -> set[str]:
        """Everything but the card's public face (its page, by design, shows its own name and slug)."""
        return self.everything - set(self.public)


async def _ok(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    assert result.structured_content is not None
    return result.structured_content


ID_KEY = re.compile(r"(^|_)(id|ids)$")
LONG_VALUE = re.compile(r"^[A-Za-z0-9_-]{16,}$")


def _harvest(value: Any, into: set[str], key: str = "") -> None:
    """Every id-looking value under an id-ish key (``id``, ``*_id``) in a result, however deep."""
    if isinstance(value, dict):
        for k, v in value.items():
            _harvest(v, into, str(k))
    elif isinstance(value, list):
        for item in value:
            _harvest(item, into, key)
    elif isinstance(value, str) and ID_KEY.search(key) and LONG_VALUE.match(value):
        into.add(value)


async def _seed_b(client: Client, seat: SeatFixture, base_url: str, scan_root: Path) -> Secrets:
    secrets = Secrets(other=[seat.user_id, seat.email, seat.workspace_id])
    results: list[dict[str, Any]] = []

    async def ok(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await _ok(client, tool, arguments)
        results.append(result)
        return result

    await ok("define_custom_field", {"label": "Quartz Tier", "type": "text"})
    await ok("create_cadence", {"name": "quartz-cadence", "steps_days": [0, 3, 9]})
    zeb = await ok(
        "add_contact",
        {
            "full_name": "Zebulon Quartzfield",
            "email": "zebulon@quartz-b.example.com",
            "phone": "+1 415 555 0199",
            "company": "Quartzfield Holdings",
            "tags": ["secretb"],
            "notes": "Wants the platinum plan",
            "met_at": "Bering Summit",
            "custom": {"quartz_tier": "Obsidian Level"},
            "cadence": "quartz-cadence",
        },
    )
    # The same person again: a merge, which leaves a change id in the history (undo_merge).
    await ok("add_contact", {"email": "zebulon@quartz-b.example.com", "title": "Chief Quartz Officer"})
    yara = await ok(
        "add_contact",
        {
            "full_name": "Yara Obsidianova",
            "email": "yara@obsidian-b.example.com",
            "referred_by": zeb["contact"]["id"],
            "tags": ["secretb"],
        },
    )
    xeno = await ok("add_contact", {"full_name": "Xenia Basaltine", "phone": "+44 20 7946 0999"})
    for added in (zeb, yara, xeno):
        secrets.contact_ids.append(added["contact"]["id"])
        secrets.followup_ids.append(added["followup"]["id"])
    touch = await ok(
        "log_interaction",
        {"contact_id": zeb["contact"]["id"], "kind": "call", "summary": "Discussed platinum"},
    )
    secrets.interaction_ids.append(touch["interaction"]["id"])
    card = await ok("publish_card", {"full_name": "Ondine Cardholder", "slug": "zebcard-b"})
    secrets.public += ["Ondine Cardholder", "zebcard-b"]
    scan = await ok("scan_card", {"image_path": str(scan_root / "card_b.png"), "tags": ["secretb"]})
    rows = ["Name,E-mail Address"] + [
        f"Importee{n:04d} Basaltfold,importee{n:04d}@basalt-b.example.com" for n in range(IMPORTED)
    ]
    await ok("import_contacts", {"content": "\n".join(rows) + "\n", "format": "csv", "follow_up": False})
    export = await ok("export_csv", {"query": "Basaltfold"})
    assert export.get("resource_uri"), export
    feed = await ok("calendar_feed_url", {})
    link = await ok("get_scan_link", {"tags": ["secretb"]})
    for contact_id in secrets.contact_ids:
        await ok("get_contact", {"contact_id": contact_id})  # the history entries' ids

    harvested: set[str] = set()
    for result in results:
        _harvest(result, harvested)
    export_id = export["resource_uri"].rsplit("/", 1)[1].split(".", 1)[0]
    feed_token = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
    link_token = link["url"].rsplit("/", 1)[1]
    secrets.other += [*sorted(harvested - set(secrets.ids)), export_id, feed_token, link_token, "zebcard-b"]
    secrets.other += ["quartz_tier", "quartz-cadence"]
    secrets.capabilities = {"zebcard-b", feed_token, link_token}
    if scan.get("scan_id"):
        secrets.other.append(scan["scan_id"])

    page = await ok("search_contacts", {"limit": 1})
    secrets.cursors.append(page["next_cursor"])
    due = await ok("list_due_followups", {"limit": 1, "within_days": 30})
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
        "Quartz Tier",
        "Obsidian Level",
        "Chief Quartz Officer",
        "Importee0007",
        "Basaltfold",
        "basalt-b.example.com",
    ]
    assert card["card"]["slug"] == "zebcard-b"
    return secrets


async def _snapshot(client: Client, secrets: Secrets) -> str:
    listed = await _ok(client, "search_contacts", {"limit": 200})
    details = [await _ok(client, "get_contact", {"contact_id": cid}) for cid in secrets.contact_ids]
    due = await _ok(client, "list_due_followups", {"limit": 200, "within_days": 3650})
    fields = await _ok(client, "list_custom_fields", {})
    cadences = await _ok(client, "list_cadences", {})
    card = (await client.read_resource("lead://card")).contents
    return json.dumps(
        [listed, details, due, fields, cadences, [getattr(c, "text", "") for c in card]],
        sort_keys=True,
        default=str,
    )


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
    """B's values to try in one argument: every id in every string argument, whatever its name."""
    resolved = _resolve(schema, root)
    types, enum, items = _types(resolved)
    if enum:
        return []  # a closed set of values carries no id
    values: list[Any] = []
    if "string" in types:
        values += b.ids
        if name == "cursor":
            values += b.cursors
        if name in QUERY_WORDS:
            values += b.words
    if "array" in types and "string" in _types(_resolve(items, root))[0]:
        values += [list(b.contact_ids), list(b.followup_ids), list(b.ids)]
    if "object" in types:
        values += [{key: value for key, value in zip(("quartz_tier", *b.ids[:3]), b.ids, strict=False)}]
    return values


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
            for key, item in value.items():
                walk(key)
                walk(item)

    walk(arguments)
    return found


def _leaks(text: str, b: Secrets, sent: set[str], *, public_ok: bool = False) -> list[str]:
    """B's secrets in an answer, apart from what the caller sent itself (error messages may echo it)."""
    lowered = text.lower()
    secrets = b.private() if public_ok else b.everything
    # A value the caller sent may come back inside a longer one it made (e.g. a suggested slug).
    echoed = {secret for secret in secrets if any(secret.lower() in s.lower() for s in sent)}
    return [secret for secret in secrets - echoed if secret.lower() in lowered]


def _text_of(result: Any) -> str:
    parts = [getattr(block, "text", "") or "" for block in getattr(result, "content", []) or []]
    parts += [json.dumps(getattr(result, "structured_content", None), default=str)]
    for item in getattr(result, "contents", []) or []:
        parts.append(getattr(item, "text", "") or "")
    for message in getattr(result, "messages", []) or []:
        parts.append(json.dumps(message.model_dump(mode="json"), default=str))
    return "\n".join(parts)


async def _probe_completions(a: Client, b: Secrets, sent: set[str]) -> int:
    """Every completable argument of every prompt and template, completed with B's prefixes."""
    prefixes = sorted({w[:3] for w in b.words} | {i[:6] for i in b.ids} | {""})
    refs: list[tuple[Any, list[str]]] = []
    for prompt in (await a.list_prompts()).prompts:
        refs.append(
            (PromptReference(type="ref/prompt", name=prompt.name), [x.name for x in prompt.arguments or []])
        )
    for template in (await a.list_resource_templates()).resource_templates:
        names = re.findall(r"{([^}]+)}", template.uri_template)
        refs.append((ResourceTemplateReference(type="ref/resource", uri=template.uri_template), names))
    tried = 0
    for ref, names in refs:
        for name in names:
            for prefix in prefixes:
                try:
                    values = (await a.complete(ref, {"name": name, "value": prefix})).completion.values
                except MCPError as exc:
                    values = [str(exc)]
                tried += 1
                assert not _leaks(" ".join(values), b, sent | {prefix}), (ref, name, prefix, values)
    return tried


async def _probe_web(server: Served, a_client: Client, b: Secrets, sent: set[str]) -> int:
    """The routes that take a slug or a token, requested with B's ids and tokens."""
    tried = 0
    own_feed = await _ok(a_client, "calendar_feed_url", {"rotate": True})
    own_link = await _ok(a_client, "get_scan_link", {})
    own_link_url = own_link["url"]
    async with httpx.AsyncClient(timeout=30) as http:
        for url in (own_feed["url"], own_link_url):  # A's own pages: nothing of B's on them
            response = await http.get(url.replace(server.public_base_url, server.url))
            assert response.status_code == 200, (url, response.text[:200])
            assert not _leaks(response.text, b, sent), url
            tried += 1
        for value in b.ids:
            for path in (f"/c/{value}", f"/c/{value}.vcf", f"/scan/{value}", f"/calendar/{value}.ics"):
                response = await http.get(f"{server.url}{path}")
                tried += 1
                if response.status_code == 200:
                    # Only B's own capabilities open anything: its public card and its secret links,
                    # which no answer to A ever contained (checked above).
                    assert value in b.capabilities, (path, response.status_code)
                    if path.startswith("/c/"):
                        assert not _leaks(response.text, b, {value}, public_ok=True), path
                else:
                    assert response.status_code in {404, 410}, (path, response.status_code)
                    assert not _leaks(response.text, b, {value}), path
    return tried


async def test_no_tool_resource_prompt_completion_or_page_of_workspace_a_reaches_workspace_b(
    server, module_database_url, scan_root
):
    seat_a = await seed_seat(module_database_url, workspace=None, email="owner-a@example.com")
    seat_b = await seed_seat(module_database_url, workspace=None, email="owner-b@example.com")
    assert seat_a.workspace_id != seat_b.workspace_id

    async with bearer_client(server.mcp_url, seat_b.token) as b_client:
        b = await _seed_b(b_client, seat_b, server.url, scan_root)
        before = await _snapshot(b_client, b)
    assert len(b.ids) > 20 and b.capabilities <= set(b.ids)

    tried = 0
    async with bearer_client(server.mcp_url, seat_a.token) as a:
        mine = await _ok(a, "add_contact", {"full_name": "Alma Own", "email": "alma@a-side.example.com"})
        # A's own records work, so refusals below are about B, not a broken connection.
        assert (await _ok(a, "get_contact", {"contact_id": mine["contact"]["id"]}))["contact"][
            "full_name"
        ] == "Alma Own"

        tools = (await a.list_tools()).tools
        assert {"get_contact", "search_contacts", "update_contact", "delete_contact", "whoami", "fetch"} <= {
            t.name for t in tools
        }
        # What A sent may be stored in A's own workspace (a note holding B's id, a field named like
        # B's) and come back later; search words and cursors are not stored, so B's names only
        # count as echoed within the call that sent them.
        sent: set[str] = set()
        for tool in tools:
            for arguments in _calls(tool, b):
                stored = {k: v for k, v in arguments.items() if k not in QUERY_WORDS and k != "cursor"}
                sent |= _sent(stored)
                result = await a.call_tool(tool.name, arguments)
                tried += 1
                leaks = _leaks(_text_of(result), b, sent | _sent(arguments))
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
                assert not _leaks(text, b, sent | {value, uri}), (uri, text[:300])
        for resource in (await a.list_resources()).resources:
            try:
                text = _text_of(await a.read_resource(str(resource.uri)))
            except MCPError as exc:
                text = str(exc)
            tried += 1
            assert not _leaks(text, b, sent), (resource.uri, text[:300])

        for prompt in (await a.list_prompts()).prompts:
            for value in [*b.ids, *b.words]:
                arguments = {arg.name: value for arg in prompt.arguments or []}
                try:
                    text = _text_of(await a.get_prompt(prompt.name, arguments))
                except MCPError as exc:
                    text = str(exc)
                tried += 1
                assert not _leaks(text, b, sent | set(arguments.values())), (prompt.name, text[:300])

        tried += await _probe_completions(a, b, sent)
        tried += await _probe_web(server, a, b, sent)

        # Searching A for B's words finds none of B's contacts (at most A's own, made of what it sent).
        for word in b.words:
            found = (await _ok(a, "search_contacts", {"query": word}))["items"]
            assert not {c["id"] for c in found} & set(b.contact_ids), (word, found)
            assert not _leaks(json.dumps(found), b, sent), (word, found)

    assert tried > 500
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
