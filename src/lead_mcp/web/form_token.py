"""Signed form tokens: prove a post comes from a form this server rendered, for this card, a while ago.

A token is ``{issued_ms}.{nonce}.{signature}`` where the signature is an
HMAC-SHA256 over the card id, the time and the nonce. Forging one needs the
server's secret; the time in it lets the server refuse posts sent faster than
a person could type (bots) and forms left open for too long. The issue time
is readable on purpose: it is no secret, and a visitor's tools may show it.

A genuine token is good for one send: the card routes claim its nonce in the
database (``services.ratelimit.claim``), so a replayed token is refused on
every replica.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

CLOCK_SKEW = timedelta(seconds=5)


class TokenCheck(StrEnum):
    """What checking a token found."""

    OK = "ok"
    INVALID = "invalid"
    TOO_FAST = "too_fast"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify`, with the time the form was rendered and its nonce when genuine."""

    check: TokenCheck
    issued_at: datetime | None = None
    nonce: str | None = None


def _signature(secret: str, card_id: str, issued_ms: int, nonce: str) -> str:
    message = f"lead-form|{card_id}|{issued_ms}|{nonce}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def issue(secret: str, card_id: str, now: datetime) -> str:
    """A fresh token for a card's form, rendered at ``now``."""
    issued_ms = int(now.timestamp() * 1000)
    nonce = secrets.token_urlsafe(9)
    return f"{issued_ms}.{nonce}.{_signature(secret, card_id, issued_ms, nonce)}"


def issued_at(token: str) -> datetime | None:
    """The time written in a token (not checked; see :func:`verify`)."""
    head = token.split(".", 1)[0]
    if not head.isdigit() or len(head) > 15:
        return None
    return datetime.fromtimestamp(int(head) / 1000, tz=UTC)


def verify(
    secret: str, card_id: str, token: str, now: datetime, *, min_age: timedelta, max_age: timedelta
) -> Verdict:
    """Check a posted token: genuine, for this card, not too young and not too old."""
    parts = token.split(".") if isinstance(token, str) and len(token) < 200 else []
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 15:
        return Verdict(TokenCheck.INVALID)
    issued_ms, nonce, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _signature(secret, card_id, issued_ms, nonce)):
        return Verdict(TokenCheck.INVALID)
    when = datetime.fromtimestamp(issued_ms / 1000, tz=UTC)
    age = now - when
    if age < -CLOCK_SKEW:
        return Verdict(TokenCheck.INVALID, when)
    if age < min_age:
        return Verdict(TokenCheck.TOO_FAST, when, nonce)
    if age > max_age:
        return Verdict(TokenCheck.EXPIRED, when, nonce)
    return Verdict(TokenCheck.OK, when, nonce)
