"""A real ``lead-mcp serve`` in a subprocess on a free loopback port, for HTTP and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

READY_MARKER = "Uvicorn running on"
START_TIMEOUT = 60


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running server: its base URL and what it logged so far."""

    base_url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    @property
    def mcp_url(self) -> str:
        """The streamable HTTP MCP endpoint."""
        return f"{self.base_url}/mcp"


def _lead_mcp_command() -> list[str]:
    script = Path(sys.executable).with_name("lead-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lead_mcp"]


@contextmanager
def live_server(database_url: str, **settings: str) -> Iterator[LiveServer]:
    """Start ``lead-mcp serve`` on ``database_url``; extra LEAD_MCP_* settings as keyword arguments."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_MCP_")}
    env.update(
        {
            "LEAD_MCP_DATABASE_URL": database_url,
            "LEAD_MCP_PUBLIC_BASE_URL": base,
            "LEAD_MCP_TIMEZONE": "Europe/Berlin",
            "LEAD_MCP_LOG_LEVEL": "INFO",
            "LEAD_MCP_SCAN_ROOTS": "",
        }
    )
    env.update({f"LEAD_MCP_{k.upper()}": v for k, v in settings.items()})
    process = subprocess.Popen(
        [*_lead_mcp_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = LiveServer(base_url=base, process=process)
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.log.append(line.rstrip())
            if READY_MARKER in line:
                ready.set()
        ready.set()  # the process ended: wake the waiter, which then sees it is not running

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not ready.wait(START_TIMEOUT) or process.poll() is not None:
            raise RuntimeError("lead-mcp serve did not start:\n" + "\n".join(server.log[-30:]))
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
