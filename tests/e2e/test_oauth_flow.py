"""The built-in OAuth 2.1 authorization server, end to end against a real `lead-mcp serve` (auth=builtin).

Every refusal is checked for its status and for carrying no data. One server per
store (SQLite, PostgreSQL) is shared by the module; each test signs in its own seat.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl
from sqlalchemy import select, update

from lead_mcp.clock import SystemClock
from lead_mcp.db.engine import Database
from lead_mcp.db.tables import AuthToken, OAuthClient, OAuthCode
from mcp import Client
from tests.e2e.browser import (
    REDIRECT_URI,
    Pkce,
    authorize_url,
    open_sign_in,
    query_of,
    register,
    sign_in_for_code,
    submit_sign_in,
)
from tests.e2e.harness import Served, bearer_client, free_port, seed_seat, serve

PASSWORD = "correct horse battery staple"
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[Served]:
    """One `lead-mcp serve` with the built-in authorization server for the module."""
    with serve(module_database_url) as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like HTTP client (keeps cookies, does not follow redirects)."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def _email() -> str:
    return f"seat-{uuid.uuid4().hex[:8]}@example.com"


async def _seat(database_url: str) -> tuple[str, Any]:
    email = _email()
    seat = await seed_seat(database_url, workspace=None, email=email, password=PASSWORD)
    return email, seat


def _tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


async def _token(http: httpx.AsyncClient, issuer: str, **form: str) -> httpx.Response:
    return await http.post(f"{issuer}/token", data=form)


async def _code_flow(
    http: httpx.AsyncClient, server: Served, client: dict[str, Any], email: str, *, allow_write: bool = True
) -> tuple[str, Pkce]:
    pkce = Pkce.make()
    url = authorize_url(server.public_base_url, str(client["client_id"]), pkce, resource=server.mcp_url)
    query = await sign_in_for_code(http, url, email=email, password=PASSWORD, allow_write=allow_write)
    assert query["state"] == "st-123"
    assert query["iss"] == server.public_base_url
    return query["code"], pkce


async def _exchange(
    http: httpx.AsyncClient, server: Served, client: dict[str, Any], code: str, pkce: Pkce, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": str(client["client_id"]),
        "client_secret": str(client["client_secret"]),
        "code_verifier": pkce.verifier,
        "resource": server.mcp_url,
        **extra,
    }
    return await _token(http, server.public_base_url, **form)


async def _mcp_status(
    http: httpx.AsyncClient, server: Served, token: str, body: dict[str, Any]
) -> httpx.Response:
    return await http.post(
        server.mcp_url, json=body, headers={**MCP_HEADERS, "authorization": f"Bearer {token}"}
    )


async def _whoami(server: Served, token: str) -> dict[str, Any]:
    async with bearer_client(server.mcp_url, token) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


# --- discovery ---


async def test_mcp_without_token_answers_401_pointing_at_the_resource_metadata(server, http):
    response = await http.post(
        server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=MCP_HEADERS
    )
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    metadata_url = challenge.split('resource_metadata="', 1)[1].split('"', 1)[0]
    assert metadata_url == f"{server.url}/.well-known/oauth-protected-resource/mcp"
    assert set(response.json()) == {"error", "error_description"}

    document = (await http.get(metadata_url)).json()
    assert document["resource"] == server.mcp_url
    assert document["authorization_servers"] == [server.public_base_url]
    assert document["scopes_supported"] == ["leads:read", "leads:write"]
    assert (await http.get(f"{server.url}/.well-known/oauth-protected-resource")).json() == document

    issuer = document["authorization_servers"][0]
    metadata = (await http.get(f"{issuer}/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["registration_endpoint"] == f"{issuer}/register"
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["authorization_response_iss_parameter_supported"] is True


async def test_an_invalid_token_is_refused_with_invalid_token(server, http):
    response = await _mcp_status(
        http, server, "lmcp_at_made-up", {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_clients_of_the_handshake_era_use_their_token_the_same_way(server, module_database_url):
    _, seat = await _seat(module_database_url)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {seat.token}"}, timeout=60)
    async with (
        http,
        Client(streamable_http_client(server.mcp_url, http_client=http), mode="legacy") as client,
    ):
        who = await client.call_tool("whoami", {})
    assert who.structured_content["user"]["id"] == seat.user_id


# --- the SDK client, driving discovery, registration, PKCE, sign-in, token and retry itself ---


class _Storage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class _Person:
    """Signs in when the SDK opens the authorization URL."""

    def __init__(self, email: str, *, allow_write: bool = True) -> None:
        self.email = email
        self.allow_write = allow_write
        self.result = AuthorizationCodeResult(code="")
        self.opened: list[str] = []

    async def redirect_handler(self, url: str) -> None:
        self.opened.append(url)
        async with httpx.AsyncClient(timeout=30) as browser:
            query = await sign_in_for_code(
                browser, url, email=self.email, password=PASSWORD, allow_write=self.allow_write
            )
        self.result = AuthorizationCodeResult(
            code=query["code"], state=query.get("state"), iss=query.get("iss")
        )

    async def callback_handler(self) -> AuthorizationCodeResult:
        return self.result


def oauth_provider(mcp_url: str, person: _Person, storage: _Storage) -> OAuthClientProvider:
    """The SDK's OAuth client, completing the browser leg through `person`."""
    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="lead-mcp test agent",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
        ),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
    )


async def test_the_sdk_client_discovers_registers_signs_in_and_calls_tools(server, module_database_url):
    email, seat = await _seat(module_database_url)
    person, storage = _Person(email), _Storage()
    http = httpx2.AsyncClient(auth=oauth_provider(server.mcp_url, person, storage), timeout=60)
    async with http, Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
        who = (await client.call_tool("whoami", {})).structured_content
        added = await client.call_tool(
            "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.example.com"}
        )
    assert who is not None
    assert who["user"]["email"] == email
    assert who["workspace"]["id"] == seat.workspace_id
    assert who["auth"] == "oauth"
    assert who["scopes"] == ["leads:read", "leads:write"]
    assert not added.is_error
    assert added.structured_content["contact"]["owner_id"] == seat.user_id
    assert len(person.opened) == 1
    assert "code_challenge_method=S256" in person.opened[0]
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert storage.tokens.access_token.startswith("lmcp_at_")

    # The stored client secret and tokens are digests only.
    db = Database(module_database_url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction(all_workspaces=True, write=False) as session:
            info = storage.client_info
            assert info is not None and info.client_secret
            row = (
                await session.execute(select(OAuthClient).where(OAuthClient.client_id == info.client_id))
            ).scalar_one()
            assert row.secret_hash == hashlib.sha256(info.client_secret.encode()).hexdigest()
            assert info.client_secret not in json.dumps(row.info)
            stored = (
                (await session.execute(select(AuthToken.token_hash).where(AuthToken.user_id == seat.user_id)))
                .scalars()
                .all()
            )
            assert hashlib.sha256(storage.tokens.access_token.encode()).hexdigest() in stored
            assert storage.tokens.access_token not in stored
    finally:
        await db.dispose()


async def test_a_read_only_grant_is_refused_writes_with_403_insufficient_scope(
    server, http, module_database_url
):
    email, seat = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email, allow_write=False)
    tokens = (await _exchange(http, server, client, code, pkce)).json()
    assert tokens["scope"] == "leads:read"
    access = tokens["access_token"]

    refused = await _mcp_status(
        http, server, access, _tool_call("add_contact", {"full_name": "Never Stored"})
    )
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="leads:read leads:write"' in challenge
    assert "resource_metadata=" in challenge
    assert "Never Stored" not in refused.text

    who = await _whoami(server, access)
    assert who["scopes"] == ["leads:read"]
    async with bearer_client(server.mcp_url, seat.token) as full:
        found = await full.call_tool("search_contacts", {"query": "Never Stored"})
    assert found.structured_content["items"] == []


# --- registration ---


async def test_registration_refuses_redirect_uris_that_are_not_https_or_loopback(server, http):
    for bad in ("http://evil.example.com/cb", "https://client.example.com/cb#frag", "javascript:alert(1)"):
        response = await http.post(f"{server.public_base_url}/register", json={"redirect_uris": [bad]})
        assert response.status_code == 400, bad
        assert response.json()["error"] in {"invalid_redirect_uri", "invalid_client_metadata"}
        assert "client_id" not in response.json()


async def test_registration_returns_a_secret_once_and_accepts_loopback_and_app_redirects(server, http):
    client = await register(
        http,
        server.public_base_url,
        redirect_uris=["http://127.0.0.1:33418/callback", "com.example.app:/oauth"],
    )
    assert client["client_secret"]
    assert client["scope"] == "leads:read leads:write"


# --- /authorize checks, before any sign-in page ---


async def test_authorize_without_pkce_s256_is_refused_before_the_sign_in_page(server, http):
    client = await register(http, server.public_base_url)
    cid = str(client["client_id"])
    for url in (
        authorize_url(server.public_base_url, cid, None),
        authorize_url(server.public_base_url, cid, Pkce.make(), method=None),
        authorize_url(server.public_base_url, cid, Pkce("x" * 43, "x" * 43), method="plain"),
    ):
        response = await http.get(url)
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        assert "/oauth/signin" not in location
        query = query_of(location)
        assert query["error"] == "invalid_request"
        assert query["state"] == "st-123"
        assert "code" not in query


async def test_authorize_with_an_unregistered_redirect_uri_answers_400_without_redirecting(server, http):
    client = await register(http, server.public_base_url)
    for other in (
        "https://client.example.com/callback/",
        "https://client.example.com/callback?x=1",
        "https://evil.example.com/callback",
    ):
        url = authorize_url(server.public_base_url, str(client["client_id"]), Pkce.make(), redirect_uri=other)
        response = await http.get(url)
        assert response.status_code == 400, other
        assert "location" not in response.headers
        assert response.json()["error"] == "invalid_request"


async def test_authorize_for_another_resource_is_refused_with_invalid_target(server, http):
    client = await register(http, server.public_base_url)
    url = authorize_url(
        server.public_base_url,
        str(client["client_id"]),
        Pkce.make(),
        resource="https://other.example.com/mcp",
    )
    response = await http.get(url)
    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["error"] == "invalid_target"
    assert "code" not in query


async def test_authorize_for_an_unknown_client_answers_400(server, http):
    response = await http.get(authorize_url(server.public_base_url, "no-such-client", Pkce.make()))
    assert response.status_code == 400
    assert "location" not in response.headers


# --- the sign-in page ---


async def test_a_wrong_password_shows_the_form_again_and_issues_no_code(server, http, module_database_url):
    email, _ = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    page = await open_sign_in(
        http, authorize_url(server.public_base_url, str(client["client_id"]), Pkce.make())
    )
    response = await submit_sign_in(http, page, email=email, password="not the password")
    assert response.status_code == 401
    assert "location" not in response.headers
    assert "do not match" in response.text


async def test_a_forged_form_is_refused_with_403(server, http, module_database_url):
    email, _ = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    page = await open_sign_in(
        http, authorize_url(server.public_base_url, str(client["client_id"]), Pkce.make())
    )
    response = await submit_sign_in(http, page, email=email, password=PASSWORD, csrf="forged-token")
    assert response.status_code == 403
    assert "location" not in response.headers
    # Without the page's cookie (another site posting the form), the right token is refused too.
    http.cookies.clear()
    response = await submit_sign_in(http, page, email=email, password=PASSWORD)
    assert response.status_code == 403


async def test_deny_sends_access_denied_back_to_the_client(server, http, module_database_url):
    email, _ = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    page = await open_sign_in(
        http, authorize_url(server.public_base_url, str(client["client_id"]), Pkce.make())
    )
    response = await submit_sign_in(http, page, email=email, password="", decision="deny")
    assert response.status_code == 303
    query = query_of(response.headers["location"])
    assert query["error"] == "access_denied" and "code" not in query
    # The pending request is used up.
    again = await submit_sign_in(http, page, email=email, password=PASSWORD)
    assert again.status_code == 400


# --- /token ---


async def test_code_exchange_refresh_rotation_and_revocation(server, http, module_database_url):
    email, seat = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email)
    response = await _exchange(http, server, client, code, pkce)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    first = response.json()
    assert first["token_type"] == "Bearer"
    assert first["expires_in"] == 3600
    assert (await _whoami(server, first["access_token"]))["user"]["id"] == seat.user_id

    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": str(client["client_id"]),
        "client_secret": str(client["client_secret"]),
    }
    rotated = await _token(http, server.public_base_url, **form)
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await _whoami(server, second["access_token"]))["user"]["id"] == seat.user_id

    # The old refresh token is used up; presenting it again revokes the whole grant.
    replay = await _token(http, server.public_base_url, **form)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert "access_token" not in replay.json()
    gone = await _mcp_status(
        http, server, second["access_token"], {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    )
    assert gone.status_code == 401

    # A fresh grant, revoked through /revoke.
    code, pkce = await _code_flow(http, server, client, email)
    third = (await _exchange(http, server, client, code, pkce)).json()
    revoked = await http.post(
        f"{server.public_base_url}/revoke",
        data={
            "token": third["access_token"],
            "client_id": str(client["client_id"]),
            "client_secret": str(client["client_secret"]),
        },
    )
    assert revoked.status_code == 200
    for token in (third["access_token"],):
        response = await _mcp_status(http, server, token, _tool_call("whoami", {}))
        assert response.status_code == 401
        assert seat.user_id not in response.text
    refresh_after_revoke = await _token(
        http, server.public_base_url, **{**form, "refresh_token": third["refresh_token"]}
    )
    assert refresh_after_revoke.status_code == 400


async def test_a_reused_code_is_refused_and_revokes_the_tokens_it_produced(server, http, module_database_url):
    email, _ = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email)
    first = await _exchange(http, server, client, code, pkce)
    assert first.status_code == 200
    again = await _exchange(http, server, client, code, pkce)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert "access_token" not in again.json()
    response = await _mcp_status(
        http, server, first.json()["access_token"], {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    )
    assert response.status_code == 401


async def test_token_requests_with_a_wrong_redirect_verifier_resource_or_secret_are_refused(
    server, http, module_database_url
):
    email, _ = await _seat(module_database_url)
    client = await register(
        http, server.public_base_url, redirect_uris=[REDIRECT_URI, "https://client.example.com/other"]
    )
    code, pkce = await _code_flow(http, server, client, email)
    cases = [
        ({"redirect_uri": "https://client.example.com/other"}, 400, "invalid_request"),
        ({"code_verifier": Pkce.make().verifier}, 400, "invalid_grant"),
        ({"resource": "https://other.example.com/mcp"}, 400, "invalid_target"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
    ]
    for extra, status, error in cases:
        response = await _exchange(http, server, client, code, pkce, **extra)
        assert response.status_code == status, (extra, response.text)
        assert response.json()["error"] == error
        assert "access_token" not in response.json()
    # None of those used the code up: the right request still works, once.
    assert (await _exchange(http, server, client, code, pkce)).status_code == 200


async def test_an_expired_access_token_is_refused(server, http, module_database_url):
    email, _ = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email)
    access = (await _exchange(http, server, client, code, pkce)).json()["access_token"]
    db = Database(module_database_url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction(all_workspaces=True) as session:
            past = SystemClock().now().replace(year=2020)
            digest = hashlib.sha256(access.encode()).hexdigest()
            await session.execute(
                update(AuthToken).where(AuthToken.token_hash == digest).values(expires_at=past)
            )
    finally:
        await db.dispose()
    response = await _mcp_status(http, server, access, _tool_call("whoami", {}))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def _in_store(database_url: str, statement: Any) -> None:
    """Change the store directly (what time or another server would have done)."""
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction(all_workspaces=True) as session:
            await session.execute(statement)
    finally:
        await db.dispose()


def _past() -> Any:
    return SystemClock().now().replace(year=2020)


async def test_an_expired_authorization_code_is_refused_and_issues_nothing(server, http, module_database_url):
    email, seat = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email)
    digest = hashlib.sha256(code.encode()).hexdigest()
    await _in_store(
        module_database_url, update(OAuthCode).where(OAuthCode.code_hash == digest).values(expires_at=_past())
    )
    response = await _exchange(http, server, client, code, pkce)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json() and "refresh_token" not in response.json()
    assert seat.user_id not in response.text


async def test_an_expired_refresh_token_is_refused_and_issues_nothing(server, http, module_database_url):
    email, seat = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email)
    tokens = (await _exchange(http, server, client, code, pkce)).json()
    digest = hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
    await _in_store(
        module_database_url,
        update(AuthToken).where(AuthToken.token_hash == digest).values(expires_at=_past()),
    )
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": str(client["client_id"]),
        "client_secret": str(client["client_secret"]),
    }
    response = await _token(http, server.public_base_url, **form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
    assert "access_token" not in response.json() and "refresh_token" not in response.json()
    assert seat.user_id not in response.text


async def test_a_token_issued_for_another_resource_is_refused_at_mcp_with_no_data(
    server, http, module_database_url
):
    email, seat = await _seat(module_database_url)
    client = await register(http, server.public_base_url)
    code, pkce = await _code_flow(http, server, client, email)
    access = (await _exchange(http, server, client, code, pkce)).json()["access_token"]
    async with bearer_client(server.mcp_url, access) as connected:
        await connected.call_tool("add_contact", {"full_name": "Resource Secret"})
    # The same seat's token, but bound to another server's MCP endpoint (another lead-mcp on this
    # store under another address, say): this one must not take it.
    digest = hashlib.sha256(access.encode()).hexdigest()
    other = "https://other.example.com/mcp"
    await _in_store(
        module_database_url, update(AuthToken).where(AuthToken.token_hash == digest).values(resource=other)
    )
    for body in (_tool_call("whoami", {}), _tool_call("search_contacts", {"query": "Resource Secret"})):
        response = await _mcp_status(http, server, access, body)
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert "Resource Secret" not in response.text and seat.user_id not in response.text
        assert set(response.json()) == {"error", "error_description"}


# --- client ID metadata documents (a client known by the URL of its metadata) ---


class _Documents(BaseHTTPRequestHandler):
    documents: ClassVar[dict[str, dict[str, Any]]] = {}

    def do_GET(self) -> None:
        document = self.documents.get(self.path)
        body = json.dumps(document).encode()
        self.send_response(200 if document is not None else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def documents() -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """A real HTTP server on a free loopback port serving client metadata documents."""
    port = free_port()
    store: dict[str, dict[str, Any]] = {}
    handler = type("Docs", (_Documents,), {"documents": store})
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", store
    httpd.shutdown()
    thread.join()


async def test_a_client_known_by_its_metadata_document_url_signs_in_without_registering(
    server, http, module_database_url, documents
):
    base, store = documents
    client_id = f"{base}/oauth/client-{uuid.uuid4().hex[:6]}.json"
    store[urlsplit(client_id).path] = {
        "client_id": client_id,
        "client_name": "Document Client",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
    }
    email, seat = await _seat(module_database_url)
    pkce = Pkce.make()
    url = authorize_url(server.public_base_url, client_id, pkce, resource=server.mcp_url)
    page = await open_sign_in(http, url)
    assert "Document Client" in page.html
    response = await submit_sign_in(http, page, email=email, password=PASSWORD)
    code = query_of(response.headers["location"])["code"]
    tokens = await _token(
        http,
        server.public_base_url,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        client_id=client_id,
        code_verifier=pkce.verifier,
    )
    assert tokens.status_code == 200, tokens.text
    assert (await _whoami(server, tokens.json()["access_token"]))["user"]["id"] == seat.user_id


async def test_a_metadata_document_that_names_another_client_id_is_refused(server, http, documents):
    base, store = documents
    client_id = f"{base}/oauth/liar.json"
    store["/oauth/liar.json"] = {"client_id": "https://claude.ai/oauth", "redirect_uris": [REDIRECT_URI]}
    response = await http.get(authorize_url(server.public_base_url, client_id, Pkce.make()))
    assert response.status_code == 400
    assert "location" not in response.headers


# --- behind a path prefix ---


async def test_under_a_path_prefix_discovery_and_the_sdk_flow_work(database_url):
    port = free_port()
    public = f"http://127.0.0.1:{port}/crm"
    email, seat = await _seat(database_url)
    with serve(database_url, port=port, public_base_url=public) as served:
        assert served.mcp_url == f"{public}/mcp"
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                served.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=MCP_HEADERS
            )
            assert response.status_code == 401
            metadata_url = (
                response.headers["www-authenticate"].split('resource_metadata="', 1)[1].split('"', 1)[0]
            )
            assert metadata_url == f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/crm/mcp"
            document = (await http.get(metadata_url)).json()
            assert document["resource"] == f"{public}/mcp"
            assert document["authorization_servers"] == [public]
            metadata = (
                await http.get(f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server/crm")
            ).json()
            assert metadata["issuer"] == public
            assert metadata["authorization_endpoint"] == f"{public}/authorize"
        person, storage = _Person(email), _Storage()
        http2 = httpx2.AsyncClient(auth=oauth_provider(served.mcp_url, person, storage), timeout=60)
        async with http2, Client(streamable_http_client(served.mcp_url, http_client=http2)) as client:
            who = (await client.call_tool("whoami", {})).structured_content
        assert who is not None and who["user"]["id"] == seat.user_id


# --- rate limits ---


async def test_ten_failed_sign_ins_lock_the_email_for_a_while_even_with_the_right_password(database_url):
    email, _ = await _seat(database_url)
    with serve(database_url) as served:
        async with httpx.AsyncClient(timeout=30) as http:
            client = await register(http, served.public_base_url)
            page = await open_sign_in(
                http, authorize_url(served.public_base_url, str(client["client_id"]), Pkce.make())
            )
            statuses = []
            for _ in range(10):
                statuses.append(
                    (await submit_sign_in(http, page, email=email, password="wrong password!")).status_code
                )
                page = await open_sign_in(
                    http, authorize_url(served.public_base_url, str(client["client_id"]), Pkce.make())
                )
            assert statuses == [401] * 10
            locked = await submit_sign_in(http, page, email=email, password=PASSWORD)
            assert locked.status_code == 429
            assert "location" not in locked.headers


async def test_one_address_makes_this_server_fetch_at_most_20_client_metadata_documents_an_hour(database_url):
    fetched: list[str] = []

    class Counting(_Documents):
        documents: ClassVar[dict[str, dict[str, Any]]] = {}

        def do_GET(self) -> None:
            fetched.append(self.path)
            super().do_GET()

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    good = f"{base}/oauth/good.json"
    Counting.documents["/oauth/good.json"] = {"client_id": good, "redirect_uris": [REDIRECT_URI]}
    try:
        with serve(database_url) as served:
            async with httpx.AsyncClient(timeout=30) as http:
                for n in range(25):  # each an unknown client_id URL: each would be a fetch
                    url = authorize_url(served.public_base_url, f"{base}/oauth/nobody-{n}.json", Pkce.make())
                    assert (await http.get(url)).status_code == 400
                assert len(fetched) == 20
                # Over the limit, even a real client's document is not fetched for this address.
                refused = await http.get(authorize_url(served.public_base_url, good, Pkce.make()))
                assert refused.status_code == 400 and "location" not in refused.headers
                assert len(fetched) == 20
            assert any("too many fetches from one address" in line for line in served.log)
    finally:
        httpd.shutdown()
        thread.join()
