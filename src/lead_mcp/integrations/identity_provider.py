"""An external identity provider's JWTs (auth=jwt): signature from its JWKS, issuer, audience, expiry.

The key set is fetched over HTTP and kept for ten minutes; a token signed with a
key id we have not seen triggers one early refetch (providers rotate keys), at
most every 30 seconds. Only asymmetric algorithms are accepted, never ``none``
or HMAC (a public key must never double as a shared secret).
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


class JwtVerifier:
    """Verifies JWTs against one issuer's published keys."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._client = client
        self._keys: dict[str, PyJWK] = {}
        self._anonymous: list[PyJWK] = []
        self._fetched_at = 0.0
        self._lock = anyio.Lock()

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if (not force and age < CACHE_SECONDS) or (force and age < MIN_REFETCH_SECONDS):
                return
            client = self._client or httpx.AsyncClient(timeout=10.0)
            try:
                response = await client.get(self.jwks_url, headers={"Accept": "application/json"})
                response.raise_for_status()
                keyset = PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, PyJWKSetError, PyJWKError) as exc:
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
