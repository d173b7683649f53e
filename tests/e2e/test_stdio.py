"""`lead-mcp stdio` as a real subprocess, driven by the SDK's stdio client."""

from __future__ import annotations

import json
import select
import subprocess
from pathlib import Path
from typing import IO

from mcp import Client
from tests.e2e.servers import LEAD_MCP, lead_env, stdio_params
from tests.helpers import call, call_error


async def test_stdio_server_serves_tools_and_keeps_data_between_runs(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'lead.db'}"
    params = stdio_params(database_url=db, timezone="Europe/Berlin")
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"add_contact", "search_contacts", "list_due_followups"} <= names
        added = await call(client, "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.io"})
        assert added["created"] is True
        # A bad call is an error result, and the server answers the next call.
        assert "email" in await call_error(client, "add_contact", {"email": "nope"})
        assert (await call(client, "list_due_followups", {}))["items"][0]["contact"][
            "full_name"
        ] == "Ana Souza"
    async with Client(params) as client:  # a new process on the same file
        page = await call(client, "search_contacts", {"query": "fintech.io"})
        assert [c["id"] for c in page["items"]] == [added["contact"]["id"]]


def test_stdio_stdout_carries_only_protocol_messages(tmp_path: Path) -> None:
    """Every line on stdout is a JSON-RPC message, even while the store is created and migrated."""
    requests = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "add_contact", "arguments": {"full_name": "Raw Client", "email": "raw@x.io"}},
        },
    ]
    env = lead_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'raw.db'}", log_level="DEBUG")
    log = (tmp_path / "stderr.log").open("w")
    process = subprocess.Popen(
        [LEAD_MCP, "stdio"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
    )
    assert process.stdin and process.stdout
    messages = []
    try:
        for request in requests:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            if "id" not in request:
                continue
            while True:  # read until this request's response; every line must be JSON-RPC
                line = _readline(process.stdout, timeout=60)
                message = json.loads(line)
                assert message.get("jsonrpc") == "2.0"
                messages.append(message)
                if message.get("id") == request["id"]:
                    break
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        log.close()
    rest = process.stdout.read()
    assert all(json.loads(line).get("jsonrpc") == "2.0" for line in rest.splitlines() if line.strip())
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert by_id[1]["result"]["protocolVersion"] == "2025-06-18"
    assert by_id[2]["result"]["isError"] is False
    assert "store ready" in (tmp_path / "stderr.log").read_text()  # logs went to stderr


def _readline(stream: IO[str], timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no answer from lead-mcp stdio"
    line = stream.readline()
    assert line, "lead-mcp stdio closed stdout"
    return line
