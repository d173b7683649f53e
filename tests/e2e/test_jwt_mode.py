"""auth=jwt: tokens of an external identity provider, verified against a JWKS the test serves on loopback."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.e2e.harness import Served, bearer_client, free_port, seed_seat, serve

ISSUER = "https://idp.example.com/"
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


class IdentityProvider:
    """Signs tokens with its own RSA key and publishes the public half as a JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, audience: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 600, "sub": "sub-1", **claims}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[IdentityProvider, str]]:
    """The provider and the URL of its JWKS, served by a real HTTP server on a free loopback port."""
    provider = IdentityProvider()
    body = json.dumps(provider.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield provider, f"http://127.0.0.1:{port}/jwks.json"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def server(module_database_url: str, idp: tuple[IdentityProvider, str]) -> Iterator[Served]:
    """`lead-mcp serve` trusting the test's identity provider."""
    _, jwks_url = idp
    env = {"LEAD_MCP_JWT_ISSUER": ISSUER, "LEAD_MCP_JWT_JWKS_URL": jwks_url}
    with serve(module_database_url, auth="jwt", extra_env=env) as served:
        yield served


async def _status(server: Served, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(
            server.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "whoami", "arguments": {}},
            },
            headers={**MCP_HEADERS, "authorization": f"Bearer {token}"},
        )


async def test_the_resource_metadata_names_the_identity_provider(server):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=MCP_HEADERS
        )
        assert response.status_code == 401
        document = (await http.get(f"{server.url}/.well-known/oauth-protected-resource/mcp")).json()
        assert document["authorization_servers"] == [ISSUER]
        assert document["resource"] == server.mcp_url
        # No built-in authorization server in this mode.
        assert (await http.get(f"{server.url}/.well-known/oauth-authorization-server")).status_code != 200


async def test_a_provider_token_maps_by_email_the_first_time_then_by_subject(
    server, idp, module_database_url
):
    provider, _ = idp
    email = f"jwt-{uuid.uuid4().hex[:6]}@example.com"
    seat = await seed_seat(module_database_url, workspace=None, email=email)
    subject = f"auth0|{uuid.uuid4().hex}"
    first = provider.token(server.mcp_url, sub=subject, email=email, email_verified=True)
    async with bearer_client(server.mcp_url, first) as client:
        who = (await client.call_tool("whoami", {})).structured_content
        added = (await client.call_tool("add_contact", {"full_name": "Jo Jwt"})).structured_content
    assert who["user"]["id"] == seat.user_id
    assert who["workspace"]["id"] == seat.workspace_id
    assert who["auth"] == "jwt"
    assert who["scopes"] == ["leads:read", "leads:write"]
    assert added["contact"]["owner_id"] == seat.user_id
    # Now bound: a later token without the email claim still finds the seat by its subject.
    later = provider.token(server.mcp_url, sub=subject)
    async with bearer_client(server.mcp_url, later) as client:
        assert (await client.call_tool("whoami", {})).structured_content["user"]["id"] == seat.user_id


async def test_a_provider_token_with_read_scope_only_cannot_write(server, idp, module_database_url):
    provider, _ = idp
    email = f"jwt-{uuid.uuid4().hex[:6]}@example.com"
    await seed_seat(module_database_url, workspace=None, email=email)
    token = provider.token(
        server.mcp_url,
        sub=f"s-{uuid.uuid4().hex}",
        email=email,
        email_verified=True,
        scope="openid leads:read",
    )
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            server.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "add_contact", "arguments": {"full_name": "Not Stored"}},
            },
            headers={**MCP_HEADERS, "authorization": f"Bearer {token}"},
        )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_tokens_with_a_wrong_audience_issuer_signature_or_expiry_are_refused(
    server, idp, module_database_url
):
    provider, _ = idp
    email = f"jwt-{uuid.uuid4().hex[:6]}@example.com"
    await seed_seat(module_database_url, workspace=None, email=email)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    good = {
        "iss": ISSUER,
        "aud": server.mcp_url,
        "sub": f"s-{uuid.uuid4().hex}",
        "email": email,
        "email_verified": True,
        "exp": now + 600,
    }
    bad_tokens = {
        "audience": provider.token("https://other.example.com/mcp", email=email, sub=good["sub"]),
        "issuer": jwt.encode(
            {**good, "iss": "https://evil.example.com/"}, provider.key, "RS256", {"kid": "key-1"}
        ),
        "signature": jwt.encode(good, other_key, "RS256", {"kid": "key-1"}),
        "expired": jwt.encode({**good, "exp": now - 3600}, provider.key, "RS256", {"kid": "key-1"}),
        "alg none": jwt.encode(good, None, "none"),
        "unknown key": jwt.encode(good, other_key, "RS256", {"kid": "key-2"}),
        "no seat": provider.token(server.mcp_url, sub="nobody", email="nobody@example.com"),
    }
    for why, token in bad_tokens.items():
        response = await _status(server, token)
        assert response.status_code == 401, why
        assert 'error="invalid_token"' in response.headers["www-authenticate"], why
        assert email not in response.text
    # The same claims, properly signed, pass.
    assert (
        await _status(server, jwt.encode(good, provider.key, "RS256", {"kid": "key-1"}))
    ).status_code == 200


async def test_an_email_the_provider_does_not_mark_verified_never_binds_a_seat(
    server, idp, module_database_url
):
    provider, _ = idp
    email = f"victim-{uuid.uuid4().hex[:6]}@example.com"
    seat = await seed_seat(module_database_url, workspace=None, email=email)
    # An attacker's account at the provider, carrying the victim's address unverified.
    for claims in ({}, {"email_verified": False}, {"email_verified": "false"}):
        attacker = f"attacker|{uuid.uuid4().hex}"
        token = provider.token(server.mcp_url, sub=attacker, email=email, **claims)
        response = await _status(server, token)
        assert response.status_code == 401, claims
        assert seat.user_id not in response.text and email not in response.text
    assert any("not marked verified" in line for line in server.log)
    # The real owner, verified, binds the seat; the attacker's subjects stay unbound for good.
    owner = provider.token(server.mcp_url, sub=f"owner|{uuid.uuid4().hex}", email=email, email_verified=True)
    assert (await _status(server, owner)).status_code == 200
    retry = provider.token(server.mcp_url, sub=attacker, email=email, email_verified=False)
    assert (await _status(server, retry)).status_code == 401


async def test_a_provider_that_omits_email_verified_can_be_trusted_explicitly(idp, module_database_url):
    provider, jwks_url = idp
    env = {
        "LEAD_MCP_JWT_ISSUER": ISSUER,
        "LEAD_MCP_JWT_JWKS_URL": jwks_url,
        "LEAD_MCP_JWT_ALLOW_UNVERIFIED_EMAIL": "true",
    }
    email = f"entra-{uuid.uuid4().hex[:6]}@example.com"
    seat = await seed_seat(module_database_url, workspace=None, email=email)
    with serve(module_database_url, auth="jwt", extra_env=env) as trusting:
        said_false = provider.token(
            trusting.mcp_url, sub=f"s-{uuid.uuid4().hex}", email=email, email_verified=False
        )
        assert (await _status(trusting, said_false)).status_code == 401
        silent = provider.token(trusting.mcp_url, sub=f"s-{uuid.uuid4().hex}", email=email)
        async with bearer_client(trusting.mcp_url, silent) as client:
            who = (await client.call_tool("whoami", {})).structured_content
    assert who["user"]["id"] == seat.user_id


async def test_personal_access_tokens_work_alongside_the_provider(server, module_database_url):
    seat = await seed_seat(
        module_database_url, workspace=None, email=f"pat-{uuid.uuid4().hex[:6]}@example.com"
    )
    async with bearer_client(server.mcp_url, seat.token) as client:
        who = (await client.call_tool("whoami", {})).structured_content
    assert who["user"]["id"] == seat.user_id and who["auth"] == "personal"
