"""Real server processes for end-to-end tests: `lead-mcp serve` on a free port, `lead-mcp stdio` params."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

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
