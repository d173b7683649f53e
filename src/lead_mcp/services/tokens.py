"""Bearer tokens: OAuth access and refresh tokens, and personal access tokens for scripts.

A token is 256 random bits behind a readable prefix (``lmcp_at_``, ``lmcp_rt_``,
``lmcp_pat_``; secret scanners can spot them). Only its SHA-256 is stored, so a
copy of the database grants nothing; high-entropy secrets need no slow hash.

Refresh tokens rotate: each use marks the old one used and issues a new pair. A
used refresh token presented again means it was stolen or replayed, so the whole
grant (every token of that sign-in) is revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import Clock
from lead_mcp.db.tables import AuthToken, User, new_id
from lead_mcp.domain import ALL_SCOPES, Principal, Role, TokenInfo
from lead_mcp.errors import InvalidInput, NotFound

ACCESS_PREFIX = "lmcp_at_"
REFRESH_PREFIX = "lmcp_rt_"
PERSONAL_PREFIX = "lmcp_pat_"
MAX_TOKEN_LENGTH = 200


def new_secret(prefix: str = "") -> str:
    """A fresh unguessable secret (256 bits, URL-safe)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a secret: hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(secret: str, stored: str | None) -> bool:
    """Constant-time check of a presented secret against its stored digest."""
    return stored is not None and hmac.compare_digest(digest(secret), stored)


def check_scopes(scopes: Iterable[str], *, field: str = "scope") -> list[str]:
    """Known scopes, in canonical order; anything else is refused."""
    wanted = set(scopes)
    unknown = wanted - set(ALL_SCOPES)
    if unknown:
        raise InvalidInput(field, f"unknown scope {sorted(unknown)[0]!r}", f"Use {' or '.join(ALL_SCOPES)}")
    if not wanted:
        raise InvalidInput(
            field, "is empty", f"Give {ALL_SCOPES[0]} (reading) and/or {ALL_SCOPES[1]} (changes)"
        )
    return [s for s in ALL_SCOPES if s in wanted]


def token_info(row: AuthToken) -> TokenInfo:
    """The public record of a token."""
    return TokenInfo.model_validate(row)


@dataclass(frozen=True)
class IssuedPair:
    """A freshly issued access token and refresh token (plain text: shown once, to the client)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scopes: list[str]


async def issue_pair(
    session: AsyncSession,
    clock: Clock,
    *,
    user_id: str,
    workspace_id: str,
    client_id: str,
    grant_id: str,
    scopes: Sequence[str],
    resource: str,
    access_ttl: int,
    refresh_ttl: int,
) -> IssuedPair:
    """A new access token and refresh token for one grant."""
    now = clock.now()
    access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
    for kind, secret, ttl in (("access", access, access_ttl), ("refresh", refresh, refresh_ttl)):
        session.add(
            AuthToken(
                id=new_id(),
                token_hash=digest(secret),
                kind=kind,
                workspace_id=workspace_id,
                user_id=user_id,
                client_id=client_id,
                grant_id=grant_id,
                scopes=list(scopes),
                resource=resource,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
    await session.flush()
    return IssuedPair(access_token=access, refresh_token=refresh, expires_in=access_ttl, scopes=list(scopes))


async def create_personal_token(
    session: AsyncSession,
    clock: Clock,
    *,
    user_id: str,
    scopes: Sequence[str],
    name: str | None = None,
    expires_in_days: int | None = None,
) -> tuple[str, TokenInfo]:
    """A personal access token for scripts and local agents; returns (the token, shown once; its record)."""
    user = (await session.execute(select(User).where(User.id == user_id))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user: no seat {user_id!r}")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise InvalidInput("expires_in_days", "must be between 1 and 3650")
    now = clock.now()
    secret = new_secret(PERSONAL_PREFIX)
    row = AuthToken(
        id=new_id(),
        token_hash=digest(secret),
        kind="personal",
        workspace_id=user.workspace_id,
        user_id=user.id,
        name=(name or "").strip()[:200] or None,
        scopes=check_scopes(scopes),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    await session.flush()
    return secret, token_info(row)


async def list_personal_tokens(session: AsyncSession, *, user_id: str | None = None) -> list[TokenInfo]:
    """Personal access tokens (of one seat, or all), newest first."""
    stmt = select(AuthToken).where(AuthToken.kind == "personal")
    if user_id:
        stmt = stmt.where(AuthToken.user_id == user_id)
    rows = (await session.execute(stmt.order_by(AuthToken.created_at.desc()))).scalars()
    return [token_info(r) for r in rows]


async def revoke_by_id(session: AsyncSession, clock: Clock, *, token_id: str) -> TokenInfo:
    """Revoke a token by its public id (and, for OAuth tokens, the rest of its grant)."""
    row = (await session.execute(select(AuthToken).where(AuthToken.id == token_id))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"token: no token with id {token_id!r}; `lead-mcp token list` shows them")
    if row.grant_id:
        await revoke_grant(session, clock, grant_id=row.grant_id)
    elif row.revoked_at is None:
        row.revoked_at = clock.now()
    await session.flush()
    await session.refresh(row)
    return token_info(row)


async def revoke_grant(session: AsyncSession, clock: Clock, *, grant_id: str) -> None:
    """Revoke every token of one sign-in (access and refresh)."""
    await session.execute(
        update(AuthToken)
        .where(AuthToken.grant_id == grant_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def _live(now: datetime) -> list[ColumnElement[bool]]:
    return [AuthToken.revoked_at.is_(None), or_(AuthToken.expires_at.is_(None), AuthToken.expires_at > now)]


async def verify_bearer(session: AsyncSession, clock: Clock, token: str) -> Principal | None:
    """The seat an access or personal token speaks for; None if it is unknown, expired or revoked."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.startswith((ACCESS_PREFIX, PERSONAL_PREFIX)):
        return None
    found = (
        await session.execute(
            select(AuthToken, User)
            .join(User, User.id == AuthToken.user_id)
            .where(
                AuthToken.token_hash == digest(token),
                AuthToken.kind.in_(("access", "personal")),
                *_live(clock.now()),
            )
        )
    ).first()
    if found is None:
        return None
    row, user = found
    return Principal(
        user_id=user.id,
        workspace_id=row.workspace_id,
        email=user.email,
        role=Role(user.role),
        scopes=list(row.scopes),
        token_id=row.id,
        kind=row.kind,
        client_id=row.client_id,
        expires_at=row.expires_at,
        resource=row.resource,
    )


@dataclass(frozen=True)
class RefreshGrant:
    """A refresh token that may be exchanged, with what it grants."""

    token_id: str
    user_id: str
    workspace_id: str
    client_id: str
    grant_id: str
    scopes: list[str]
    resource: str
    expires_at: datetime | None


async def load_refresh(
    session: AsyncSession, clock: Clock, *, client_id: str, token: str
) -> RefreshGrant | None:
    """A live, unused refresh token of this client; a replayed one revokes its whole grant."""
    if not token.startswith(REFRESH_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = (
        await session.execute(
            select(AuthToken).where(AuthToken.token_hash == digest(token), AuthToken.kind == "refresh")
        )
    ).scalar_one_or_none()
    if row is None or row.client_id != client_id:
        return None
    now = clock.now()
    if row.used_at is not None and row.grant_id:
        await revoke_grant(session, clock, grant_id=row.grant_id)
        return None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    assert row.grant_id is not None and row.resource is not None and row.client_id is not None
    return RefreshGrant(
        token_id=row.id,
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        client_id=row.client_id,
        grant_id=row.grant_id,
        scopes=list(row.scopes),
        resource=row.resource,
        expires_at=row.expires_at,
    )


async def rotate_refresh(
    session: AsyncSession,
    clock: Clock,
    *,
    grant: RefreshGrant,
    scopes: Sequence[str],
    access_ttl: int,
    refresh_ttl: int,
) -> IssuedPair | None:
    """Use a refresh token once: mark it used and issue a new pair; None if another request used it first."""
    now = clock.now()
    claimed = await session.execute(
        update(AuthToken)
        .where(AuthToken.id == grant.token_id, AuthToken.used_at.is_(None), AuthToken.revoked_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_grant(session, clock, grant_id=grant.grant_id)
        return None
    return await issue_pair(
        session,
        clock,
        user_id=grant.user_id,
        workspace_id=grant.workspace_id,
        client_id=grant.client_id,
        grant_id=grant.grant_id,
        scopes=scopes,
        resource=grant.resource,
        access_ttl=access_ttl,
        refresh_ttl=refresh_ttl,
    )


async def find_token(session: AsyncSession, token: str) -> AuthToken | None:
    """The stored record of a presented token (any kind), for revocation."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    return (
        await session.execute(select(AuthToken).where(AuthToken.token_hash == digest(token)))
    ).scalar_one_or_none()
