"""Real server processes for end-to-end tests: `lead-mcp serve` on a free port, `lead-mcp stdio` params."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from mcp import StdioServerParameters

LEAD_MCP = str(Path(sys.executable).with_name("lead-mcp"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lead_env(**settings: str) -> dict[str, str]:
    """Environment for a child process: PATH/HOME plus the given LEAD_MCP_* settings."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update({f"LEAD_MCP_{k.upper()}": v for k, v in settings.items()})
    return env


def stdio_params(**settings: str) -> StdioServerParameters:
    """How the SDK's stdio client starts `lead-mcp stdio` (every setting passed in env)."""
    return StdioServerParameters(command=LEAD_MCP, args=["stdio"], env=lead_env(**settings))


@contextmanager
def running_server(
    *, timeout: float = 30.0, extra_args: list[str] | None = None, **settings: str
) -> Iterator[str]:
    """Start `lead-mcp serve` on a free port; yield its base URL once /healthz answers; stop it after."""
    port = free_port()
    process = subprocess.Popen(
        [LEAD_MCP, "serve", "--port", str(port), *(extra_args or [])],
        env=lead_env(**settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"lead-mcp serve exited early:\n{process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("lead-mcp serve did not become healthy")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
