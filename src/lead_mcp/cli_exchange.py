"""``lead-mcp import`` and ``lead-mcp export``: the exchange services from a shell, with a progress bar.

On a terminal the bar is drawn by rich on stderr; otherwise (pipes, CI, cron)
progress is a few plain lines on stderr. The export's data goes to the file
given with ``-o`` (written beside it, then renamed into place, so a reader
never sees half a file) or to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.config import Settings
from lead_mcp.mcp.state import AppState
from lead_mcp.runtime import freeze_startup_heap
from lead_mcp.services.exchange import ImportSource, import_contacts
from lead_mcp.services.exchange.exports import count_selected, select_contacts, write_export
from lead_mcp.services.scope import Scope

MAX_ERRORS_SHOWN = 20


class ProgressReporter:
    """A rich progress bar on a terminal, plain lines (every 10 %) elsewhere; both on stderr."""

    def __init__(self, label: str, unit: str, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._bar: Any = None
        self._task: Any = None
        self._next_step = 10

    def __enter__(self) -> ProgressReporter:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[note]}"),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=None, note="")
        return self

    async def update(self, done: int, total: int | None, message: str | None = None) -> None:
        """Progress callback for the services."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total or None, note=message or "")
            return
        if total:
            percent = int(done * 100 / total)
            if percent >= self._next_step or done >= total:
                print(
                    f"{self.label}: {percent}% ({done}/{total} {self.unit}) {message or ''}".rstrip(),
                    file=self.stream,
                    flush=True,
                )
                self._next_step = (percent // 10 + 1) * 10

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def _transactions(state: AppState, workspace_id: str) -> Any:
    def transactions(*, write: bool) -> AbstractAsyncContextManager[AsyncSession]:
        return state.db.transaction(workspace_id=workspace_id, write=write)

    return transactions


async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import FILE into the store; prints counts on stdout and each bad record on stderr."""
    # A one-shot command: nothing else runs on this event loop, so plain file calls are fine.
    source = ImportSource.from_file(Path(args.file).expanduser(), settings, field_name="FILE")  # noqa: ASYNC240
    state = await AppState.open(settings)
    freeze_startup_heap()  # the modules and the store are loaded: full collections skip them
    try:
        scope = Scope(
            workspace_id=args.workspace or state.local_workspace_id, settings=settings, clock=state.clock
        )
        with ProgressReporter("importing", "bytes") as bar:
            result = await import_contacts(
                _transactions(state, scope.workspace_id),
                scope,
                source=source,
                format=args.format,
                follow_up=args.follow_up,
                dry_run=args.dry_run,
                progress=bar.update,
            )
    finally:
        await state.close()
    verb = "would be" if result.dry_run else "were"
    print(
        f"{result.records} records read as {result.format}: {result.created} created, "
        f"{result.merged} merged, "
        f"{result.skipped} skipped, {result.errors_total} not imported ({verb} saved through record "
        f"{result.committed_through if not result.dry_run else 0})"
    )
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    if result.unmapped_columns:
        print("columns not imported: " + ", ".join(result.unmapped_columns), file=sys.stderr)
    for issue in result.errors[:MAX_ERRORS_SHOWN]:
        print(f"record {issue.record} (line {issue.line}): {issue.reason}", file=sys.stderr)
    if result.errors_total > MAX_ERRORS_SHOWN:
        print(f"... and {result.errors_total - MAX_ERRORS_SHOWN} more errors", file=sys.stderr)
    for issue in result.warnings[:MAX_ERRORS_SHOWN]:
        print(f"warning: record {issue.record} (line {issue.line}): {issue.reason}", file=sys.stderr)
    return 1 if result.errors_total else 0


async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every contact (or those matching --query) as vCard or CSV to -o FILE or stdout."""
    fmt = "vcard" if args.format in ("vcf", "vcard") else "csv"
    state = await AppState.open(settings)
    target = Path(args.output).expanduser() if args.output else None  # noqa: ASYNC240 - a one-shot command
    partial = target.with_name(f".{target.name}.part") if target else None
    out: TextIO = partial.open("w", encoding="utf-8", newline="") if partial else sys.stdout
    try:
        scope = Scope(
            workspace_id=args.workspace or state.local_workspace_id, settings=settings, clock=state.clock
        )

        async def sink(text: str) -> None:
            out.write(text)

        async with state.db.transaction(workspace_id=scope.workspace_id, write=False) as session:
            selection = await select_contacts(session, scope, contact_ids=None, query=args.query)
            total = await count_selected(session, selection)
            with ProgressReporter("exporting", "contacts") as bar:
                count, size = await write_export(
                    session,
                    selection,
                    format=fmt,
                    sink=sink,
                    version=args.vcard_version,
                    bom=args.bom,
                    total=total,
                    progress=bar.update,
                )
        out.flush()
    except BaseException:
        if partial is not None:
            out.close()
            partial.unlink(missing_ok=True)
        raise
    finally:
        await state.close()
    if partial is not None and target is not None:
        out.close()
        os.replace(partial, target)
    where = str(target) if target else "stdout"
    print(f"exported {count} contacts to {where} ({size} bytes)", file=sys.stderr)
    return 0
