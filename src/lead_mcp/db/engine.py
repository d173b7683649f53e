"""The engine, its SQLite pragmas, and the one-transaction-per-operation scope.

SQLite settings, chosen for a CRM that must not lose an acknowledged lead:
WAL (readers never block the writer), ``synchronous=FULL`` (a commit is on disk
before it is acknowledged, even across power loss), ``busy_timeout`` (writers
queue instead of failing), foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` so two writers never deadlock on a lock upgrade, which is
what turns into "database is locked" under load.

Every session is opened for one workspace (``transaction(workspace_id=...)``)
or, for the administrator's and the public pages' lookups, explicitly for all of
them (``transaction(all_workspaces=True)``). In a workspace's session a listener
adds ``workspace_id = :ws`` to every ORM select, update and delete of a
workspace-scoped table, so isolation lives in this one place rather than in a
``WHERE`` each query must remember.

The guard below makes that fail closed. Every statement a session runs (ORM,
Core or ``text()``, through ``session.execute`` or the session's connection) is
checked before it reaches the database: one that reads or changes a
workspace-scoped table must either carry the automatic filter for the session's
workspace or name it itself (``<table>.workspace_id = :ws`` bound to that
workspace; joins off a filtered table are trusted, since rows only reference
rows of their own workspace), and an insert into such a table must write the
session's workspace. Anything else raises :class:`UnscopedStatement` (a bug,
never a user error). A statement that means to look across workspaces says so
with ``execution_options(across_workspaces=True)`` (the card slug registry is
the one such case); ``execution_options(all_workspaces=True)`` only drops the
automatic filter, for statements that carry their own. A session opened
without either kind of scope may not touch a workspace-scoped table at all.
Flushes are checked object by object instead: every new, changed or deleted
row must belong to the session's workspace.
"""

from __future__ import annotations

import functools
import logging
import re
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement, ColumnClause, TextClause
from sqlalchemy.sql.selectable import Alias, TableClause

from lead_mcp.db import aggregates as _aggregates  # noqa: F401  (registers the pipeline counters' listeners)
from lead_mcp.db.group_commit import GroupCommitter
from lead_mcp.db.sqlite_inline import inline_url
from lead_mcp.db.tables import Base, WorkspaceScoped

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "lead_mcp_write"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine with the settings above; creates the SQLite file's folder."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            inline_url(url),
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # Every transaction scope ends in COMMIT or ROLLBACK itself; the pool's extra
            # "reset" rollback on check-in cost more than the statements of a small read.
            pool_reset_on_return=None,
        )
        _install_sqlite_hooks(engine)
    else:
        engine = create_async_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )
    install_guard(engine)
    return engine


def create_engine_unpooled(url: str) -> AsyncEngine:
    """An engine without a pool (migrations, one-shot CLI commands)."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:  # the first `db upgrade` on a new machine creates the data folder too
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(inline_url(url), poolclass=NullPool)
    if url.startswith("sqlite"):
        _install_sqlite_hooks(engine)
    install_guard(engine)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN into our own hands (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA cache_size=-65536",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: exec_driver_sql's execution context cost more than the BEGIN itself.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        finally:
            cursor.close()


WORKSPACE_KEY = "workspace_id"
ALL_WORKSPACES_KEY = "all_workspaces"
# Statement option: drop the automatic filter; the statement names the workspace itself (checked).
OWN_FILTER_OPTION = "all_workspaces"
# Statement option: a deliberate look across workspaces (e.g. slug uniqueness); not checked.
ACROSS_WORKSPACES_OPTION = "across_workspaces"
_FLUSHING_KEY = "lead_mcp_flushing"
_CONNECTIONS_KEY = "lead_mcp_connections"


class UnscopedStatement(RuntimeError):
    """A statement would read or write workspace rows without the session's workspace: a bug."""


@event.listens_for(Session, "do_orm_execute")
def _scope_to_workspace(state: ORMExecuteState) -> None:
    workspace_id = state.session.info.get(WORKSPACE_KEY)
    if workspace_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    options = state.execution_options
    if options.get(OWN_FILTER_OPTION, False) or options.get(ACROSS_WORKSPACES_OPTION, False):
        return
    state.statement = state.statement.options(_workspace_criteria(workspace_id))


@functools.lru_cache(maxsize=1024)
def _workspace_criteria(workspace_id: str) -> Any:
    """The workspace filter, built once per workspace: analysing its lambda cost ~0.2 ms per statement."""
    return with_loader_criteria(
        WorkspaceScoped,
        lambda cls: cls.workspace_id == workspace_id,
        include_aliases=True,
    )


# --- the guard ---------------------------------------------------------------------------------

SCOPED_TABLES: frozenset[str] = frozenset(
    table.name for table in Base.metadata.tables.values() if "workspace_id" in table.c
)
_TEXT_TABLES = re.compile(r"\b(" + "|".join(sorted(SCOPED_TABLES)) + r")\b", re.IGNORECASE)
_TEXT_FILTER = re.compile(r"\bworkspace_id\s*=\s*:(\w+)", re.IGNORECASE)
_TEXT_ROW_VERBS = ("select", "with", "update", "delete", "insert", "replace", "merge")

# Sessions by the connections they run on (the guard sees connections, the scope lives on sessions).
_SESSION_OF: weakref.WeakKeyDictionary[Connection, dict[str, Any]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Shape:
    """What a statement of one shape touches (cached by its SQL cache key: computed once per shape)."""

    orm_tables: frozenset[str] = frozenset()  # scoped tables reached through mapped classes
    core_tables: frozenset[str] = frozenset()  # scoped tables reached as plain Core or text
    filters: tuple[int, ...] = ()  # positions in the cache key's binds of `<scoped>.workspace_id = :x`
    filter_names: tuple[str, ...] = ()  # text(): parameter names of `workspace_id = :name`
    insert_table: str | None = None  # the scoped table an INSERT writes to
    inserts_selected: bool = False  # INSERT ... SELECT: the select must carry the filter
    # A multi-row driver-SQL insert (db/bulk.py): the positions of each row's workspace_id among
    # its positional parameters.
    row_workspaces: tuple[int, ...] = ()

    @property
    def touches_rows(self) -> bool:
        return bool(self.orm_tables or self.core_tables or self.insert_table)


_NOTHING = _Shape()
_SHAPES: dict[Any, _Shape] = {}
_MAX_SHAPES = 4096


def _base_table(from_: Any) -> TableClause | None:
    while isinstance(from_, Alias):
        from_ = from_.element
    return from_ if isinstance(from_, TableClause) else None


def _scoped_name(from_: Any) -> str | None:
    table = _base_table(from_)
    return table.name if table is not None and table.name in SCOPED_TABLES else None


def _is_workspace_column(element: Any) -> bool:
    return (
        isinstance(element, ColumnClause)
        and element.name == "workspace_id"
        and _scoped_name(element.table) is not None
    )


# The one shape of raw multi-row insert the guard checks by its parameters (db/bulk.py writes it).
_ROW_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \((.+?)\)(?: RETURNING [\w, ]+)?", re.S)
_PLACEHOLDER = re.compile(r"\?|\$([1-9][0-9]*)")


def _row_insert_shape(sql: str) -> _Shape | None:
    """The shape of ``INSERT INTO t (cols) VALUES (?, ...), (...) [RETURNING cols]``, else None.

    Every value must be a bare placeholder (qmark ``?`` or numeric ``$n``), so each row's
    workspace_id is one known positional parameter, which the check compares with the session's.
    A scoped table's insert that does not name workspace_id gets no positions: it is refused.
    """
    match = _ROW_INSERT.fullmatch(sql)
    if match is None or match[1].lower() not in SCOPED_TABLES:
        return None
    columns = [c.strip() for c in match[2].split(",")]
    where = columns.index("workspace_id") if "workspace_id" in columns else None
    positions: list[int] = []
    counter = 0
    for group in match[3].split("), ("):
        values = group.split(", ")
        if len(values) != len(columns):
            return None
        for index, value in enumerate(values):
            placeholder = _PLACEHOLDER.fullmatch(value)
            if placeholder is None:
                return None
            position = int(placeholder[1]) - 1 if placeholder[1] else counter
            counter += 1
            if index == where:
                positions.append(position)
    return _Shape(insert_table=match[1].lower(), row_workspaces=tuple(positions))


def _text_shape(sql: str) -> _Shape:
    rows = _row_insert_shape(sql)
    if rows is not None:
        return rows
    tables = frozenset(m.lower() for m in _TEXT_TABLES.findall(sql))
    if not tables or not sql.lstrip().lower().startswith(_TEXT_ROW_VERBS):
        return _NOTHING  # DDL, ANALYZE, PRAGMA, savepoints: no rows of anyone's reach the caller
    return _Shape(core_tables=tables, filter_names=tuple(_TEXT_FILTER.findall(sql)))


@functools.lru_cache(maxsize=256)
def _driver_sql_shape(sql: str) -> _Shape:
    return _text_shape(sql)


def _analyse(statement: Any) -> tuple[_Shape, list[BindParameter[Any]]]:
    """Walk a statement once: the scoped tables it reaches, and the binds of its workspace filters."""
    orm: set[str] = set()
    core: set[str] = set()
    tables: list[TableClause] = []
    orm_aliased: set[str] = set()
    mapped: set[int] = set()  # tables (and aliases) reached through a mapped class's attributes
    binds: list[BindParameter[Any]] = []
    names: list[str] = []
    for element in visitors.iterate(statement):
        if isinstance(element, Alias):
            mapped.add(id(element.element))
        elif isinstance(element, TableClause):
            tables.append(element)
        elif isinstance(element, ColumnClause):
            name = _scoped_name(element.table)
            if name is None:
                pass
            elif "parententity" in element._annotations:
                (orm if isinstance(element.table, TableClause) else orm_aliased).add(name)
                mapped.add(id(element.table))
            else:
                core.add(name)
        elif isinstance(element, BinaryExpression) and element.operator is operators.eq:
            for column, other in ((element.left, element.right), (element.right, element.left)):
                if _is_workspace_column(column) and isinstance(other, BindParameter):
                    binds.append(other)
        elif isinstance(element, TextClause):
            shape = _text_shape(element.text)
            core |= shape.core_tables
            if shape.insert_table is not None:
                # A multi-row insert's positional parameters are checked only as driver SQL; inside
                # a text() clause it is a plain text statement, which must name the workspace.
                core.add(shape.insert_table)
            names += shape.filter_names
    for table in tables:
        # A mapped attribute's column (and an aliased class's alias) holds its table unannotated;
        # the attribute already said what it is.
        if table.name in SCOPED_TABLES and id(table) not in mapped:
            (orm if "parententity" in table._annotations else core).add(table.name)
    # A plain column of a table the statement also reaches as a mapped class (session.get's
    # primary-key clause, for one) names that same FROM, which the automatic filter covers.
    core -= orm
    orm |= orm_aliased
    insert_table = None
    inserts_selected = False
    if isinstance(statement, Insert):
        insert_table = _scoped_name(statement.table)
        inserts_selected = statement.select is not None
        if insert_table is not None and not inserts_selected:
            # The insert's own target is checked through its values, not a WHERE.
            core.discard(insert_table)
            orm.discard(insert_table)
    shape = _Shape(
        orm_tables=frozenset(orm),
        core_tables=frozenset(core),
        filter_names=tuple(names),
        insert_table=insert_table,
        inserts_selected=inserts_selected,
    )
    return shape, binds


def _shape_and_filters(statement: Any) -> tuple[_Shape, list[BindParameter[Any]]]:
    """The statement's shape (from the cache when its shape was seen) and its workspace-filter binds."""
    if isinstance(statement, str):
        return _driver_sql_shape(statement), []
    key = statement._generate_cache_key() if isinstance(statement, ClauseElement) else None
    if key is None:
        return _analyse(statement)
    shape = _SHAPES.get(key.key)
    if shape is None:
        shape, binds = _analyse(statement)
        ids = [id(b) for b in binds]
        positions = tuple(i for i, b in enumerate(key.bindparams) if id(b) in ids)
        if len(positions) != len(binds):
            return shape, binds  # a filter bind outside the cache key: analyse this shape every time
        shape = replace(shape, filters=positions)
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[key.key] = shape
        return shape, binds
    return shape, [key.bindparams[i] for i in shape.filters]


def _parameter_sets(multiparams: Any, params: Any) -> list[Mapping[str, Any]]:
    if multiparams:
        return [p for p in multiparams if isinstance(p, Mapping)] or [{}]
    return [params or {}]


def _filters_name(
    shape: _Shape, binds: list[BindParameter[Any]], sets: list[Mapping[str, Any]], workspace_id: str
) -> bool:
    """True when the statement filters on a workspace and every such filter names the session's one."""
    if not binds and not shape.filter_names:
        return False
    for values in sets:
        for bind in binds:
            value = values.get(bind.key, bind.effective_value)
            if value != workspace_id:
                raise UnscopedStatement(
                    f"a statement filters on workspace {value!r} in a session of workspace {workspace_id!r}"
                )
        for name in shape.filter_names:
            if values.get(name) != workspace_id:
                raise UnscopedStatement(
                    f"a text statement's :{name} is not the session's workspace {workspace_id!r}"
                )
    return True


def _inserted_workspaces(statement: Any, sets: list[Mapping[str, Any]]) -> list[Any]:
    own = getattr(statement, "_values", None) or {}
    given = None
    for column, value in own.items():
        if getattr(column, "key", column) == "workspace_id":
            given = value.effective_value if isinstance(value, BindParameter) else value
    multi = getattr(statement, "_multi_values", ())
    if multi:
        found = []
        for rows in multi:
            for row in rows:
                items = row.items() if isinstance(row, Mapping) else []
                values = [v for k, v in items if getattr(k, "key", k) == "workspace_id"]
                found += [v.effective_value if isinstance(v, BindParameter) else v for v in values] or [None]
        return found
    return [values.get("workspace_id", given) for values in sets]


def _check_row_insert(shape: _Shape, positional: Sequence[Any] | None, workspace_id: str) -> None:
    """A multi-row driver-SQL insert: each row's workspace_id parameter is the session's workspace."""
    if not shape.row_workspaces or positional is None or max(shape.row_workspaces) >= len(positional):
        raise UnscopedStatement(
            f"a multi-row insert into {shape.insert_table} does not give each row's workspace_id "
            "as a positional parameter"
        )
    for position in shape.row_workspaces:
        if positional[position] != workspace_id:
            raise UnscopedStatement(
                f"an insert into {shape.insert_table} writes workspace {positional[position]!r} "
                f"in a session of workspace {workspace_id!r}"
            )


def _check(
    info: Mapping[str, Any],
    statement: Any,
    multiparams: Any,
    params: Any,
    positional: Sequence[Any] | None = None,
) -> None:
    try:
        _check_statement(info, statement, multiparams, params, positional)
    except UnscopedStatement as exc:
        sql = " ".join(str(statement).split())
        raise UnscopedStatement(f"{exc} [{sql[:300]}]") from None


def _check_statement(
    info: Mapping[str, Any],
    statement: Any,
    multiparams: Any,
    params: Any,
    positional: Sequence[Any] | None = None,
) -> None:
    if info.get(ALL_WORKSPACES_KEY) or info.get(_FLUSHING_KEY):
        return  # flushes are checked object by object (_check_flush)
    options = getattr(statement, "_execution_options", None) or {}
    if options.get(ACROSS_WORKSPACES_OPTION, False):
        return
    shape, binds = _shape_and_filters(statement)
    if not shape.touches_rows:
        return
    workspace_id = info.get(WORKSPACE_KEY)
    named = shape.orm_tables | shape.core_tables | ({shape.insert_table} if shape.insert_table else set())
    what = ", ".join(sorted(named))
    if workspace_id is None:
        raise UnscopedStatement(
            f"a statement on {what} runs in a session opened for no workspace; open it with "
            "transaction(workspace_id=...) or, for a deliberate look at every workspace, all_workspaces=True"
        )
    if shape.row_workspaces or (shape.insert_table is not None and isinstance(statement, str)):
        _check_row_insert(shape, positional, workspace_id)
        return
    sets = _parameter_sets(multiparams, params)
    if shape.insert_table is not None and not shape.inserts_selected:
        wrong = [w for w in _inserted_workspaces(statement, sets) if w != workspace_id]
        if wrong:
            raise UnscopedStatement(
                f"an insert into {shape.insert_table} writes workspace {wrong[0]!r} "
                f"in a session of workspace {workspace_id!r}"
            )
    if not (shape.orm_tables or shape.core_tables or shape.inserts_selected):
        return
    filtered = _filters_name(shape, binds, sets, workspace_id)
    if filtered:
        return
    if shape.core_tables or shape.inserts_selected:
        raise UnscopedStatement(
            f"a Core or text statement on {what} has no `workspace_id = :ws` for the session's workspace; "
            "add the filter (or run it through the ORM, which adds it)"
        )
    criteria = _workspace_criteria(workspace_id)
    if not any(option is criteria for option in getattr(statement, "_with_options", ())):
        raise UnscopedStatement(
            f"a statement on {what} skipped the session's workspace filter and names no workspace itself"
        )


def _before_execute(conn: Connection, statement: Any, multiparams: Any, params: Any, _options: Any) -> None:
    info = _SESSION_OF.get(conn)
    if info is not None:
        _check(info, statement, multiparams, params)


def _before_cursor_execute(
    conn: Connection, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool
) -> None:
    # exec_driver_sql skips before_execute: plain SQL strings are checked here.
    if context is None or context.compiled is not None:
        return
    info = _SESSION_OF.get(conn)
    if info is not None:
        named = parameters if isinstance(parameters, Mapping) else None
        positional = (
            parameters if isinstance(parameters, Sequence) and not isinstance(parameters, str) else None
        )
        _check(info, statement, None, named, positional)


def install_guard(engine: AsyncEngine) -> None:
    """Check every statement run on this engine's connections by a session (see the module docstring)."""
    sync_engine = engine.sync_engine
    if not event.contains(sync_engine, "before_execute", _before_execute):
        event.listen(sync_engine, "before_execute", _before_execute)
        event.listen(sync_engine, "before_cursor_execute", _before_cursor_execute)


@event.listens_for(Session, "after_begin")
def _remember_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    _SESSION_OF[connection] = session.info
    session.info.setdefault(_CONNECTIONS_KEY, []).append(weakref.ref(connection))


@event.listens_for(Session, "after_transaction_end")
def _forget_connections(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    for ref in session.info.pop(_CONNECTIONS_KEY, []):
        connection = ref()
        if connection is not None and _SESSION_OF.get(connection) is session.info:
            del _SESSION_OF[connection]


@event.listens_for(Session, "before_flush")
def _check_flush(session: Session, _context: Any, _instances: Any) -> None:
    info = session.info
    if info.get(ALL_WORKSPACES_KEY):
        return
    workspace_id = info.get(WORKSPACE_KEY)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, WorkspaceScoped):
            continue
        if workspace_id is None:
            raise UnscopedStatement(f"a {type(obj).__name__} is written in a session opened for no workspace")
        if obj.workspace_id != workspace_id:
            raise UnscopedStatement(
                f"a {type(obj).__name__} of workspace {obj.workspace_id!r} is written "
                f"in a session of workspace {workspace_id!r}"
            )
    info[_FLUSHING_KEY] = True


@event.listens_for(Session, "after_flush_postexec")
def _flushed(session: Session, _context: Any) -> None:
    session.info.pop(_FLUSHING_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _flush_failed(session: Session, _transaction: Any) -> None:
    session.info.pop(_FLUSHING_KEY, None)


class Database:
    """The store of one process: an engine and transaction scopes over it."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.is_sqlite = url.startswith("sqlite")
        self._write_sessions = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: False}), expire_on_commit=False
        )
        # SQLite has one writer at a time. Inside a process, writers queue in arrival order and share
        # durable commits (see group_commit.py) instead of meeting in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms and lets a late writer overtake an early one. Across
        # processes the busy timeout still applies.
        self.writer = (
            GroupCommitter(self.engine.execution_options(**{WRITE_OPTION: True})) if self.is_sqlite else None
        )

    @asynccontextmanager
    async def transaction(
        self, *, workspace_id: str | None = None, all_workspaces: bool = False, write: bool = True
    ) -> AsyncIterator[AsyncSession]:
        """One transaction of a workspace (or explicitly all): committed at the end, rolled back on error."""
        if (workspace_id is None) == (not all_workspaces):
            raise ValueError(
                "transaction() needs exactly one of workspace_id=... (a caller's workspace) "
                "or all_workspaces=True (administration and public-page lookups)"
            )
        if write and self.writer is not None:
            async with self.writer.transaction(workspace_id) as session:
                session.info[ALL_WORKSPACES_KEY] = all_workspaces
                yield session
            return
        maker = self._write_sessions if write else self._read_sessions
        async with maker() as session:
            session.info[WORKSPACE_KEY] = workspace_id
            session.info[ALL_WORKSPACES_KEY] = all_workspaces
            async with session.begin():
                yield session

    async def ping(self) -> None:
        """Read the schema's revision (health checks): the file or database is there, readable and migrated.

        ``SELECT 1`` alone reads no page: a SQLite file overwritten or truncated under a pooled
        connection, or a PostgreSQL database without our tables, still answered it.
        """
        async with self.engine.connect() as conn:
            revision = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar()
        if not revision:
            raise RuntimeError("the database has no schema revision: run `lead-mcp db upgrade`")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self.writer is not None:
            await self.writer.close()
        await self.engine.dispose()
