"""Signed form tokens: genuine, for this card, not sent too fast, not too old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lead_mcp.web import form_token
from lead_mcp.web.form_token import TokenCheck

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LIMITS = {"min_age": timedelta(seconds=2), "max_age": timedelta(hours=12)}


def check(token: str, *, at: datetime, card: str = "card-1", secret: str = "s3cret") -> TokenCheck:
    return form_token.verify(secret, card, token, at, **LIMITS).check


def test_a_token_is_good_after_the_minimum_fill_time_and_until_it_expires():
    token = form_token.issue("s3cret", "card-1", NOW)
    assert form_token.issued_at(token) == NOW
    assert check(token, at=NOW + timedelta(seconds=1)) is TokenCheck.TOO_FAST
    assert check(token, at=NOW + timedelta(seconds=2)) is TokenCheck.OK
    assert check(token, at=NOW + timedelta(hours=12, seconds=1)) is TokenCheck.EXPIRED


def test_a_token_for_another_card_another_key_or_edited_is_invalid():
    token = form_token.issue("s3cret", "card-1", NOW)
    later = NOW + timedelta(minutes=1)
    assert check(token, at=later, card="card-2") is TokenCheck.INVALID
    assert check(token, at=later, secret="other") is TokenCheck.INVALID
    issued, nonce, signature = token.split(".")
    assert check(f"{int(issued) - 60_000}.{nonce}.{signature}", at=later) is TokenCheck.INVALID
    for junk in ("", "abc", "1.2", "1.2.3.4", "x" * 500):
        assert check(junk, at=later) is TokenCheck.INVALID


def test_a_token_from_the_future_is_invalid():
    token = form_token.issue("s3cret", "card-1", NOW + timedelta(minutes=5))
    assert check(token, at=NOW) is TokenCheck.INVALID


async def test_a_claimed_token_stays_claimed_until_it_expires_and_is_then_forgotten(database_url):
    from lead_mcp.clock import FixedClock
    from lead_mcp.db.engine import Database
    from lead_mcp.services import ratelimit

    clock = FixedClock(NOW)
    db = Database(database_url)
    try:
        issued = NOW - timedelta(minutes=1)
        uses = []
        for _ in range(2):
            async with db.transaction(all_workspaces=True, write=True) as session:
                uses.append(
                    await ratelimit.claim(
                        session, key="card-token:abc", issued_at=issued, forget_before=NOW - LIMITS["max_age"]
                    )
                )
        assert uses == [1, 2]
        clock.advance(timedelta(hours=13))  # the first token has expired: its claim may go
        async with db.transaction(all_workspaces=True, write=True) as session:
            await ratelimit.claim(
                session,
                key="card-token:def",
                issued_at=clock.now(),
                forget_before=clock.now() - LIMITS["max_age"],
            )
            await ratelimit.hit(session, clock, key="card-form:xyz", window_seconds=600)
            kept = sorted(key for key, _ in await ratelimit.stored_keys(session))
        assert kept == ["card-form:xyz", "card-token:def"]
    finally:
        await db.dispose()
