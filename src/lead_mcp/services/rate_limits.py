"""Fixed-window rate limits counted in the database, so replicas behind a load balancer share them.

A client is known only by a bucket: a keyed hash of its address (an IPv6
address by its /64 network), never the address itself. Windows older than the
current one are deleted as new hits arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lead_mcp.db.tables import RateLimitHit
from lead_mcp.services.records import dialect_name


def client_bucket(secret: str, purpose: str, address: str | None) -> str:
    """A stable, non-reversible key for a client address (IPv6 grouped by /64)."""
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


async def hit(session: AsyncSession, *, bucket: str, now: datetime, window_seconds: int) -> int:
    """Count one hit for ``bucket`` in the current window; returns the hits in this window so far."""
    window = int(now.timestamp()) // window_seconds * window_seconds
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    statement = (
        insert(RateLimitHit)
        .values(bucket=bucket, window_start=window, hits=1)
        .on_conflict_do_update(
            index_elements=[RateLimitHit.bucket, RateLimitHit.window_start],
            set_={"hits": RateLimitHit.hits + 1},
        )
        .returning(RateLimitHit.hits)
    )
    count = int((await session.execute(statement)).scalar_one())
    await session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < window))
    return count


def retry_after(now: datetime, window_seconds: int) -> int:
    """Seconds until the current window ends."""
    window_end = (int(now.timestamp()) // window_seconds + 1) * window_seconds
    return max(1, window_end - int(now.timestamp()))


async def stored_buckets(session: AsyncSession) -> list[tuple[str, int, int]]:
    """Every stored counter (bucket, window start, hits): all the rate limiter keeps."""
    rows = (
        await session.execute(select(RateLimitHit.bucket, RateLimitHit.window_start, RateLimitHit.hits))
    ).all()
    return [(b, w, h) for b, w, h in rows]
