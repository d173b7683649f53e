"""Prebuilt Core statements for the hot paths: search, the due list, adding a contact, logging a touch.

Profiling ``lead-mcp serve`` under the HTTP load benchmark showed SQLAlchemy's
ORM layer (compiling an ORM statement, re-deriving the statement's cache key
after the workspace option is attached, building instances, unit-of-work
flushes) costing more than the SQL itself on these paths. The statements here
are plain Core, built once per shape and executed with bound parameters on the
session's connection, so their compiled form and cache key are reused.

Because they bypass the ORM, the session's automatic workspace filter
(``engine._scope_to_workspace``) does not see them: every statement here filters
on ``workspace_id = :ws`` itself, and ``tests/db/test_queries.py``
checks that each one does. Everything else keeps using the ORM and its
automatic filter.
"""

from __future__ import annotations

import functools
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from lead_mcp.db.search import sqlite_fts
from lead_mcp.db.tables import (
    ContactChange,
    ContactKey,
    ContactRow,
    ContactTag,
    FollowUpRow,
    InteractionRow,
)

CONTACTS = cast(Table, ContactRow.__table__)
CONTACT_KEYS = cast(Table, ContactKey.__table__)
CONTACT_TAGS = cast(Table, ContactTag.__table__)
CONTACT_CHANGES = cast(Table, ContactChange.__table__)
FOLLOWUPS = cast(Table, FollowUpRow.__table__)
INTERACTIONS = cast(Table, InteractionRow.__table__)

c = CONTACTS.c
PENDING: ColumnElement[str] = literal_column(
    "'pending'"
)  # a literal: the partial index on pending rows applies

# What a contact summary shows (plus pk, the search order key).
SUMMARY = (
    c.pk,
    c.id,
    c.full_name,
    c.company,
    c.title,
    c.emails,
    c.phones,
    c.stage,
    c.source,
    c.score,
    c.next_followup_at,
)

INSERT_CONTACT = insert(CONTACTS)
INSERT_KEY = insert(CONTACT_KEYS)
INSERT_TAG = insert(CONTACT_TAGS)
INSERT_CHANGE = insert(CONTACT_CHANGES)
INSERT_FOLLOWUP = insert(FOLLOWUPS)
INSERT_INTERACTION = insert(INTERACTIONS)

# Which contact holds each de-duplication key: one shape whatever the number of keys (expanding IN).
# Both IN lists keep it on the primary key (workspace_id, kind, value): index seeks, never a scan.
KEY_OWNERS = select(CONTACT_KEYS.c.kind, CONTACT_KEYS.c.value, CONTACT_KEYS.c.contact_id).where(
    CONTACT_KEYS.c.workspace_id == bindparam("ws"),
    CONTACT_KEYS.c.kind.in_(bindparam("kinds", expanding=True)),
    CONTACT_KEYS.c.value.in_(bindparam("values", expanding=True)),
)

# The contact a touch is logged on, and the change the touch makes.
TOUCHED_CONTACT = select(*SUMMARY, c.first_response_at, c.last_touch_at).where(
    c.workspace_id == bindparam("ws"), c.id == bindparam("contact_id"), c.deleted_at.is_(None)
)
TOUCHED_CONTACT_LOCKED = TOUCHED_CONTACT.with_for_update()
APPLY_TOUCH = (
    update(CONTACTS)
    .where(c.pk == bindparam("pk_"), c.workspace_id == bindparam("ws"))
    .values(
        updated_at=bindparam("updated_at"),
        first_response_at=bindparam("first_response_at"),
        last_touch_at=bindparam("last_touch_at"),
    )
)


@functools.cache
def search_statement(
    dialect: str, *, text: bool, tag: bool, stage: bool, source: bool, after: bool
) -> Select[tuple[object, ...]]:
    """Live contacts of ``:ws`` newest first, filtered by the given parts (one statement per shape).

    Parameters: ``ws``, ``limit``, and as needed ``match`` (FTS5 MATCH string or tsquery),
    ``tag``, ``stage``, ``source``, ``after`` (the last order key of the previous page).
    """
    stmt = select(*SUMMARY).where(c.workspace_id == bindparam("ws"), c.deleted_at.is_(None))
    order: ColumnElement[int] = c.pk
    if text:
        if dialect == "sqlite":
            stmt = stmt.join(sqlite_fts, sqlite_fts.c.rowid == c.pk).where(
                literal_column("contacts_fts").op("MATCH")(bindparam("match"))
            )
            order = sqlite_fts.c.rowid
        else:
            query = func.to_tsquery(literal_column("'simple'"), bindparam("match"))
            stmt = stmt.where(literal_column("contacts.search_tsv").op("@@")(query))
    elif tag:
        order = CONTACT_TAGS.c.contact_pk
    if tag:
        stmt = stmt.join(
            CONTACT_TAGS, and_(CONTACT_TAGS.c.contact_pk == c.pk, CONTACT_TAGS.c.tag == bindparam("tag"))
        )
    if stage:
        stmt = stmt.where(c.stage == bindparam("stage"))
    if source:
        stmt = stmt.where(c.source == bindparam("source"))
    if after:
        stmt = stmt.where(order < bindparam("after"))
    return stmt.order_by(order.desc()).limit(bindparam("limit"))


@functools.cache
def due_statement(*, overdue: bool, after: bool) -> Select[tuple[object, ...]]:
    """Pending follow-ups of ``:ws`` due before ``:upper`` with their contacts, in due-list order.

    Parameters: ``ws``, ``upper``, ``limit``; ``lower`` without overdue ones; ``d``, ``s``, ``i``
    (due time, score and id of the previous page's last item) after a cursor.
    """
    f = FOLLOWUPS.c
    stmt = (
        select(
            f.id.label("followup_id"),
            f.due_at,
            f.step,
            f.note,
            *SUMMARY,
            c.last_touch_at,
            c.met_at,
            c.workspace_id.label("contact_workspace_id"),
        )
        .select_from(FOLLOWUPS.join(CONTACTS, c.id == f.contact_id))
        .where(
            f.workspace_id == bindparam("ws"),
            # The contact's workspace is checked by the caller (contact_workspace_id), not here: with a
            # `contacts.workspace_id = :ws` condition and young statistics PostgreSQL chose a nested
            # loop over every contact of the workspace per follow-up (800 ms at 3,000 contacts)
            # instead of looking each contact up by its id.
            f.status == PENDING,
            f.due_at < bindparam("upper"),
            c.deleted_at.is_(None),
        )
    )
    if not overdue:
        stmt = stmt.where(f.due_at >= bindparam("lower"))
    if after:
        stmt = stmt.where(
            or_(
                f.due_at > bindparam("d"),
                and_(
                    f.due_at == bindparam("d"),
                    or_(c.score < bindparam("s"), and_(c.score == bindparam("s"), f.id > bindparam("i"))),
                ),
            )
        )
    return stmt.order_by(f.due_at, c.score.desc(), f.id).limit(bindparam("limit"))
