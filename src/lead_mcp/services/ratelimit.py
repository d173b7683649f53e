"""Fixed-window rate limits counted in the database, so every replica behind a load balancer counts together.

A hit is one atomic upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) on
both SQLite and PostgreSQL: two replicas counting the same key at the same moment
never lose a hit. A visitor is known only by a keyed hash of their address
(:func:`client_bucket`; an IPv6 address by its /64 network), never the address itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.clock import Clock, utc
from lead_mcp.db.tables import RateLimitHit
from lead_mcp.services.records import dialect_name


def _window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(utc(now).timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)


async def hit(session: AsyncSession, clock: Clock, *, key: str, window_seconds: int) -> int:
    """Count one hit of ``key`` in the current window; returns the hits so far, this one included."""
    now = clock.now()
    start = _window_start(now, window_seconds)
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    stmt = (
        insert(RateLimitHit)
        .values(key=key[:200], window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=[RateLimitHit.key, RateLimitHit.window_start],
            set_={"count": RateLimitHit.count + 1},
        )
        .returning(RateLimitHit.count)
    )
    count = int((await session.execute(stmt)).scalar_one())
    if count == 1:
        # First hit of a new window: forget this key's older windows.
        await session.execute(
            delete(RateLimitHit).where(RateLimitHit.key == key[:200], RateLimitHit.window_start < start)
        )
    return count


async def claim(session: AsyncSession, *, key: str, issued_at: datetime, forget_before: datetime) -> int:
    """Count one use of a one-off ``key`` (a form token's nonce) issued at ``issued_at``; returns its uses.

    The row is keyed by the issue time, so it never rolls over into a fresh window: a token claimed
    once stays claimed until it has expired anyway. Claims of the same kind (the key's prefix up
    to ``:``) issued before ``forget_before`` are dropped on the way, as they can no longer be used.
    """
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    stmt = (
        insert(RateLimitHit)
        .values(key=key[:200], window_start=utc(issued_at), count=1)
        .on_conflict_do_update(
            index_elements=[RateLimitHit.key, RateLimitHit.window_start],
            set_={"count": RateLimitHit.count + 1},
        )
        .returning(RateLimitHit.count)
    )
    count = int((await session.execute(stmt)).scalar_one())
    kind = key.split(":", 1)[0] + ":"
    await session.execute(
        delete(RateLimitHit).where(
            RateLimitHit.key.startswith(kind, autoescape=True), RateLimitHit.window_start < utc(forget_before)
        )
    )
    return count


async def hits(session: AsyncSession, clock: Clock, *, key: str, window_seconds: int) -> int:
    """Hits of ``key`` in the current window, without counting a new one."""
    start = _window_start(clock.now(), window_seconds)
    found = await session.execute(
        select(RateLimitHit.count).where(RateLimitHit.key == key[:200], RateLimitHit.window_start == start)
    )
    return int(found.scalar() or 0)


async def purge(session: AsyncSession, clock: Clock, *, older_than: timedelta = timedelta(days=1)) -> None:
    """Drop windows long past (keys that stopped coming back)."""
    await session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < clock.now() - older_than))


def client_bucket(secret: str, purpose: str, address: str | None) -> str:
    """A stable, non-reversible rate-limit key for a client address (IPv6 grouped by /64)."""
    text = address or "unknown"
    try:
        ip = ipaddress.ip_address(text)
        if ip.version == 6 and ip.ipv4_mapped is None:
            text = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        elif ip.version == 6 and ip.ipv4_mapped is not None:
            text = str(ip.ipv4_mapped)
    except ValueError:
        pass
    digest = hmac.new(secret.encode(), f"{purpose}|{text}".encode(), hashlib.sha256).hexdigest()
    return f"{purpose}:{digest[:40]}"


def retry_after(now: datetime, window_seconds: int) -> int:
    """Seconds until the current window ends."""
    epoch = int(utc(now).timestamp())
    return max(1, window_seconds - epoch % window_seconds)


async def stored_keys(session: AsyncSession) -> list[tuple[str, int]]:
    """Every stored counter (key, hits): all the rate limiter keeps."""
    rows = (await session.execute(select(RateLimitHit.key, RateLimitHit.count))).all()
    return [(key, count) for key, count in rows]
