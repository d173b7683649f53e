"""Card page latency: a real `lead-mcp serve` on SQLite (or LEAD_MCP_DATABASE_URL), sequential requests.

    python -m benchmarks.card_page [--requests 300] [--posts 100]

Prints median and p95 milliseconds for the page (a view is a counted write), the vCard, the
QR PNG and accepted lead-form posts (a de-duplicated contact, an interaction, a follow-up and
two counters each). Sequential requests over one keep-alive connection: this measures the
server's work per request, not concurrency. Numbers are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from mcp import Client

UA = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1"}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{name:<14} n={len(samples):<4} median {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms"


def start_server(database_url: str) -> tuple[subprocess.Popen[str], str]:
    """`lead-mcp serve` on a free port; returns the process and its base URL once it listens."""
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_MCP_")}
    env.update(
        LEAD_MCP_DATABASE_URL=database_url,
        LEAD_MCP_PUBLIC_BASE_URL=base,
        LEAD_MCP_LOG_LEVEL="INFO",
        LEAD_MCP_CARD_FORM_MIN_SECONDS="0",
        LEAD_MCP_CARD_FORM_RATE_LIMIT="10000",
    )
    command = [str(Path(sys.executable).with_name("lead-mcp")), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if "Uvicorn running on" in line:
                ready.set()
        ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(60) or process.poll() is not None:
        raise SystemExit("lead-mcp serve did not start")
    return process, base


async def run(base: str, requests: int, posts: int) -> dict[str, list[float]]:
    """Publish a card, then time sequential requests of each kind."""
    async with Client(f"{base}/mcp") as client:
        result = await client.call_tool("publish_card", {"full_name": "Ana Souza", "bio": "Payments."})
        slug = (result.structured_content or {})["slug"]
    timings: dict[str, list[float]] = {"page": [], "vcard": [], "qr.png": [], "form post": []}
    paths = {"page": f"/c/{slug}", "vcard": f"/c/{slug}.vcf", "qr.png": f"/c/{slug}/qr.png"}
    async with httpx.AsyncClient(base_url=base, headers=UA) as http:
        for name, path in paths.items():
            for _ in range(requests):
                start = time.perf_counter()
                response = await http.get(path)
                timings[name].append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
        page = (await http.get(f"/c/{slug}")).text
        token = re.search(r'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        for n in range(posts):
            form = {"token": token, "name": f"Visitor {n}", "email": f"v{n}@example.com", "consent": "yes"}
            start = time.perf_counter()
            response = await http.post(f"/c/{slug}/lead", data=form)
            timings["form post"].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 303, response.status_code
    return timings


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--posts", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("LEAD_MCP_DATABASE_URL") or f"sqlite+aiosqlite:///{folder}/bench.db"
        process, base = start_server(url)
        try:
            timings = asyncio.run(run(base, args.requests, args.posts))
        finally:
            process.terminate()
            process.wait(timeout=15)
    print(f"lead-mcp card page, {url.split(':')[0]}, sequential requests")
    for name, samples in timings.items():
        print(_summary(name, samples))


if __name__ == "__main__":
    main()
