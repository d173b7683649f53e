"""The tool surface a model sees: descriptions, schemas, truthful hints, and the docs that list them."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import jsonschema
import pytest

from lead_mcp import __version__
from lead_mcp.config import Settings
from lead_mcp.mcp.server import build_server
from mcp import Client

ROOT = Path(__file__).resolve().parents[2]
SPEC_READ_ONLY = {
    "get_contact",
    "search_contacts",
    "list_due_followups",
    "pipeline_report",
    "export_vcard",
    "export_csv",
    "search",
    "fetch",
}
SPEC_OPEN_WORLD = {"sync_hubspot", "scan_card"}


@pytest.fixture
async def sqlite_client(sqlite_url: str) -> AsyncIterator[Client]:
    async with Client(build_server(Settings(database_url=sqlite_url))) as connected:
        yield connected


async def test_every_tool_has_description_schemas_and_all_four_hints(sqlite_client: Client) -> None:
    tools = (await sqlite_client.list_tools()).tools
    assert len(tools) >= 9
    for tool in tools:
        assert tool.description and len(tool.description) > 40, tool.name
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema is not None and tool.output_schema.get("type") == "object", tool.name
        hints = tool.annotations
        assert hints is not None, tool.name
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(hints, hint) is not None, f"{tool.name}.{hint}"
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description") or "$ref" in prop or "anyOf" in prop, f"{tool.name}.{name}"


async def test_hints_are_truthful_as_the_spec_lists_them(sqlite_client: Client) -> None:
    tools = {t.name: t for t in (await sqlite_client.list_tools()).tools}
    for name in SPEC_READ_ONLY & tools.keys():
        assert tools[name].annotations.read_only_hint is True, name
    for name in _spec_tools() & tools.keys() - SPEC_READ_ONLY:
        assert tools[name].annotations.read_only_hint is False, name
    destructive = {n for n, t in tools.items() if t.annotations.destructive_hint}
    assert destructive & _spec_tools() == {"delete_contact"}
    open_world = {n for n, t in tools.items() if t.annotations.open_world_hint}
    assert open_world & _spec_tools() == SPEC_OPEN_WORLD & tools.keys()


def _spec_tools() -> set[str]:
    """Tool names the SPEC fixes (section 3 of shared/SPEC.md)."""
    return {
        "add_contact",
        "scan_card",
        "import_contacts",
        "get_contact",
        "update_contact",
        "delete_contact",
        "search_contacts",
        "log_interaction",
        "qualify_lead",
        "list_due_followups",
        "schedule_followup",
        "complete_followup",
        "draft_followup",
        "publish_card",
        "unpublish_card",
        "export_vcard",
        "export_csv",
        "sync_hubspot",
        "pipeline_report",
        "search",
        "fetch",
    }


async def test_readme_tools_table_lists_every_tool(sqlite_client: Client) -> None:
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([a-z_]+)` \|", readme, re.MULTILINE))
    tools = {t.name for t in (await sqlite_client.list_tools()).tools}
    assert tools - table == set(), "tools missing from the README's table"


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`LEAD_MCP_{name.upper()}`" in readme, name


def test_server_json_is_valid_and_matches_the_package() -> None:
    server = json.loads((ROOT / "server.json").read_text())
    schema = json.loads((ROOT / "tests" / "data" / "schemas" / "server.schema.2025-12-11.json").read_text())
    jsonschema.validate(server, schema)
    assert server["version"] == __version__
    package = server["packages"][0]
    assert package["version"] == __version__
    assert (package["registryType"], package["runtimeHint"], package["transport"]["type"]) == (
        "pypi",
        "uvx",
        "stdio",
    )
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text()
    for variable in package["environmentVariables"]:
        field = variable["name"].removeprefix("LEAD_MCP_").lower()
        assert field in Settings.model_fields, variable["name"]


def test_package_version_matches_pyproject() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{__version__}"' in pyproject
