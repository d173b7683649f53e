"""Workspaces and seats: create them, add and remove users, check passwords (argon2).

These run in sessions opened with ``all_workspaces=True`` (the administrator's CLI and
the sign-in page, which does not know the workspace yet): every query here names
the workspace it means, deliberately.
"""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import Clock
from lead_mcp.db.tables import (
    AuthToken,
    CalendarFeedRow,
    CardRow,
    OAuthCode,
    ScanLinkRow,
    User,
    Workspace,
    new_id,
)
from lead_mcp.domain import Role, Seat, WorkspaceInfo
from lead_mcp.errors import Conflict, InvalidInput, NotFound
from lead_mcp.services import normalize
from lead_mcp.services.workspaces import create_workspace as _create_workspace_row

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# argon2id with the library's defaults (RFC 9106 "second recommended": 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Checked against when no seat has the email, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("lead-mcp timing equaliser")


def seat_model(row: User) -> Seat:
    """The public view of a seat."""
    return Seat(
        id=row.id,
        workspace_id=row.workspace_id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        has_password=bool(row.password_hash),
        external_subject=row.external_subject,
    )


def workspace_model(row: Workspace) -> WorkspaceInfo:
    """The public view of a workspace."""
    return WorkspaceInfo.model_validate(row)


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"is {len(password)} characters; use at least {MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput("password", f"is longer than {MAX_PASSWORD} characters")


async def hash_password(password: str) -> str:
    """An argon2id hash of a password (computed off the event loop: it is slow on purpose)."""
    check_password_strength(password)
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def password_matches(password_hash: str | None, password: str) -> bool:
    """True when ``password`` is the one ``password_hash`` was made from."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


async def create_workspace(session: AsyncSession, clock: Clock, *, name: str) -> WorkspaceInfo:
    """A new workspace (tenant)."""
    clean = normalize.clean_text(name)
    if not clean:
        raise InvalidInput("name", "is empty", "Give the workspace a name, e.g. 'Acme sales'")
    if len(clean) > 200:
        raise InvalidInput("name", "is longer than 200 characters")
    workspace_id = await _create_workspace_row(session, clock, name=clean)
    return await get_workspace(session, workspace_id)


async def get_workspace(session: AsyncSession, workspace_id: str) -> WorkspaceInfo:
    """One workspace by id."""
    row = (await session.execute(select(Workspace).where(Workspace.id == workspace_id))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"workspace: no workspace {workspace_id!r}; `lead-mcp workspace list` shows them")
    return workspace_model(row)


async def list_workspaces(session: AsyncSession) -> list[tuple[WorkspaceInfo, int]]:
    """Every workspace with its number of seats."""
    seats = select(User.workspace_id, func.count().label("n")).group_by(User.workspace_id).subquery()
    rows = (
        await session.execute(
            select(Workspace, func.coalesce(seats.c.n, 0))
            .outerjoin(seats, seats.c.workspace_id == Workspace.id)
            .order_by(Workspace.created_at, Workspace.id)
        )
    ).all()
    return [(workspace_model(w), int(n)) for w, n in rows]


def _clean_email(email: str) -> str:
    return normalize.normalize_email(email, "email")


async def add_user(
    session: AsyncSession,
    clock: Clock,
    *,
    workspace_id: str,
    email: str,
    role: Role = Role.MEMBER,
    name: str | None = None,
    password: str | None = None,
    external_subject: str | None = None,
) -> Seat:
    """Add a seat to a workspace; an email has at most one seat per workspace."""
    await get_workspace(session, workspace_id)
    address = _clean_email(email)
    password_hash = await hash_password(password) if password is not None else None
    row = User(
        id=new_id(),
        workspace_id=workspace_id,
        email=address,
        name=normalize.clean_text(name),
        role=Role(role).value,
        password_hash=password_hash,
        external_subject=normalize.clean_text(external_subject),
        created_at=clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict(
            f"email: {address} already has a seat in workspace {workspace_id}"
            + (" (or that subject is bound to another seat)" if external_subject else "")
        ) from None
    return seat_model(row)


async def find_seat(session: AsyncSession, *, email: str, workspace_id: str | None = None) -> User:
    """The seat with this email (in this workspace, if given); NotFound, or InvalidInput if several match."""
    address = _clean_email(email)
    stmt = select(User).where(User.email == address)
    if workspace_id:
        stmt = stmt.where(User.workspace_id == workspace_id)
    rows = (await session.execute(stmt)).scalars().all()
    if not rows:
        where = f" in workspace {workspace_id}" if workspace_id else ""
        raise NotFound(f"user: no seat for {address}{where}; add one with `lead-mcp user add`")
    if len(rows) > 1:
        raise InvalidInput(
            "workspace",
            f"{address} has seats in {len(rows)} workspaces",
            "Pass --workspace with the id of the one you mean",
        )
    return rows[0]


async def remove_user(session: AsyncSession, *, workspace_id: str, email: str) -> Seat:
    """Remove a seat and every way in it had; the contacts it owned stay in the workspace, unowned.

    Its access, refresh and personal tokens, pending authorization codes, phone scan links and
    calendar feed are deleted (not left to foreign-key cascades, which a scan link's would not
    reach: uploads through it would keep arriving), and its card is unpublished (410; the slug
    stays reserved, so printed codes never reach someone else).
    """
    row = await find_seat(session, email=email, workspace_id=workspace_id)
    seat = seat_model(row)
    mine = {"workspace_id": row.workspace_id, "user_id": row.id}
    for table in (AuthToken, OAuthCode, ScanLinkRow, CalendarFeedRow):
        await session.execute(delete(table).filter_by(**mine).execution_options(synchronize_session=False))
    await session.execute(
        update(CardRow).filter_by(**mine).values(published=False).execution_options(synchronize_session=False)
    )
    await session.delete(row)
    await session.flush()
    return seat


async def set_password(session: AsyncSession, *, workspace_id: str, email: str, password: str) -> Seat:
    """Set or replace a seat's sign-in password."""
    row = await find_seat(session, email=email, workspace_id=workspace_id)
    row.password_hash = await hash_password(password)
    await session.flush()
    return seat_model(row)


async def list_users(session: AsyncSession, *, workspace_id: str) -> list[Seat]:
    """The seats of a workspace."""
    await get_workspace(session, workspace_id)
    rows = (
        await session.execute(
            select(User).where(User.workspace_id == workspace_id).order_by(User.created_at, User.email)
        )
    ).scalars()
    return [seat_model(r) for r in rows]


async def authenticate(session: AsyncSession, *, email: str, password: str) -> list[User]:
    """The seats whose email and password match (several when one person has seats in several workspaces)."""
    try:
        address = _clean_email(email)
    except InvalidInput:
        await password_matches(None, password)
        return []
    rows = (await session.execute(select(User).where(User.email == address))).scalars().all()
    if not rows:
        await password_matches(None, password)
        return []
    return [row for row in rows if await password_matches(row.password_hash, password)]


async def seat_by_subject(session: AsyncSession, *, subject: str) -> User | None:
    """The seat bound to an external identity provider's subject."""
    return (await session.execute(select(User).where(User.external_subject == subject))).scalar_one_or_none()


async def bind_subject(session: AsyncSession, *, subject: str, email: str) -> User | None:
    """Bind a subject to the one unbound seat with this email (first sign-in); None unless exactly one."""
    try:
        address = _clean_email(email)
    except InvalidInput:
        return None
    rows = (
        (await session.execute(select(User).where(User.email == address, User.external_subject.is_(None))))
        .scalars()
        .all()
    )
    if len(rows) != 1:
        return None
    try:
        async with session.begin_nested():
            rows[0].external_subject = subject
            await session.flush()
    except IntegrityError:  # a concurrent first request bound it
        return await seat_by_subject(session, subject=subject)
    return rows[0]
