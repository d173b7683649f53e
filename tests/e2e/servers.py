"""Real lead-mcp processes for end-to-end tests: `lead-mcp serve` on a free port, `lead-mcp stdio` params.

One implementation for every HTTP test: the server is ready when uvicorn says it listens
(read from its stderr, which is also kept as ``log`` for failure messages), and it is
stopped with SIGTERM, then SIGKILL if it hangs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from mcp import StdioServerParameters

LEAD_MCP = str(Path(sys.executable).with_name("lead-mcp"))
READY_MARKER = "Uvicorn running on"
START_TIMEOUT = 60


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lead_env(**settings: str) -> dict[str, str]:
    """Environment for a child process: PATH/HOME/LANG plus the given LEAD_MCP_* settings."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update({f"LEAD_MCP_{k.upper()}": v for k, v in settings.items()})
    return env


def stdio_params(**settings: str) -> StdioServerParameters:
    """How the SDK's stdio client starts `lead-mcp stdio` (every setting passed in env)."""
    return StdioServerParameters(command=LEAD_MCP, args=["stdio"], env=lead_env(**settings))


@dataclass
class Served:
    """A running `lead-mcp serve`: where to reach it and what it logged so far."""

    url: str  # http://127.0.0.1:PORT
    public_base_url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The address tests talk to (same as ``url``)."""
        return self.url

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint as reached by the test (under the public prefix, if any)."""
        prefix = self.public_base_url.split("://", 1)[1].partition("/")[2]
        return f"{self.url}/{prefix + '/' if prefix else ''}mcp"


def start(
    database_url: str, *, port: int | None = None, public_base_url: str | None = None, **settings: str
) -> tuple[Served, threading.Event]:
    """Launch `lead-mcp serve` on a free port; the event is set once uvicorn listens (or the process died)."""
    port = port or free_port()
    base = public_base_url or f"http://127.0.0.1:{port}"
    defaults = {"timezone": "Europe/Berlin", "log_level": "INFO", "scan_roots": ""}
    env = lead_env(**{**defaults, **settings, "database_url": database_url, "public_base_url": base})
    process = subprocess.Popen(
        [LEAD_MCP, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(url=f"http://127.0.0.1:{port}", public_base_url=base, process=process)
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            served.log.append(line.rstrip("\n"))
            if READY_MARKER in line:
                ready.set()
        ready.set()  # the process ended: let the waiter see it

    served.reader = threading.Thread(target=drain, daemon=True)
    served.reader.start()
    return served, ready


def wait_ready(served: Served, ready: threading.Event) -> None:
    """Block until the server listens; raise with its log if it died or never came up."""
    if not ready.wait(START_TIMEOUT) or served.process.poll() is not None:
        raise RuntimeError("lead-mcp serve did not start:\n" + "\n".join(served.log[-40:]))


def stop(served: Served) -> None:
    """Stop a server (SIGTERM, then SIGKILL if it hangs)."""
    served.process.terminate()
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
    if served.reader is not None:
        served.reader.join(timeout=5)


@contextmanager
def serve(database_url: str, **settings: str) -> Iterator[Served]:
    """A running `lead-mcp serve` for the block; extra LEAD_MCP_* settings as keyword arguments."""
    served, ready = start(database_url, **settings)
    try:
        wait_ready(served, ready)
        yield served
    finally:
        stop(served)


class ServerProcess:
    """A `lead-mcp serve` child this test owns: its URL, and the means to kill it outright."""

    def __init__(self, process: subprocess.Popen[str], base: str, log: IO[str]) -> None:
        self.process = process
        self.base = base
        self.log = log  # stderr goes to a file: a pipe nobody reads would stall a chatty server

    def stderr(self) -> str:
        """What the process wrote to stderr so far."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    @property
    def mcp_url(self) -> str:
        """The streamable HTTP endpoint."""
        return f"{self.base}/mcp"

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what a crash or a power cut leaves behind."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """A normal shutdown."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_server(*, port: int | None = None, **settings: str) -> ServerProcess:
    """Launch one `lead-mcp serve` without waiting for it (see :func:`wait_healthy`)."""
    port = port or free_port()
    log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by ServerProcess.stop
    process = subprocess.Popen(
        [LEAD_MCP, "serve", "--port", str(port)],
        env=lead_env(**settings),
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    return ServerProcess(process, f"http://127.0.0.1:{port}", log)


def wait_healthy(servers: list[ServerProcess], *, timeout: float = 60.0) -> None:
    """Wait until every server answers /healthz (raises with its stderr if one exits)."""
    deadline = time.monotonic() + timeout
    for server in servers:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError("lead-mcp serve exited early:\n" + server.stderr())
            try:
                if httpx.get(f"{server.base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("lead-mcp serve did not become healthy:\n" + server.stderr())
            time.sleep(0.05)


def start_servers(count: int, *, timeout: float = 60.0, **settings: str) -> list[ServerProcess]:
    """Start ``count`` `lead-mcp serve` processes at once (so they race through start-up), wait for all."""
    started = [start_server(**settings) for _ in range(count)]
    try:
        wait_healthy(started, timeout=timeout)
    except BaseException:
        for server in started:
            server.stop()
        raise
    return started


@contextmanager
def servers(count: int, **settings: str) -> Iterator[list[ServerProcess]]:
    """`count` running `lead-mcp serve` processes on the same settings, stopped afterwards."""
    running = start_servers(count, **settings)
    try:
        yield running
    finally:
        for server in running:
            server.stop()
