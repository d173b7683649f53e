"""Backups of the embedded SQLite store, and restores, safe while servers run.

``backup`` uses SQLite's online backup API in a single step: it copies every
page under one read transaction, so the copy is a consistent snapshot even
while a server keeps writing (WAL readers never block the writer). The copy is
written beside the target, checked (``PRAGMA integrity_check``, lead-mcp's
tables, a known schema revision), switched to a self-contained rollback
journal, synced and only then renamed into place.

``restore`` checks the file the same way, refuses a file from a newer
lead-mcp, and refuses to overwrite a store a running lead-mcp has open (every
server holds a shared lock on ``<store>.lock`` while it runs) unless forced. It
copies with the same backup API into the store, so even a forced restore under
running servers goes through SQLite's locking, keeps the current store as
``<store>.before-restore-<time>`` first, and migrates the result to this
version's schema.

PostgreSQL stores are backed up with ``pg_dump`` (:func:`pg_dump_advice`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from lead_mcp.db.migrate import alembic_config
from lead_mcp.errors import Conflict, InvalidInput, SetupError

REQUIRED_TABLES = frozenset({"alembic_version", "workspaces", "contacts", "contact_keys", "followups"})
BUSY_TIMEOUT_MS = 30_000

try:  # POSIX advisory locks; elsewhere the running-store check is skipped
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class StoreInfo:
    """What a store file holds."""

    path: Path
    revision: str
    contacts: int
    bytes: int


def sqlite_path(url: str) -> Path:
    """The file of a SQLite store URL; a PostgreSQL URL gets the pg_dump advice instead."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise SetupError(pg_dump_advice(url))
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise InvalidInput(
            "LEAD_MCP_DATABASE_URL", "is not a SQLite file", "Point it at the store's .db file"
        )
    return Path(database)


def pg_dump_advice(url: str) -> str:
    """How to back up and restore a PostgreSQL store (password left out)."""
    parsed = make_url(url)
    user = f"{parsed.username}@" if parsed.username else ""
    port = f":{parsed.port}" if parsed.port else ""
    target = f"postgresql://{user}{parsed.host or 'localhost'}{port}/{parsed.database or ''}"
    return (
        "this store is PostgreSQL: back it up with pg_dump, e.g.\n"
        f"  pg_dump --format=custom --file=lead-mcp.dump '{target}'\n"
        "and restore into an empty database with\n"
        f"  pg_restore --clean --if-exists --no-owner --dbname='{target}' lead-mcp.dump\n"
        "(give the password through PGPASSWORD or ~/.pgpass; pg_dump takes a consistent snapshot while "
        "servers keep running)"
    )


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def known_revisions() -> set[str]:
    """Every schema revision this version of lead-mcp can open (and migrate to head)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {script.revision for script in scripts.walk_revisions()}


def inspect_store(path: Path, *, what: str = "FILE") -> StoreInfo:
    """Check that ``path`` is a whole lead-mcp store at a known revision; raise naming the problem."""
    if not path.is_file():
        raise InvalidInput(what, f"{path} does not exist", "Give the path of a lead-mcp backup")
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise InvalidInput(
                what, f"{path} is not a SQLite database", "Give a file made by `lead-mcp db backup`"
            )
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = REQUIRED_TABLES - tables
        if missing:
            raise InvalidInput(
                what,
                f"{path} is a SQLite database but not a lead-mcp store (no {', '.join(sorted(missing))})",
                "Give a file made by `lead-mcp db backup`",
            )
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            raise InvalidInput(what, f"{path} is damaged ({integrity})", "Use another backup")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else ""
        if revision not in known_revisions():
            raise InvalidInput(
                what,
                f"{path} is at schema revision {revision or '(none)'}, which this lead-mcp does not know "
                "(made by a newer version?)",
                "Restore it with the lead-mcp version that made it, or upgrade lead-mcp",
            )
        contacts = int(conn.execute("SELECT count(*) FROM contacts").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(what, f"{path} cannot be read as a lead-mcp store ({exc})", None) from None
    finally:
        conn.close()
    return StoreInfo(path=path, revision=revision, contacts=contacts, bytes=path.stat().st_size)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup(url: str, target: Path) -> StoreInfo:
    """Copy the running store at ``url`` to ``target`` (a consistent snapshot; see the module doc)."""
    source = sqlite_path(url)
    inspect_store(source, what="LEAD_MCP_DATABASE_URL")
    target = target.expanduser().resolve()
    if target == source.resolve():
        raise InvalidInput("FILE", "is the store itself", "Give another path for the backup")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = _connect(source)
    dst = sqlite3.connect(partial, isolation_level=None)
    try:
        src.backup(dst)  # pages=-1: one step under one read transaction, i.e. one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())
    info = inspect_store(partial)
    os.replace(partial, target)
    _fsync_dir(target.parent)
    return StoreInfo(path=target, revision=info.revision, contacts=info.contacts, bytes=info.bytes)


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of any SQLite file (the current store before a restore replaces it)."""
    src = _connect(source)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def lock_path(store: Path) -> Path:
    """The file a running server holds a shared lock on."""
    return store.with_name(store.name + ".lock")


@contextlib.contextmanager
def running_lock(url: str) -> Iterator[None]:
    """Held by a running server: tells ``restore`` the store is in use (released even on kill -9)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or fcntl is None or not parsed.database:
        yield
        return
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        yield
        return
    path = lock_path(Path(parsed.database))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        yield
    finally:
        handle.close()  # closing drops the lock


def store_in_use(store: Path) -> bool:
    """True when a running lead-mcp holds the store's lock."""
    if fcntl is None:  # pragma: no cover - Windows: cannot tell
        return False
    path = lock_path(store)
    if not path.exists():
        return False
    with path.open("ab") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


def restore(url: str, source: Path, *, force: bool = False) -> tuple[StoreInfo, Path | None]:
    """Replace the store at ``url`` with the backup ``source``; returns it and where the old store went."""
    target = sqlite_path(url)
    source = source.expanduser().resolve()
    info = inspect_store(source)
    if source == target.resolve():
        raise InvalidInput("FILE", "is the store itself", "Give the path of a backup")
    if store_in_use(target) and not force:
        raise Conflict(
            f"the store {target} is open in a running lead-mcp; stop it (or every one of them) and run the "
            "restore again, or pass --force to restore under it (it then serves the restored data)"
        )
    kept = None
    if target.exists() and target.stat().st_size:
        kept = target.with_name(f"{target.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
        _copy(target, kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = _connect(target)
    try:
        src.backup(dst)  # through SQLite's locks: running readers see the old or the new store, never half
    finally:
        dst.close()
        src.close()
    return info, kept
