"""whoami, read-only mode, contact owners and the scope rule, in memory (the local workspace)."""

from __future__ import annotations

from pathlib import Path

from lead_mcp.config import Settings
from lead_mcp.domain import SCOPE_READ, SCOPE_WRITE
from lead_mcp.mcp.access import required_scope
from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.helpers import call, call_error


async def test_whoami_over_stdio_is_the_local_workspace_owner_with_every_scope(client: Client) -> None:
    who = await call(client, "whoami")
    assert who["user"] is None
    assert who["workspace"]["name"] == "Local"
    assert who["role"] == "owner"
    assert who["scopes"] == ["leads:read", "leads:write"]
    assert who["auth"] == "local"
    assert who["read_only_mode"] is False


async def test_every_tool_needs_read_or_write_by_its_read_only_hint(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        expected = SCOPE_READ if tool.annotations.read_only_hint else SCOPE_WRITE
        assert required_scope(tool.annotations) == expected, tool.name
    assert required_scope(None) == SCOPE_WRITE


async def test_read_only_mode_lists_only_read_tools_and_refuses_the_others(settings: Settings) -> None:
    server = build_server(settings.model_copy(update={"read_only": True}))
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        assert tools and all(t.annotations.read_only_hint for t in tools)
        assert {"whoami", "search_contacts", "get_contact"} <= {t.name for t in tools}
        message = await call_error(client, "add_contact", {"full_name": "Never Stored"})
        assert "read-only mode" in message
        assert (await call(client, "search_contacts", {"query": "Never"}))["items"] == []
        assert (await call(client, "whoami"))["read_only_mode"] is True


async def test_local_contacts_have_no_owner_and_owner_me_lists_them(client: Client) -> None:
    added = await call(client, "add_contact", {"full_name": "Lena Local", "email": "lena@local.example.com"})
    assert added["contact"]["owner_id"] is None
    mine = await call(client, "search_contacts", {"owner": "me"})
    assert [c["id"] for c in mine["items"]] == [added["contact"]["id"]]


async def test_an_unknown_owner_is_refused_naming_the_field(client: Client) -> None:
    added = await call(client, "add_contact", {"full_name": "Oscar Owner"})
    for arguments, tool in (
        ({"owner": "nobody@example.com"}, "search_contacts"),
        (
            {"contact_id": added["contact"]["id"], "owner": "9b2f0a59-0000-4000-8000-000000000000"},
            "update_contact",
        ),
    ):
        message = await call_error(client, tool, arguments)
        assert "owner: no user" in message, message
    assert (await call(client, "get_contact", {"contact_id": added["contact"]["id"]}))["contact"][
        "owner_id"
    ] is None


async def test_the_request_state_key_is_shared_by_servers_on_one_store(
    settings: Settings, tmp_path: Path
) -> None:
    from lead_mcp.mcp.sealing import SharedKeyCodec
    from lead_mcp.mcp.state import AppState

    first = await AppState.open(settings)
    second = await AppState.open(settings)
    try:
        assert first.request_state_key and first.request_state_key == second.request_state_key
        sealer, opener, stranger = SharedKeyCodec(), SharedKeyCodec(), SharedKeyCodec()
        sealer.load(first.request_state_key)
        opener.load(second.request_state_key)
        stranger.load("another key of at least thirty-two bytes!!")
        token = sealer.seal(b"confirm delete 42")
        assert opener.unseal(token) == b"confirm delete 42"
        try:
            stranger.unseal(token)
        except Exception as exc:
            assert type(exc).__name__ == "InvalidRequestState"
        else:
            raise AssertionError("a key from another store opened the state")
    finally:
        await first.close()
        await second.close()
