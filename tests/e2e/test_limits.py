"""Over-limit input on the real transports: refused with a clear answer, and the server keeps serving.

The in-process fuzzing (tests/mcp/test_fuzz.py) cannot send what the SDK client
itself refuses to serialize (nesting deeper than a few hundred levels), so the
rawest inputs go here, as bytes, over HTTP and stdio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx

from mcp import Client
from tests.e2e.servers import LEAD_MCP, lead_env, serve, stdio_params
from tests.helpers import call, call_error

HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}


def _tool_call(arguments_json: str, request_id: int = 1) -> bytes:
    head = f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call","params":{{"name":"add_contact",'
    return (head + f'"arguments":{arguments_json}}}}}').encode()


def _message(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a /mcp answer, whether sent as JSON or as an event stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())


def test_http_answers_absurdly_deep_json_and_keeps_serving(tmp_path: Path) -> None:
    with serve(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}") as server:
        base = server.url
        deep = '{"full_name":' + "[" * 100_000 + "]" * 100_000 + "}"  # ~200 KB, under the body limit
        answer = httpx.post(f"{base}/mcp", content=_tool_call(deep), headers=HEADERS, timeout=30)
        assert answer.status_code in (200, 400)
        body = _message(answer)
        assert "error" in body or body["result"]["isError"]
        nested = '{"full_name":' + '{"a":' * 40 + "1" + "}" * 40 + "}"  # parses, then refused by name
        refused = _message(httpx.post(f"{base}/mcp", content=_tool_call(nested), headers=HEADERS, timeout=30))
        assert refused["result"]["isError"]
        assert "full_name" in refused["result"]["content"][0]["text"]
        fine = _message(
            httpx.post(
                f"{base}/mcp",
                content=_tool_call('{"full_name":"Ana","email":"ana@x.io"}'),
                headers=HEADERS,
                timeout=30,
            )
        )
        assert fine["result"]["structuredContent"]["created"] is True
        assert httpx.get(f"{base}/healthz").status_code == 200


async def test_stdio_refuses_an_argument_over_the_call_budget_naming_it_and_keeps_serving(
    tmp_path: Path,
) -> None:
    params = stdio_params(database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}", log_level="WARNING")
    async with Client(params) as client:
        text = await call_error(client, "add_contact", {"full_name": "Ana", "notes": "n" * 5_000_000})
        assert "notes" in text and "4,194,304" in text
        assert (await call(client, "add_contact", {"full_name": "Ana", "email": "ana@x.io"}))["created"]


async def test_stdio_survives_a_line_of_absurdly_deep_json(tmp_path: Path) -> None:
    env = lead_env(database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}", log_level="WARNING")
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    async with await anyio.open_process([LEAD_MCP, "stdio"], env=env) as process:
        assert process.stdin is not None and process.stdout is not None
        lines: list[dict[str, Any]] = []
        buffer = b""

        async def next_message() -> dict[str, Any]:
            nonlocal buffer
            while b"\n" not in buffer:
                buffer += await process.stdout.receive()  # type: ignore[union-attr]
            line, buffer = buffer.split(b"\n", 1)
            lines.append(json.loads(line))
            return lines[-1]

        with anyio.fail_after(60):
            await process.stdin.send((json.dumps(init) + "\n").encode())
            assert (await next_message())["id"] == 0
            await process.stdin.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            deep = '{"full_name":' + "[" * 100_000 + "]" * 100_000 + "}"
            await process.stdin.send(_tool_call(deep, 1) + b"\n")
            await process.stdin.send(_tool_call('{"full_name":"Ana","email":"ana@x.io"}', 2) + b"\n")
            while True:
                message = await next_message()
                if message.get("id") == 2:
                    break
        assert message["result"]["structuredContent"]["created"] is True  # still serving after the deep line
        process.terminate()
