"""The built-in OAuth 2.1 authorization server's records: clients, pending authorizations, one-time codes.

Everything lives in the database, so any replica can take any step of a sign-in:
one answers ``/authorize``, another shows the sign-in page, a third redeems the
code. Codes are stored hashed, live five minutes, and work once; presenting a
used code again revokes every token issued from it (OAuth 2.1 §4.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import Clock
from lead_mcp.db.tables import AuthToken, OAuthClient, OAuthCode, OAuthRequest, User, new_id
from lead_mcp.services import tokens
from lead_mcp.services.ratelimit import purge as purge_rate_limits

PENDING_TTL = timedelta(minutes=15)
CODE_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class StoredClient:
    """A client as stored: its registered metadata, how it is known, and its secret's digest."""

    client_id: str
    kind: str
    info: dict[str, Any]
    secret_hash: str | None
    fetched_at: datetime | None


def _stored(row: OAuthClient) -> StoredClient:
    return StoredClient(
        client_id=row.client_id,
        kind=row.kind,
        info=dict(row.info),
        secret_hash=row.secret_hash,
        fetched_at=row.fetched_at,
    )


async def get_client(session: AsyncSession, client_id: str) -> StoredClient | None:
    """A known client, or None."""
    if not client_id or len(client_id) > 500:
        return None
    row = (
        await session.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))
    ).scalar_one_or_none()
    return None if row is None else _stored(row)


async def save_client(
    session: AsyncSession,
    clock: Clock,
    *,
    client_id: str,
    kind: str,
    info: dict[str, Any],
    secret_hash: str | None = None,
    fetched: bool = False,
) -> StoredClient:
    """Register a client, or refresh a metadata-document client's copy of its document."""
    now = clock.now()
    row = (
        await session.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))
    ).scalar_one_or_none()
    if row is None:
        row = OAuthClient(client_id=client_id, kind=kind, info=info, secret_hash=secret_hash, created_at=now)
        session.add(row)
    else:
        row.info = info
        row.secret_hash = secret_hash
    if fetched:
        row.fetched_at = now
    await session.flush()
    return _stored(row)


@dataclass(frozen=True)
class PendingAuthorization:
    """An authorization request waiting at the sign-in page."""

    id: str
    client_id: str
    params: dict[str, Any]
    csrf_hash: str | None
    expires_at: datetime


async def start_authorization(
    session: AsyncSession, clock: Clock, *, client_id: str, params: dict[str, Any]
) -> str:
    """Remember a checked authorization request until the user signs in; returns its id."""
    await purge_expired(session, clock)
    now = clock.now()
    request_id = tokens.new_secret()
    session.add(
        OAuthRequest(
            id=request_id, client_id=client_id, params=params, created_at=now, expires_at=now + PENDING_TTL
        )
    )
    await session.flush()
    return request_id


async def load_authorization(
    session: AsyncSession, clock: Clock, request_id: str
) -> PendingAuthorization | None:
    """A pending authorization that has not expired."""
    if not request_id or len(request_id) > 64:
        return None
    row = (
        await session.execute(
            select(OAuthRequest).where(OAuthRequest.id == request_id, OAuthRequest.expires_at > clock.now())
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return PendingAuthorization(
        id=row.id,
        client_id=row.client_id,
        params=dict(row.params),
        csrf_hash=row.csrf_hash,
        expires_at=row.expires_at,
    )


async def set_csrf(session: AsyncSession, *, request_id: str, csrf_hash: str) -> None:
    """Bind the sign-in form's anti-forgery token to the pending authorization."""
    await session.execute(
        update(OAuthRequest).where(OAuthRequest.id == request_id).values(csrf_hash=csrf_hash)
    )


async def end_authorization(session: AsyncSession, *, request_id: str) -> bool:
    """Forget a pending authorization; False if another request already finished it."""
    result = await session.execute(delete(OAuthRequest).where(OAuthRequest.id == request_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def issue_code(
    session: AsyncSession,
    clock: Clock,
    *,
    pending: PendingAuthorization,
    user: User,
    scopes: list[str],
) -> str:
    """A one-time authorization code for a signed-in, consenting user (the pending request is used up)."""
    now = clock.now()
    code = tokens.new_secret()
    params = pending.params
    session.add(
        OAuthCode(
            code_hash=tokens.digest(code),
            workspace_id=user.workspace_id,
            user_id=user.id,
            client_id=pending.client_id,
            grant_id=new_id(),
            scopes=scopes,
            code_challenge=params["code_challenge"],
            redirect_uri=params["redirect_uri"],
            redirect_uri_explicit=bool(params.get("redirect_uri_provided_explicitly", True)),
            resource=params["resource"],
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    await session.flush()
    return code


@dataclass(frozen=True)
class CodeGrant:
    """An unused authorization code and what it grants."""

    code_hash: str
    client_id: str
    user_id: str
    workspace_id: str
    grant_id: str
    scopes: list[str]
    code_challenge: str
    redirect_uri: str
    redirect_uri_explicit: bool
    resource: str
    expires_at: datetime


async def load_code(session: AsyncSession, clock: Clock, *, client_id: str, code: str) -> CodeGrant | None:
    """An unused code of this client. A used one presented again revokes the tokens it produced."""
    if not code or len(code) > 200:
        return None
    row = (
        await session.execute(select(OAuthCode).where(OAuthCode.code_hash == tokens.digest(code)))
    ).scalar_one_or_none()
    if row is None or row.client_id != client_id:
        return None
    if row.used_at is not None:
        await tokens.revoke_grant(session, clock, grant_id=row.grant_id)
        return None
    return CodeGrant(
        code_hash=row.code_hash,
        client_id=row.client_id,
        user_id=row.user_id,
        workspace_id=row.workspace_id,
        grant_id=row.grant_id,
        scopes=list(row.scopes),
        code_challenge=row.code_challenge,
        redirect_uri=row.redirect_uri,
        redirect_uri_explicit=row.redirect_uri_explicit,
        resource=row.resource,
        expires_at=row.expires_at,
    )


async def redeem_code(
    session: AsyncSession, clock: Clock, *, grant: CodeGrant, access_ttl: int, refresh_ttl: int
) -> tokens.IssuedPair | None:
    """Use a code once and issue its tokens; None if a concurrent request redeemed it first."""
    claimed = await session.execute(
        update(OAuthCode)
        .where(OAuthCode.code_hash == grant.code_hash, OAuthCode.used_at.is_(None))
        .values(used_at=clock.now())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await tokens.issue_pair(
        session,
        clock,
        user_id=grant.user_id,
        workspace_id=grant.workspace_id,
        client_id=grant.client_id,
        grant_id=grant.grant_id,
        scopes=grant.scopes,
        resource=grant.resource,
        access_ttl=access_ttl,
        refresh_ttl=refresh_ttl,
    )


async def purge_expired(session: AsyncSession, clock: Clock) -> None:
    """Forget expired pending authorizations, codes (a day late, to still catch replays) and tokens."""
    now = clock.now()
    await session.execute(delete(OAuthRequest).where(OAuthRequest.expires_at <= now))
    await session.execute(delete(OAuthCode).where(OAuthCode.expires_at <= now - timedelta(days=1)))
    await session.execute(
        delete(AuthToken).where(AuthToken.kind != "personal", AuthToken.expires_at <= now - timedelta(days=1))
    )
    await purge_rate_limits(session, clock)
