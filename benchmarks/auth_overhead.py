"""What HTTP auth costs per MCP call: one tool over `lead-mcp serve` with auth=none and with a bearer token.

Both servers run on one fresh SQLite store in the same run, called call by call in turn, so the ratio
survives a noisy machine. Also reports the cost of one argon2id password check (sign-in).

Usage: ``python -m benchmarks.auth_overhead [--calls 300] [--tool search_contacts]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.e2e.harness import bearer_client, seed_seat, serve

from lead_mcp.db import migrate
from lead_mcp.services.accounts import hash_password, password_matches


async def _timed(client: Any, tool: str, out: list[float]) -> None:
    started = time.perf_counter()
    result = await client.call_tool(tool, {})
    out.append(time.perf_counter() - started)
    assert not result.is_error, result.content


async def run(calls: int, tool: str) -> None:
    """Measure and print."""
    folder = Path(tempfile.mkdtemp(prefix="lead-auth-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await migrate.upgrade(url)
    seat = await seed_seat(url, workspace=None, email="bench@example.com")
    open_times: list[float] = []
    auth_times: list[float] = []
    with serve(url, auth="none") as open_server, serve(url, auth="builtin") as auth_server:
        async with (
            bearer_client(f"{open_server.url}/mcp", "unused") as plain,
            bearer_client(auth_server.mcp_url, seat.token) as authed,
        ):
            await _timed(plain, tool, [])  # warm up both connections
            await _timed(authed, tool, [])
            for _ in range(calls):  # alternate call by call: machine load hits both alike
                await _timed(plain, tool, open_times)
                await _timed(authed, tool, auth_times)
    p50_open, p50_auth = statistics.median(open_times), statistics.median(auth_times)
    print(
        f"{tool} over HTTP, {len(open_times)} calls each, p50: auth=none {p50_open * 1000:.2f} ms, "
        f"bearer token {p50_auth * 1000:.2f} ms, ratio {p50_auth / p50_open:.2f}x"
    )
    stored = await hash_password("correct horse battery staple")
    checks = []
    for _ in range(10):
        started = time.perf_counter()
        assert await password_matches(stored, "correct horse battery staple")
        checks.append(time.perf_counter() - started)
    print(f"argon2id password check (sign-in), p50 of 10: {statistics.median(checks) * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--tool", default="whoami")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.tool))
