"""Exchange benchmarks: import 100k CSV rows, export 100k contacts as vCard (time and peak memory).

    python -m benchmarks.exchange                 # SQLite, 100k rows, 3 runs, medians
    python -m benchmarks.exchange --rows 20000 --runs 1
    python -m benchmarks.exchange --pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

Each measured step runs in a fresh child process, so its peak resident memory
(``ru_maxrss``) belongs to that step alone:

- import: ``import_contacts`` exactly as the tool and CLI call it (batches,
  de-duplication keys, history) into an empty store;
- export: ``write_export`` streamed to a file, as ``lead-mcp export`` does;
- tool: ``export_vcard`` called through the MCP client (in memory), which
  stores the export and answers a resource link, then ``resources/read`` of
  that link: what an assistant does;
- re-import: the same people again, each row bringing a new tag, so every
  record merges into a stored contact through ``add_contact`` (the slow path).

``--only-parse`` times what an import's parsing process does (read, map and
normalize every record, pack each batch for the pipe) in this one process, with
no store: CPU seconds and microseconds a record.

Goals (issue 6): import <= 15 s, export <= 10 s with peak memory <= 200 MB.
The machine is shared, so figures are noisy: compare runs made together, and
the CPU seconds printed next to each wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import machine

FIRST = [
    "Ana",
    "Bruno",
    "Chloé",
    "Dmitri",
    "Emeka",
    "Fatima",
    "Günther",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
]
LAST = [
    "Souza",
    "Müller",
    "Nakamura",
    "Okafor",
    "Silva",
    "Kowalski",
    "Dubois",
    "Rossi",
    "Haddad",
    "Chen",
    "O'Brien",
    "García",
    "Novak",
]
TITLES = ["Head of Sales", "CTO", "Founder", "Procurement, EMEA", "Marketing Lead", "Engineer"]
NOTES = ["Met at the fintech meetup", "Asked about pricing; follow up in March", "Referred by Tom", ""]


def make_csv(path: Path, rows: int, seed: int = 6, tags: str = "expo;2026") -> None:
    """A realistic generic CSV: unique people, 1-2 emails and phones, notes with commas and newlines."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(
            "First Name,Last Name,Email,Work Email,Phone,Mobile,Company,Job Title,Website,Notes,Tags\r\n"
        )
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = f"Company {i % 7919}"
            email2 = f"{first.lower()}.{i}@work{i % 97}.example.org" if i % 3 == 0 else ""
            mobile = f"+44 7700 9{i % 100000:05d}" if i % 4 == 0 else ""
            note = rng.choice(NOTES)
            if i % 10 == 0:
                note = f'"{note}\r\nsecond line, with a comma"'
            out.write(
                f"{first},{last} {i},p{i}@example{i % 503}.com,{email2},"
                f"+1 415 {200 + (i // 10000) % 700:03d} {i % 10000:04d},{mobile},{company},"
                f'"{rng.choice(TITLES)}",company{i % 7919}.example.com,{note},{tags}\r\n'
            )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu() -> float:
    """CPU seconds of this process and its finished children (an import's parsing worker process)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


async def _open(url: str):  # type: ignore[no-untyped-def]
    from lead_mcp.config import Settings
    from lead_mcp.mcp.state import AppState

    settings = Settings(database_url=url, timezone="UTC", import_max_bytes=2 * 1024**3)
    return settings, await AppState.open(settings)


async def step_import(url: str, csv_path: str) -> dict[str, float]:
    """Import the CSV into the store; seconds and peak memory."""
    from lead_mcp.services.exchange import ImportSource, import_contacts
    from lead_mcp.services.scope import Scope

    settings, state = await _open(url)
    if os.environ.get(DEFAULT_GC_ENV) != "1":
        # What `lead-mcp import` (and the servers) do: fewer young collections, start-up heap frozen.
        from lead_mcp.runtime import freeze_startup_heap, tune_gc

        tune_gc()
        freeze_startup_heap()
    scope = Scope(workspace_id=state.local_workspace_id, settings=settings, clock=state.clock)

    def transactions(*, write: bool):  # type: ignore[no-untyped-def]
        return state.db.transaction(workspace_id=scope.workspace_id, write=write)

    source = ImportSource.from_file(Path(csv_path), settings)
    statements = _time_statements() if os.environ.get(SQL_TIMES_ENV) == "1" else None
    started, cpu = time.perf_counter(), _cpu()
    result = await import_contacts(transactions, scope, source=source)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    await state.close()
    import lead_mcp

    return {
        "statements": statements or {},
        "code": lead_mcp.__file__,
        "seconds": seconds,
        "cpu": cpu,
        "created": result.created,
        "merged": result.merged,
        "errors": result.errors_total,
        "peak_mb": _peak_mb(),
    }


def step_parse(csv_path: str) -> dict[str, float]:
    """The parsing child's work on the CSV, here and without a store: CPU seconds and records."""
    import pickle

    from lead_mcp.clock import SystemClock
    from lead_mcp.config import Settings
    from lead_mcp.runtime import tune_gc
    from lead_mcp.services.exchange import ImportSource
    from lead_mcp.services.exchange.imports import BATCH_SIZE, _batches, _guarded, plan
    from lead_mcp.services.exchange.parse_process import _pack
    from lead_mcp.services.scope import Scope

    tune_gc()  # as the child does (it runs lead-mcp's import code)
    settings = Settings(database_url="sqlite+aiosqlite://", timezone="UTC", import_max_bytes=2 * 1024**3)
    scope = Scope(workspace_id="bench", settings=settings, clock=SystemClock())
    source = ImportSource.from_file(Path(csv_path), settings)
    started, cpu = time.perf_counter(), _cpu()
    records = sent = 0
    the_plan = plan(source, scope, "auto", {})
    for batch in _batches(_guarded(the_plan.items), BATCH_SIZE):
        records += len(batch)
        sent += len(pickle.dumps(("batch", [_pack(i) for i in batch]), protocol=pickle.HIGHEST_PROTOCOL))
    import lead_mcp

    return {
        "code": lead_mcp.__file__,
        "seconds": time.perf_counter() - started,
        "cpu": _cpu() - cpu,
        "records": records,
        "bytes": sent,
    }


def _time_statements() -> dict[str, list[float]]:
    """Wall time and count of each SQLite statement the import runs (``--sql-times``), by its start.

    Wraps the inline driver's ``execute`` (SQLite runs on the calling thread there, so the time
    measured is SQLite's own work plus its bind handling, not waiting).
    """
    from lead_mcp.db import sqlite_inline

    totals: dict[str, list[float]] = {}
    execute = sqlite_inline.InlineCursor.execute

    async def timed(self: Any, sql: str, parameters: Any = ()) -> Any:
        started = time.perf_counter()
        try:
            return await execute(self, sql, parameters)
        finally:
            entry = totals.setdefault(" ".join(sql.split())[:72], [0.0, 0])
            entry[0] += time.perf_counter() - started
            entry[1] += 1

    sqlite_inline.InlineCursor.execute = timed  # type: ignore[method-assign]
    return totals


async def step_export(url: str, out_path: str) -> dict[str, float]:
    """Export every contact as vCard 3.0 to a file; seconds, bytes and peak memory."""
    from lead_mcp.services.exchange.exports import count_selected, select_contacts, write_export
    from lead_mcp.services.scope import Scope

    settings, state = await _open(url)
    scope = Scope(workspace_id=state.local_workspace_id, settings=settings, clock=state.clock)
    baseline = _peak_mb()
    started, cpu = time.perf_counter(), _cpu()
    with open(out_path, "w", encoding="utf-8", newline="") as out:  # noqa: ASYNC230 - as the CLI does

        async def sink(text: str) -> None:
            out.write(text)

        async with state.db.transaction(workspace_id=scope.workspace_id, write=False) as session:
            selection = await select_contacts(session, scope, contact_ids=None, query=None)
            total = await count_selected(session, selection)
            count, size = await write_export(session, selection, format="vcard", sink=sink, total=total)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    await state.close()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "count": count,
        "bytes": size,
        "peak_mb": _peak_mb(),
        "baseline_mb": baseline,
    }


async def step_tool_export(url: str) -> dict[str, float]:
    """export_vcard through the MCP client (stored export, resource link), then read the link."""
    from lead_mcp.mcp.server import build_server
    from mcp import Client

    settings, state = await _open(url)
    await state.close()
    baseline = _peak_mb()
    async with Client(build_server(settings), raise_exceptions=True) as client:
        started, cpu = time.perf_counter(), _cpu()
        result = await client.call_tool("export_vcard", {})
        export_seconds, export_cpu = time.perf_counter() - started, _cpu() - cpu
        data = result.structured_content or {}
        after_export = _peak_mb()
        started, cpu = time.perf_counter(), _cpu()
        read = await client.read_resource(data["resource_uri"])
        read_seconds, read_cpu = time.perf_counter() - started, _cpu() - cpu
        text = read.contents[0].text  # type: ignore[union-attr]
    return {
        "export_seconds": export_seconds,
        "export_cpu": export_cpu,
        "read_seconds": read_seconds,
        "read_cpu": read_cpu,
        "count": data["count"],
        "bytes": len(text.encode()),
        "export_peak_mb": after_export,
        "peak_mb": _peak_mb(),
        "baseline_mb": baseline,
    }


DEFAULT_GC_ENV = "LEAD_BENCH_DEFAULT_GC"
LEAD_SRC_ENV = "LEAD_BENCH_SRC"
SQL_TIMES_ENV = "LEAD_BENCH_SQL_TIMES"


def _child(step: str, *args: str) -> dict[str, Any]:
    # --lead-src: that checkout's src goes first on sys.path in the child (a worktree venv's .pth
    # puts its own src before PYTHONPATH, so PYTHONPATH alone would run the current code).
    lead_src = os.environ.get(LEAD_SRC_ENV)
    start = (
        [
            "-c",
            f"import runpy, sys; sys.path.insert(0, {lead_src!r}); "
            "runpy.run_module('benchmarks.exchange', run_name='__main__')",
        ]
        if lead_src
        else ["-m", "benchmarks.exchange"]
    )
    output = subprocess.run(
        [sys.executable, *start, "--step", step, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _fresh_store(pg: str | None, folder: Path) -> tuple[str, str | None]:
    if not pg:
        return f"sqlite+aiosqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    import asyncpg

    name = f"lead_bench_{uuid.uuid4().hex[:8]}"
    admin = pg.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return pg.rsplit("/", 1)[0] + f"/{name}", name


def _drop(pg: str | None, name: str | None) -> None:
    if not (pg and name):
        return
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(pg.replace("postgresql+asyncpg://", "postgresql://"))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def main() -> None:
    """Run the benchmark and print medians."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--merge-rows", type=int, default=0, help="rows of the merge-heavy re-import (default: --rows)"
    )
    parser.add_argument("--pg", help="PostgreSQL admin URL (postgresql+asyncpg://...) instead of SQLite")
    parser.add_argument(
        "--only-import", action="store_true", help="measure the first import only (no export, re-import)"
    )
    parser.add_argument(
        "--only-parse",
        action="store_true",
        help="time the import's parsing alone (what its parsing process does), without a store",
    )
    parser.add_argument(
        "--lead-src", help="run the steps with this checkout's src first on sys.path (before/after figures)"
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="import with Python's default garbage-collector settings (not lead-mcp import's tuning)",
    )
    parser.add_argument(
        "--sql-times",
        action="store_true",
        help="with --only-import on SQLite: print the time of the import's costliest statements",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        if args.step == "parse":
            print(json.dumps(step_parse(*args.args)))
            return
        runner = {"import": step_import, "export": step_export, "tool": step_tool_export}[args.step]
        print(json.dumps(asyncio.run(runner(*args.args))))
        return

    if args.lead_src:
        os.environ[LEAD_SRC_ENV] = str(Path(args.lead_src).resolve())
    if args.default_gc:
        os.environ[DEFAULT_GC_ENV] = "1"
    if args.sql_times:
        os.environ[SQL_TIMES_ENV] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = folder / "contacts.csv"
        make_csv(csv_path, args.rows)
        again_path = folder / "again.csv"
        make_csv(again_path, args.merge_rows or args.rows, tags="expo;2026;reimport")
        print(
            f"{args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB CSV; "
            f"store: {'PostgreSQL' if args.pg else 'SQLite'}; load average {_load()}"
        )
        print(machine.describe())
        if args.only_parse:
            parses = []
            for run in range(args.runs):
                parsed = _child("parse", str(csv_path))
                parses.append(parsed)
                print(
                    f"run {run + 1}: parse {parsed['seconds']:.2f} s (CPU {parsed['cpu']:.1f} s, "
                    f"{parsed['cpu'] / parsed['records'] * 1e6:.0f} us a record, "
                    f"{parsed['bytes'] / parsed['records']:.0f} bytes a record to the pipe; "
                    f"code {parsed['code']})"
                )
            print(
                f"median of {args.runs}: parse {args.rows} rows "
                f"CPU {statistics.median(r['cpu'] for r in parses):.1f} s; load average {_load()}"
            )
            return
        imports, exports, tools, merges = [], [], [], []
        for run in range(args.runs):
            url, name = _fresh_store(args.pg, folder)
            try:
                imported = _child("import", url, str(csv_path))
                if args.only_import:
                    print(
                        f"run {run + 1}: import {imported['seconds']:.2f} s (CPU {imported['cpu']:.1f} s, "
                        f"{imported['created']:.0f} created, {imported['errors']:.0f} errors, "
                        f"peak {imported['peak_mb']:.0f} MB; code {imported['code']}; load {_load()})"
                    )
                    top = sorted(imported["statements"].items(), key=lambda kv: -kv[1][0])[:8]
                    for sql, (spent, count) in top:
                        print(f"    SQL {spent:6.2f} s {count:6d}x  {sql}")
                    imports.append(imported)
                    for path in folder.glob("bench-*.db*"):
                        os.remove(path)
                    continue
                exported = _child("export", url, str(folder / "out.vcf"))
                tool = _child("tool", url)
                merged = _child("import", url, str(again_path))
            finally:
                _drop(args.pg, name)
            imports.append(imported)
            exports.append(exported)
            tools.append(tool)
            merges.append(merged)
            print(
                f"run {run + 1}: import {imported['seconds']:.2f} s (CPU {imported['cpu']:.1f} s, "
                f"{imported['created']:.0f} created, {imported['errors']:.0f} errors, "
                f"peak {imported['peak_mb']:.0f} MB); export {exported['seconds']:.2f} s "
                f"(CPU {exported['cpu']:.1f} s, {exported['count']:.0f} cards, "
                f"{exported['bytes'] / 1e6:.1f} MB, "
                f"peak {exported['peak_mb']:.0f} MB, {exported['baseline_mb']:.0f} MB before the export)"
            )
            print(
                f"       tool export_vcard {tool['export_seconds']:.2f} s (CPU {tool['export_cpu']:.1f} s, "
                f"peak {tool['export_peak_mb']:.0f} MB) + resources/read {tool['read_seconds']:.2f} s "
                f"(CPU {tool['read_cpu']:.1f} s, {tool['bytes'] / 1e6:.1f} MB, "
                f"peak {tool['peak_mb']:.0f} MB, "
                f"{tool['baseline_mb']:.0f} MB before); re-import {merged['seconds']:.2f} s "
                f"(CPU {merged['cpu']:.1f} s, {merged['merged']:.0f} merged, peak {merged['peak_mb']:.0f} MB)"
            )
            for path in folder.glob("bench-*.db*"):
                os.remove(path)
        med = statistics.median
        if args.only_import:
            print(
                f"median of {args.runs}: import {args.rows} rows {med(r['seconds'] for r in imports):.2f} s "
                f"(CPU {med(r['cpu'] for r in imports):.1f} s; goal <= 15 s); load average {_load()}"
            )
            return
        print(
            f"median of {args.runs}: import {args.rows} rows {med(r['seconds'] for r in imports):.2f} s "
            f"(CPU {med(r['cpu'] for r in imports):.1f} s; goal <= 15 s); "
            f"export {med(r['seconds'] for r in exports):.2f} s "
            f"(CPU {med(r['cpu'] for r in exports):.1f} s; goal <= 10 s), "
            f"peak memory {med(r['peak_mb'] for r in exports):.0f} MB (goal <= 200 MB); "
            f"tool export + read {med(r['export_seconds'] + r['read_seconds'] for r in tools):.2f} s, "
            f"peak {med(r['peak_mb'] for r in tools):.0f} MB; "
            f"merge-heavy re-import of {args.merge_rows or args.rows} rows "
            f"{med(r['seconds'] for r in merges):.2f} s (CPU {med(r['cpu'] for r in merges):.1f} s); "
            f"load average {_load()}"
        )


if __name__ == "__main__":
    main()
