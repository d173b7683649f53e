"""auth=jwt's key set: fetched over HTTPS through the outbound client, with its deadline and size cap."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import ValidationError

from lead_mcp.config import Settings
from lead_mcp.integrations.http import outbound_client
from lead_mcp.integrations.identity_provider import JWKS_MAX_BYTES, JwtVerifier

ISSUER = "https://idp.example.com/"
AUDIENCE = "https://crm.example.com/mcp"
JWKS_URL = "https://idp.example.com/.well-known/jwks.json"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(padding: int = 0) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    document: dict[str, Any] = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    if padding:
        document["padding"] = "x" * padding
    return document


def _token() -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "s", "iat": now, "exp": now + 600}
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})


def _verifier(handler: Any) -> tuple[JwtVerifier, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = outbound_client(7.0, transport=httpx.MockTransport(record))
    return JwtVerifier(jwks_url=JWKS_URL, issuer=ISSUER, audience=AUDIENCE, client=client), seen


async def test_a_token_verifies_against_keys_fetched_with_the_outbound_clients_user_agent() -> None:
    verifier, seen = _verifier(lambda request: httpx.Response(200, json=_jwks()))
    claims = await verifier.verify(_token())
    assert claims is not None and claims["sub"] == "s"
    assert seen[0].headers["user-agent"].startswith("lead-mcp/")


async def test_an_oversized_key_set_is_not_read_and_no_token_verifies() -> None:
    verifier, seen = _verifier(lambda request: httpx.Response(200, json=_jwks(padding=JWKS_MAX_BYTES)))
    assert await verifier.verify(_token()) is None
    assert len(seen) == 1


async def test_a_redirected_key_set_is_not_followed() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/elsewhere":
            return httpx.Response(200, json=_jwks())
        return httpx.Response(302, headers={"location": "https://idp.example.com/elsewhere"})

    verifier, seen = _verifier(redirect)
    assert await verifier.verify(_token()) is None
    assert [r.url.path for r in seen] == ["/.well-known/jwks.json"]


def test_the_fetch_uses_the_outbound_timeout_setting() -> None:
    settings = Settings(
        auth="jwt",
        jwt_issuer=ISSUER,
        jwt_jwks_url=JWKS_URL,
        outbound_timeout_seconds=3,  # type: ignore[arg-type]
    )
    from lead_mcp.mcp.server import StateRef, build_server
    from lead_mcp.web.auth import JwtTokenVerifier, build_http_auth

    auth = build_http_auth(settings, StateRef(), build_server(settings))
    assert auth is not None
    gate = auth.protect(lambda scope, receive, send: None)  # type: ignore[arg-type, return-value]
    verifier = gate.backend.token_verifier  # type: ignore[attr-defined]
    assert isinstance(verifier, JwtTokenVerifier)
    assert verifier.jwt.timeout_seconds == 3


@pytest.mark.parametrize(
    "url",
    ["http://idp.example.com/jwks.json", "ftp://idp.example.com/jwks.json", "https:///jwks.json"],
)
def test_a_jwks_url_that_is_not_https_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValidationError, match="LEAD_MCP_JWT_JWKS_URL must be an https"):
        Settings(auth="jwt", jwt_issuer=ISSUER, jwt_jwks_url=url)  # type: ignore[arg-type]


def test_plain_http_jwks_is_allowed_on_loopback_only() -> None:
    local = Settings(auth="jwt", jwt_issuer=ISSUER, jwt_jwks_url="http://127.0.0.1:9/jwks")  # type: ignore[arg-type]
    assert local.jwt_jwks_url == "http://127.0.0.1:9/jwks"
