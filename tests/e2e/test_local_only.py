"""Without auth, a tunnel or proxy that publishes the card pages never publishes /mcp with them.

A real `lead-mcp serve` with LEAD_MCP_AUTH=none and a public base URL, bound to
loopback as behind a same-host tunnel (Cloudflare Tunnel, Tailscale Funnel, ngrok,
Caddy): requests that name the public host, or carry a proxy's forwarding headers,
reach the card but not the MCP endpoint; requests made on this machine reach both.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from mcp import Client
from tests.e2e.servers import serve
from tests.helpers import call

PUBLIC = "https://crm.example.com"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "x", "version": "1"},
    },
}
SEARCH = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "search_contacts", "arguments": {}},
}


async def test_without_auth_mcp_answers_only_on_this_machine_while_the_card_stays_public(
    tmp_path: Path,
) -> None:
    with serve(f"sqlite+aiosqlite:///{tmp_path / 'local.db'}", auth="none", public_base_url=PUBLIC) as server:
        async with Client(f"{server.url}/mcp") as local:  # this machine: Host 127.0.0.1, no proxy headers
            await call(local, "add_contact", {"full_name": "Secret Lead", "email": "secret@lead.example"})
            card = await call(local, "publish_card", {"full_name": "Ana Public", "slug": "ana"})
        assert card["card"]["slug"] == "ana"
        mcp = f"{server.url}/mcp"
        async with httpx.AsyncClient(timeout=30) as http:
            through_tunnel = [
                {"host": "crm.example.com"},  # the tunnel forwards the public Host
                {"host": "127.0.0.1", "x-forwarded-for": "203.0.113.9"},  # one that rewrites Host
                {"host": "127.0.0.1", "forwarded": "for=203.0.113.9;proto=https"},
                {"host": "127.0.0.1", "cf-connecting-ip": "203.0.113.9"},
                {"host": "crm.example.com:443", "mcp-protocol-version": "2025-06-18"},
            ]
            for extra in through_tunnel:
                for body in (INIT, SEARCH):
                    response = await http.post(mcp, json=body, headers={**HEADERS, **extra})
                    assert response.status_code == 403, (extra, response.text)
                    assert response.json()["error"] == "local_only"
                    assert "LEAD_MCP_AUTH=builtin or jwt" in response.json()["error_description"]
                    assert "Secret Lead" not in response.text and "result" not in response.json()
            stream = await http.get(mcp, headers={"accept": "text/event-stream", "host": "crm.example.com"})
            assert stream.status_code == 403
            # The public card (and its form) is what the tunnel is for.
            page = await http.get(f"{server.url}/c/ana", headers={"host": "crm.example.com"})
            assert page.status_code == 200 and "Ana Public" in page.text
            assert "Secret Lead" not in page.text
            vcard = await http.get(f"{server.url}/c/ana.vcf", headers={"host": "crm.example.com"})
            assert vcard.status_code == 200 and "Ana Public" in vcard.text
            # The same request made locally still works.
            local = await http.post(mcp, json=INIT, headers=HEADERS)
            assert local.status_code == 200, local.text
        assert any("/mcp answers only on this machine" in line for line in server.log)
