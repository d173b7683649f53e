"""`lead-mcp serve` as a real process: /mcp for every supported protocol revision, /healthz."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from mcp import Client
from tests.e2e.servers import serve
from tests.helpers import call, call_error


def _rpc(base: str, body: dict, version: str | None = None) -> dict:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if version:
        headers["MCP-Protocol-Version"] = version
    response = httpx.post(f"{base}/mcp", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1])
    return response.json()


async def test_http_server_speaks_every_supported_protocol_revision(tmp_path: Path) -> None:
    with serve(f"sqlite+aiosqlite:///{tmp_path / 'http.db'}") as server:
        base = server.url
        health = httpx.get(f"{base}/healthz").json()
        assert health["status"] == "ok" and health["database"] == "ok"

        async with Client(f"{base}/mcp") as modern:  # discover -> 2026-07-28
            assert modern.protocol_version == "2026-07-28"
            added = await call(modern, "add_contact", {"full_name": "Ana", "email": "ana@fintech.io"})
            assert "email" in await call_error(modern, "add_contact", {"email": 7})

        async with Client(f"{base}/mcp", mode="legacy") as legacy:  # initialize handshake -> 2025-11-25
            assert legacy.protocol_version == "2025-11-25"
            page = await call(legacy, "search_contacts", {"query": "fintech.io"})
            assert [c["id"] for c in page["items"]] == [added["contact"]["id"]]

        # A 2025-06-18 client (today's deployed Claude and ChatGPT connectors), spoken raw.
        init = _rpc(
            base,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "old", "version": "1"},
                },
            },
        )
        assert init["result"]["protocolVersion"] == "2025-06-18"
        assert init["result"]["capabilities"]["tools"] is not None
        listed = _rpc(base, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, version="2025-06-18")
        assert "list_due_followups" in {t["name"] for t in listed["result"]["tools"]}
        called = _rpc(
            base,
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "search_contacts", "arguments": {"query": "ana"}},
            },
            version="2025-06-18",
        )
        assert called["result"]["structuredContent"]["items"][0]["id"] == added["contact"]["id"]


def test_http_server_refuses_foreign_hosts_and_oversized_bodies(tmp_path: Path) -> None:
    with serve(f"sqlite+aiosqlite:///{tmp_path / 'http.db'}") as server:
        base = server.url
        rebinding = httpx.post(
            f"{base}/mcp",
            json={},
            headers={"Host": "evil.example", "Accept": "application/json, text/event-stream"},
        )
        assert rebinding.status_code in (400, 403, 421)
        huge = httpx.post(
            f"{base}/mcp",
            content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
            timeout=30,
        )
        assert huge.status_code == 413
        assert httpx.get(f"{base}/healthz").status_code == 200  # still up


def test_serve_without_auth_refuses_a_public_address(tmp_path: Path) -> None:
    import subprocess

    from tests.e2e.servers import LEAD_MCP, lead_env

    done = subprocess.run(
        [LEAD_MCP, "serve", "--host", "0.0.0.0", "--port", "1"],
        env=lead_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "LEAD_MCP_AUTH" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def _post(base: str, body: dict) -> httpx.Response:
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-11-25",
    }
    return httpx.post(f"{base}/mcp", json=body, headers=headers, timeout=30)


def _search(progress: bool) -> dict:
    params: dict = {"name": "search_contacts", "arguments": {"query": "ana"}}
    if progress:
        params["_meta"] = {"progressToken": "p-1"}
    return {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": params}


def test_calls_are_streamed_only_when_they_ask_for_progress(tmp_path: Path) -> None:
    with serve(f"sqlite+aiosqlite:///{tmp_path / 'http.db'}") as server:
        plain = _post(server.url, _search(progress=False))
        assert plain.status_code == 200
        assert plain.headers["content-type"].startswith("application/json")
        assert plain.json()["result"]["structuredContent"]["items"] == []
        streamed = _post(server.url, _search(progress=True))
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("text/event-stream")
        data = [line[5:].strip() for line in streamed.text.splitlines() if line.startswith("data:")]
        assert json.loads(data[-1])["result"]["structuredContent"]["items"] == []

        def chunks():  # no Content-Length: the limit is counted as the body arrives
            yield b"{"
            for _ in range(5):
                yield b" " * (1024 * 1024)
            yield b"}"

        huge = httpx.post(
            f"{server.url}/mcp",
            content=chunks(),
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
            timeout=30,
        )
        assert huge.status_code == 413

    with serve(f"sqlite+aiosqlite:///{tmp_path / 'sse.db'}", http_responses="sse") as server:
        always = _post(server.url, _search(progress=False))
        assert always.headers["content-type"].startswith("text/event-stream")


async def test_progress_of_a_long_call_reaches_an_http_client(tmp_path: Path) -> None:
    reports: list[float] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        reports.append(done)

    csv = "Full Name,Email\nAna Lima,ana@fintech.io\nBo Chen,bo@fintech.io\n"
    with serve(f"sqlite+aiosqlite:///{tmp_path / 'http.db'}") as server:
        async with Client(f"{server.url}/mcp", mode="legacy") as client:
            result = await client.call_tool("import_contacts", {"content": csv}, progress_callback=progress)
            assert not result.is_error and result.structured_content["created"] == 2
    assert reports, "no progress notification arrived"
