"""HTTP load: 50 concurrent MCP clients against lead-mcp and against a no-logic floor, in the same run.

Both servers run as their own process on loopback: ``lead-mcp serve`` (on a
fresh SQLite file, then on a fresh PostgreSQL database) and the floor
(``benchmarks/floor_server.py``: the same SDK, stateless streamable HTTP with
JSON responses, raw ``sqlite3`` in WAL mode with ``synchronous=FULL``, four
trivial tools). Each is seeded through its own tools, then driven by the same
load: ``--clients`` concurrent MCP clients (each with its own keep-alive
connection, after the ``initialize`` handshake of protocol 2025-11-25) making
``--calls`` calls in all, bounded by ``--seconds``, in a realistic mix:

    lead-mcp   add_contact 30%   search_contacts 35%   list_due_followups 20%   log_interaction 15%
    floor      add         30%   search          35%   due                20%   add (as the log write) 15%

The clients speak raw JSON-RPC over a small asyncio HTTP/1.1 client, so the
load generator costs little next to the servers it measures (the SDK's client
re-validates every result against its output schema, which would bill client
CPU to the server on a 2-core machine). Printed: calls/s, p50 and p99 latency
for each server and lead-mcp's ratios to the floor (goal on SQLite: calls/s >=
0.7x the floor's, p99 <= 2x). Runs alternate floor / lead-mcp ``--repeats``
times and report the median of each, so a noisy neighbour hits both alike.

``python -m benchmarks.load [--clients 50] [--calls 4000] [--seconds 60] [--repeats 3] [--skip-postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LEAD_MCP = str(Path(sys.executable).with_name("lead-mcp"))
PROTOCOL = "2025-11-25"
PG_ADMIN_DSN = os.environ.get("LEAD_MCP_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MIX = [("add", 30), ("search", 35), ("due", 20), ("log", 15)]
WORDS = ["ana", "souza", "fintech", "acme", "maria", "lee", "tom", "garcia", "zzz", "bench"]


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpError(Exception):
    """A non-2xx answer or a broken response."""


class RawMcpClient:
    """A minimal MCP client: JSON-RPC POSTs over one keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.next_id = 1

    async def connect(self) -> None:
        """Open the connection and do the initialize handshake."""
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        await self.rpc(
            "initialize",
            {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "load", "version": "1"}},
            handshake=True,
        )
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"}, handshake=True)

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def _post(self, message: dict[str, Any], *, handshake: bool = False) -> bytes:
        assert self.reader is not None and self.writer is not None
        body = json.dumps(message, separators=(",", ":")).encode()
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\n"
        )
        if not handshake:
            head += f"MCP-Protocol-Version: {PROTOCOL}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise HttpError("connection closed")
        status = int(status_line.split()[1])
        length = None
        chunked = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            data = b"".join(parts)
        else:
            data = await self.reader.readexactly(length or 0)
        if status >= 300:
            raise HttpError(f"HTTP {status}: {data[:200]!r}")
        return data

    async def rpc(self, method: str, params: dict[str, Any], *, handshake: bool = False) -> dict[str, Any]:
        """One request; returns its result (SSE or JSON response)."""
        request_id = self.next_id
        self.next_id += 1
        raw = await self._post(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, handshake=handshake
        )
        if raw.lstrip().startswith(b"{"):
            message = json.loads(raw)
        else:  # an SSE stream: the last data line carries the response
            lines = [line[5:].strip() for line in raw.split(b"\n") if line.startswith(b"data:")]
            message = json.loads(lines[-1])
        if "error" in message:
            raise HttpError(f"JSON-RPC error: {message['error']}")
        return message["result"]

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tools/call that must succeed; returns its structured content."""
        result = await self.rpc("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            raise HttpError(f"{tool} failed: {result['content'][0]['text'][:300]}")
        return result.get("structuredContent") or {}


@dataclass
class Target:
    """A server under load and how the mix maps onto its tools."""

    name: str
    port: int
    lead: bool
    pid: int = 0
    ids: list[str] = field(default_factory=list)

    def request(self, op: str, rng: random.Random, seq: str) -> tuple[str, dict[str, Any]]:
        """The tool call for one operation of the mix."""
        if op == "add" or (op == "log" and not self.lead):
            email = f"load.{seq}@bench{rng.randrange(50)}.io"
            name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {seq}"
            if self.lead:
                return "add_contact", {"full_name": name, "email": email, "company": "Bench Inc"}
            return "add", {"email": email, "full_name": name, "company": "Bench Inc"}
        if op == "search":
            query = rng.choice(WORDS)
            return ("search_contacts", {"query": query}) if self.lead else ("search", {"query": query})
        if op == "due":
            return ("list_due_followups", {"within_days": 7, "limit": 20}) if self.lead else ("due", {})
        contact_id = rng.choice(self.ids)
        return "log_interaction", {
            "contact_id": contact_id,
            "kind": rng.choice(["call", "email", "meeting"]),
            "summary": "Talked about the pilot; wants pricing for 20 seats",
        }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its waited-for children used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields[11:15]) / ticks


@dataclass
class Result:
    """Figures of one timed run."""

    calls: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    cpu: float = float("nan")
    by_op: dict[str, list[float]] = field(default_factory=dict)

    @property
    def cpu_ms_per_call(self) -> float:
        """Server CPU per call: steadier than wall-clock figures on a shared machine."""
        return 1000 * self.cpu / self.calls if self.calls else float("nan")

    @property
    def rate(self) -> float:
        """Completed calls per second."""
        return self.calls / self.seconds

    def pct(self, p: float) -> float:
        """The p-th latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def seed_target(target: Target, contacts: int) -> None:
    """Fill the store through its own tools (not timed); remember ids for log_interaction."""
    clients = [RawMcpClient(target.port) for _ in range(10)]
    await asyncio.gather(*(c.connect() for c in clients))
    rng = random.Random(7)

    async def worker(client: RawMcpClient, start: int) -> None:
        for i in range(start, contacts, len(clients)):
            tool, args = target.request("add", rng, f"seed{i}")
            result = await client.call(tool, args)
            target.ids.append(result["contact"]["id"] if target.lead else result["id"])

    await asyncio.gather(*(worker(c, i) for i, c in enumerate(clients)))
    await asyncio.gather(*(c.close() for c in clients))


async def drive(target: Target, *, clients: int, calls: int, seconds: float, seed: int) -> Result:
    """The timed load: ``clients`` concurrent clients sharing ``calls`` calls, stopped after ``seconds``."""
    connected = [RawMcpClient(target.port) for _ in range(clients)]
    await asyncio.gather(*(c.connect() for c in connected))
    ops = [op for op, weight in MIX for _ in range(weight)]
    latencies: list[float] = []
    errors: list[str] = []
    by_op: dict[str, list[float]] = {op: [] for op, _ in MIX}
    remaining = [calls]
    deadline = time.perf_counter() + seconds
    run_id = uuid.uuid4().hex[:6]

    async def worker(index: int, client: RawMcpClient) -> None:
        rng = random.Random(seed * 1000 + index)
        n = 0
        while remaining[0] > 0 and time.perf_counter() < deadline:
            remaining[0] -= 1
            n += 1
            op = rng.choice(ops)
            tool, args = target.request(op, rng, f"{run_id}.{index}.{n}")
            started = time.perf_counter()
            try:
                await client.call(tool, args)
            except Exception as exc:
                errors.append(f"{tool}: {exc}"[:300])
                continue
            latencies.append(time.perf_counter() - started)
            by_op[op].append(latencies[-1])

    started = time.perf_counter()
    await asyncio.gather(*(worker(i, c) for i, c in enumerate(connected)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in connected))
    return Result(calls=len(latencies), seconds=elapsed, latencies=latencies, errors=errors, by_op=by_op)


@contextlib.contextmanager
def serving(command: list[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A server process on ``port``, stopped afterwards."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{command} did not start")
            time.sleep(0.05)
        yield process
    finally:
        process.send_signal(signal.SIGINT)  # a graceful stop (and a profiler wrapping it writes its file)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def lead_env(database_url: str) -> dict[str, str]:
    """Environment of a lead-mcp server process for the benchmark."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update({"LEAD_MCP_DATABASE_URL": database_url, "LEAD_MCP_LOG_LEVEL": "WARNING"})
    env.update({k: v for k, v in os.environ.items() if k.startswith("LEAD_MCP_DB_")})
    return env


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def measure(target: Target, args: argparse.Namespace, repeat: int) -> Result:
    """One timed run against a seeded server."""
    before = cpu_seconds(target.pid)
    result = await drive(target, clients=args.clients, calls=args.calls, seconds=args.seconds, seed=repeat)
    result.cpu = cpu_seconds(target.pid) - before
    if result.errors:
        print(f"    {target.name}: {len(result.errors)} failed calls, e.g. {result.errors[0]}")
    if args.per_op:
        print(
            "    p50 by operation: "
            + ", ".join(f"{op} {1000 * statistics.median(v):.1f} ms" for op, v in result.by_op.items() if v)
        )
    return result


def line(name: str, result: Result) -> str:
    """One printed row."""
    return (
        f"  {name:24} {result.rate:8.0f} calls/s   p50 {result.pct(50):7.1f} ms"
        f"   p99 {result.pct(99):7.1f} ms"
        f"   server CPU {result.cpu_ms_per_call:5.2f} ms/call"
        f"   ({result.calls} calls in {result.seconds:.1f} s, {len(result.errors)} errors)"
    )


def median_result(results: list[Result]) -> Result:
    """The run with the median throughput."""
    return sorted(results, key=lambda r: r.rate)[len(results) // 2]


def lead_from(src: str) -> list[str]:
    """A command running ``lead_mcp`` from ``src`` first on the path (empty without ``src``).

    ``PYTHONPATH`` is not enough: a venv whose ``.pth`` inserts its own checkout's ``src`` at the
    front of ``sys.path`` would still run the current code.
    """
    if not src:
        return []
    folder = str(Path(src).resolve())
    code = (
        f"import runpy, sys; sys.path.insert(0, {folder!r}); "
        "runpy.run_module('lead_mcp', run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", code]


async def compare(label: str, lead_url: str, args: argparse.Namespace, tmp: Path) -> tuple[Result, Result]:
    """Alternate floor and lead-mcp runs; print each and the medians' ratios."""
    floor_port, lead_port = free_port(), free_port()
    floor_cmd = [
        sys.executable,
        "-m",
        "benchmarks.floor_server",
        "--port",
        str(floor_port),
        "--db",
        str(tmp / f"floor-{label}.db"),
        *(["--tuned-gc"] if args.floor_tuned_gc else []),
    ]
    floor_env = {**lead_env(""), "PYTHONPATH": str(HERE.parent)}
    lead_cmd = [
        *args.wrap.split(),
        *(args.lead_command.split() or lead_from(args.lead_src) or [LEAD_MCP]),
        "serve",
        "--port",
        str(lead_port),
    ]
    floors: list[Result] = []
    leads: list[Result] = []
    with (
        serving(floor_cmd, floor_port, floor_env) as floor_process,
        serving(lead_cmd, lead_port, lead_env(lead_url)) as lead_process,
    ):
        floor_name = "floor (raw sqlite3, GC tuned)" if args.floor_tuned_gc else "floor (raw sqlite3)"
        floor = Target(floor_name, floor_port, lead=False, pid=floor_process.pid)
        lead = Target(f"lead-mcp ({label})", lead_port, lead=True, pid=lead_process.pid)
        await seed_target(floor, args.seed_contacts)
        await seed_target(lead, args.seed_contacts)
        for repeat in range(args.repeats):
            floors.append(await measure(floor, args, repeat))
            print(line(floor.name, floors[-1]), flush=True)
            leads.append(await measure(lead, args, repeat))
            print(line(lead.name, leads[-1]), flush=True)
    f, m = median_result(floors), median_result(leads)
    print(
        f"  => {label}: lead-mcp/floor calls/s {m.rate / f.rate:.2f}x (goal >= 0.7x), "
        f"p50 {m.pct(50) / f.pct(50):.2f}x, p99 {m.pct(99) / f.pct(99):.2f}x (goal <= 2x), "
        f"server CPU per call {m.cpu_ms_per_call / f.cpu_ms_per_call:.2f}x  [medians of {args.repeats}]",
        flush=True,
    )
    return f, m


async def main_async(args: argparse.Namespace) -> None:
    """Run the comparisons."""
    print(
        f"== HTTP load: {args.clients} clients, up to {args.calls} calls or {args.seconds:.0f} s per run, "
        f"{args.seed_contacts} contacts seeded, mix {MIX} ==",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if not args.skip_sqlite:
            await compare("SQLite", f"sqlite+aiosqlite:///{tmp / 'lead.db'}", args, tmp)
        if not args.skip_postgres:
            name = f"lead_load_{uuid.uuid4().hex[:8]}"
            await _pg(f'CREATE DATABASE "{name}"')
            try:
                base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                await compare("PostgreSQL", f"{base}/{name}", args, tmp)
            finally:
                await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=4000, help="calls per timed run")
    parser.add_argument("--seconds", type=float, default=60.0, help="time bound per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per server")
    parser.add_argument("--seed-contacts", type=int, default=500)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--per-op", action="store_true", help="also print p50 latency by operation")
    parser.add_argument("--wrap", default="", help="prefix for the lead-mcp command, e.g. a profiler")
    parser.add_argument(
        "--lead-command",
        default="",
        help="run lead-mcp another way, e.g. under another interpreter",
    )
    parser.add_argument(
        "--lead-src",
        default="",
        help="run the lead_mcp package found in this folder (an older checkout's src, for before/after "
        "figures), ahead of whatever this interpreter's path holds",
    )
    parser.add_argument(
        "--floor-tuned-gc",
        action="store_true",
        help="give the floor lead-mcp's garbage-collector tuning too (lead_mcp/runtime.py)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
