"""ChatGPT connector contract: search and fetch, as structured content and as one JSON text block."""

import json

from tests.helpers import call, call_error


async def test_search_and_fetch_annotations_are_read_only(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("search", "fetch"):
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.destructive_hint is False
    assert list(tools["search"].input_schema["properties"]) == ["query"]
    assert list(tools["fetch"].input_schema["properties"]) == ["id"]


async def test_search_returns_results_with_id_title_url_in_both_forms(client):
    ana = (
        await call(client, "add_contact", {"full_name": "Ana Souza", "company": "Fintech", "title": "CFO"})
    )["contact"]
    await call(client, "add_contact", {"full_name": "Tom Weber"})
    result = await client.call_tool("search", {"query": "fintech"})
    assert not result.is_error
    expected = {
        "results": [
            {"id": ana["id"], "title": "Ana Souza — CFO at Fintech", "url": f"lead://contacts/{ana['id']}"}
        ]
    }
    assert result.structured_content == expected
    assert len(result.content) == 1 and result.content[0].type == "text"
    assert json.loads(result.content[0].text) == expected
    empty = await client.call_tool("search", {"query": "nobody"})
    assert json.loads(empty.content[0].text) == {"results": []}


async def test_fetch_returns_the_contact_as_one_document(client):
    await call(client, "define_custom_field", {"label": "Industry", "type": "text"})
    ana = (
        await call(
            client,
            "add_contact",
            {
                "full_name": "Ana Souza",
                "company": "Fintech",
                "email": "ana@fintech.io",
                "notes": "Wants a demo in April",
                "met_at": "Web Summit",
                "custom": {"industry": "payments"},
            },
        )
    )["contact"]
    await call(
        client,
        "log_interaction",
        {"contact_id": ana["id"], "kind": "call", "summary": "Intro call, friendly"},
    )
    result = await client.call_tool("fetch", {"id": ana["id"]})
    document = result.structured_content
    assert set(document) == {"id", "title", "text", "url", "metadata"}
    assert document["id"] == ana["id"] and document["url"] == f"lead://contacts/{ana['id']}"
    assert document["title"] == "Ana Souza — Fintech"
    for fact in (
        "Emails: ana@fintech.io",
        "Met at: Web Summit",
        "Industry: payments",
        "Wants a demo in April",
        "Intro call",
    ):
        assert fact in document["text"]
    assert document["metadata"]["stage"] == "lead" and document["metadata"]["emails"] == "ana@fintech.io"
    assert all(isinstance(v, str) for v in document["metadata"].values())
    assert len(result.content) == 1 and json.loads(result.content[0].text) == document


async def test_fetch_of_an_unknown_id_is_an_error_naming_the_id_and_search(client):
    error = await call_error(client, "fetch", {"id": "nope"})
    assert "fetch: id: " in error and "call search and pass" in error and "search_contacts" not in error
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    gone = await call_error(client, "fetch", {"id": ana["id"]})
    assert "fetch: id: " in gone and "was deleted" in gone and "restore_contact" in gone
