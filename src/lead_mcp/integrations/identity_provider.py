"""An external identity provider's JWTs (auth=jwt): signature from its JWKS, issuer, audience, expiry.

The key set is fetched over HTTPS (the settings refuse plain HTTP except on
loopback) through the outbound client: the outbound timeout, no redirects, and
at most 1 MiB read. It is kept for ten minutes; a token signed with a key id we
have not seen triggers one early refetch (providers rotate keys); answered or
not, the keys are fetched at most every 30 seconds. Only asymmetric algorithms
are accepted, never ``none`` or HMAC (a public key must never double as a
shared secret).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import httpx
import jwt
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import InvalidTokenError, PyJWKError, PyJWKSetError

from lead_mcp.errors import ExternalServiceError
from lead_mcp.integrations.http import outbound_client, read_limited

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
CACHE_SECONDS = 600.0
MIN_REFETCH_SECONDS = 30.0
LEEWAY_SECONDS = 30
JWKS_MAX_BYTES = 1024 * 1024


class JwtVerifier:
    """Verifies JWTs against one issuer's published keys."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        timeout_seconds: float = 15.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.timeout_seconds = timeout_seconds
        self.issuer = issuer
        self.audience = audience
        self._client = client
        self._keys: dict[str, PyJWK] = {}
        self._anonymous: list[PyJWK] = []
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._lock = anyio.Lock()

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            if not force and now - self._fetched_at < CACHE_SECONDS:
                return
            if now - self._tried_at < MIN_REFETCH_SECONDS:
                return  # one fetch per 30 s at most, answered or not: bad tokens cannot hammer the provider
            self._tried_at = now
            client = self._client or outbound_client(self.timeout_seconds)
            try:
                response = await read_limited(
                    client,
                    "GET",
                    self.jwks_url,
                    service="identity provider keys",
                    max_bytes=JWKS_MAX_BYTES,
                    headers={"Accept": "application/json"},
                )
                response.raise_for_status()
                keyset = PyJWKSet.from_dict(response.json())
            except (ExternalServiceError, httpx.HTTPError, ValueError, PyJWKSetError, PyJWKError) as exc:
                log.warning("cannot load the identity provider's keys from %s: %s", self.jwks_url, exc)
                return
            finally:
                if self._client is None:
                    await client.aclose()
            self._keys = {k.key_id: k for k in keyset.keys if k.key_id}
            self._anonymous = [k for k in keyset.keys if not k.key_id]
            self._fetched_at = time.monotonic()

    async def _key_for(self, kid: str | None) -> PyJWK | None:
        await self._refresh(force=False)
        if kid is None:
            return self._anonymous[0] if len(self._anonymous) == 1 else None
        if kid not in self._keys:
            await self._refresh(force=True)
        return self._keys.get(kid)

    async def verify(self, token: str) -> dict[str, Any] | None:
        """The token's claims when its signature, issuer, audience and times check out; else None."""
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError:
            return None
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            return None
        key = await self._key_for(header.get("kid"))
        if key is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except InvalidTokenError as exc:
            log.info("refused a JWT: %s", exc)
            return None
        return claims
