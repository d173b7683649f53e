"""A large import's records parsed in a child process, so parsing and storing use two cores.

Parsing a record (CSV mapping, phone and email normalization, keys, initial
score) is pure Python, about 70 us; storing it is about as much again (its
search text is folded there, for the records inserted only).
In a thread beside the event loop the two share one interpreter lock, so an
import takes their sum. For a large file (``PROCESS_MIN_BYTES``) the same parser
runs in a child process instead, one batch ahead of the store at most (the pipe
is the only buffer, so memory stays bounded), and sends each batch as plain
tuples (a dataclass or pydantic model costs ten times more to unpickle than the
values it holds). The parent rebuilds the ``Item``\\ s the thread would have
produced, all but the parsed ``ContactCreate`` (storing uses the prepared fields
only), so everything after parsing is unchanged.

The child is a spawned daemon: it shares no threads, event loop or database
connection with the server, and it stops when the parent closes the pipe (the
import ended or failed) or dies (its next send fails), or is terminated when
the parent's iterator is closed.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lead_mcp.config import Settings
from lead_mcp.db.tables import CustomFieldRow
from lead_mcp.errors import LeadError
from lead_mcp.services.contacts import Prepared
from lead_mcp.services.exchange.sources import ImportSource
from lead_mcp.services.exchange.tabular import Decoding
from lead_mcp.services.scope import Scope

if TYPE_CHECKING:
    from lead_mcp.services.exchange.imports import Item, Plan

# Below this a file parses in well under a second, less than starting a child costs.
PROCESS_MIN_BYTES = 2 * 1024 * 1024
_PREPARED_FIELDS = tuple(f.name for f in fields(Prepared))


@dataclass(frozen=True)
class ParseJob:
    """What the child needs to parse the same records the parent would (all picklable)."""

    label: str
    size: int
    path: str | None
    content: bytes | None
    settings: Settings
    workspace_id: str
    clock: Any
    format: str
    fields: tuple[tuple[str, str, str, Any], ...]  # custom fields: key, label, type, choices
    batch_size: int


class ChildFailed(LeadError):
    """The parsing child stopped without finishing (its reason, or that it died)."""


def _pack(item: Item) -> tuple[Any, ...]:
    """One record as plain values, with its prepared fields and not its parsed model (storing never
    needs that: a record that cannot be stored in bulk goes through ``add_prepared``)."""
    prepared = item.prepared
    fatal = item.fatal
    why = None
    if fatal is not None:
        why = str(fatal) if isinstance(fatal, LeadError) else f"{type(fatal).__name__}: {str(fatal)[:200]}"
    return (
        item.number,
        item.line,
        None if prepared is None else tuple(getattr(prepared, name) for name in _PREPARED_FIELDS),
        item.error,
        item.warnings,
        item.keys,
        item.offset,
        item.score,
        why,
    )


def _unpack(values: tuple[Any, ...], item: type[Item]) -> Item:
    number, line, prepared, error, warnings, keys, offset, score, why = values
    return item(
        number=number,
        line=line,
        prepared=None if prepared is None else Prepared(*prepared),
        error=error,
        warnings=warnings,
        keys=keys,
        offset=offset,
        score=score,
        fatal=None if why is None else LeadError(why),
    )


def _child(conn: Connection, job: ParseJob) -> None:
    """The child's work: parse the whole source, sending each batch, then what the file said overall."""
    from lead_mcp.services.exchange.imports import _batches, _guarded, plan

    try:
        source = ImportSource(
            label=job.label,
            size=job.size,
            path=None if job.path is None else Path(job.path),
            content=job.content,
        )
        scope = Scope(workspace_id=job.workspace_id, settings=job.settings, clock=job.clock)
        custom = {
            key: CustomFieldRow(key=key, label=label, type=kind, choices=choices)
            for key, label, kind, choices in job.fields
        }
        the_plan = plan(source, scope, job.format, custom)
        for batch in _batches(_guarded(the_plan.items), job.batch_size):
            conn.send_bytes(
                pickle.dumps(("batch", [_pack(i) for i in batch]), protocol=pickle.HIGHEST_PROTOCOL)
            )
        conn.send(("end", the_plan.unmapped, the_plan.decoding))
    except (BrokenPipeError, EOFError, ConnectionResetError):
        return  # the parent is gone or stopped listening
    except Exception as exc:  # reported to the parent, which says what was saved
        try:
            conn.send(("failed", f"{type(exc).__name__}: {str(exc)[:200]}"))
        except OSError:
            return
    finally:
        conn.close()


def child_batches(job: ParseJob, the_plan: Plan) -> Iterator[list[Item]]:
    """The batches a child parses, as the parent's Items; fills ``the_plan``'s end-of-file facts.

    Blocking (each ``next`` waits for the child): the import calls it from a worker thread.
    """
    from lead_mcp.services.exchange.imports import Item

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(theirs, job), name="lead-mcp-import-parser", daemon=True)
    process.start()
    theirs.close()
    try:
        while True:
            try:
                message = pickle.loads(ours.recv_bytes())  # noqa: S301  (our own child, over a private pipe)
            except EOFError:
                process.join(timeout=5)
                raise ChildFailed(
                    f"the parser process ended unexpectedly (exit code {process.exitcode})"
                ) from None
            kind = message[0]
            if kind == "batch":
                yield [_unpack(values, Item) for values in message[1]]
            elif kind == "end":
                the_plan.unmapped = message[1]
                decoding: Decoding | None = message[2]
                the_plan.decoding = decoding
                return
            else:
                raise ChildFailed(message[1])
    finally:
        ours.close()
        process.join(timeout=1)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


def job_for(
    source: ImportSource,
    scope: Scope,
    requested_format: str,
    custom: dict[str, CustomFieldRow],
    batch_size: int,
) -> ParseJob:
    """The child's job for this import."""
    return ParseJob(
        label=source.label,
        size=source.size,
        path=None if source.path is None else str(source.path),
        content=source.content,
        settings=scope.settings,
        workspace_id=scope.workspace_id,
        clock=scope.clock,
        format=requested_format,
        fields=tuple((key, row.label, row.type, row.choices) for key, row in custom.items()),
        batch_size=batch_size,
    )
