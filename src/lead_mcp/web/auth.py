"""HTTP auth of ``lead-mcp serve``: who may call ``/mcp``, and the documents that tell clients how to sign in.

``/mcp`` is wrapped in :class:`BearerGate`. A request without a valid token gets
``401`` with ``WWW-Authenticate: Bearer resource_metadata=...`` pointing at the
protected-resource metadata (RFC 9728), which names the authorization server:
our own (auth=builtin, web/oauth.py) or an external identity provider
(auth=jwt). A valid token lacking a scope gets ``403 insufficient_scope`` naming
the scopes needed, so the client can ask the user for more (step-up): every
request needs ``leads:read``; a ``tools/call`` of a tool not annotated
read-only needs ``leads:write`` (mcp/access.py decides, from the annotations).

Token verification uses the SDK's ``BearerAuthBackend`` (expiry, and the
token's RFC 8707 resource must be this server's MCP URL) over our verifiers:
hashed tokens in the store, or JWTs checked against the provider's JWKS.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lead_mcp.config import AuthMode, Settings
from lead_mcp.domain import ALL_SCOPES, SCOPE_READ, SCOPE_WRITE, Principal, Role
from lead_mcp.integrations.identity_provider import JwtVerifier
from lead_mcp.mcp.access import access_token_for, required_scope
from lead_mcp.mcp.server import LeadServer, StateRef
from lead_mcp.services import accounts, tokens
from lead_mcp.web import signin
from lead_mcp.web.oauth import StoreAuthorizationServer, authorization_server_routes, canonical_resource, cors

log = logging.getLogger(__name__)


def auth_settings(settings: Settings) -> AuthSettings:
    """The SDK's description of this resource server (and of the built-in authorization server)."""
    builtin = settings.auth is AuthMode.BUILTIN
    issuer = settings.public_base_url if builtin else (settings.jwt_issuer or "")
    return AuthSettings.model_validate(
        dict(
            issuer_url=issuer,
            resource_server_url=settings.mcp_url,
            required_scopes=[SCOPE_READ],
            client_registration_options=ClientRegistrationOptions(
                enabled=builtin, default_scopes=list(ALL_SCOPES)
            ),
            revocation_options=RevocationOptions(enabled=builtin),
            validate_token_resource=True,
        )
    )


class StoreTokenVerifier:
    """Access tokens of the built-in authorization server and personal access tokens, looked up by digest."""

    def __init__(self, ref: StateRef, settings: Settings, issuer: str) -> None:
        self.ref = ref
        self.settings = settings
        self.issuer = issuer

    async def verify_token(self, token: str) -> AccessToken | None:
        """The seat behind a token, or None."""
        state = self.ref.value
        if state is None:
            return None
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            principal = await tokens.verify_bearer(session, state.clock, token)
        if principal is None:
            return None
        if principal.kind == "personal":
            # Made by this server's CLI for this server: its resource is this MCP endpoint.
            principal = principal.model_copy(update={"resource": canonical_resource(self.settings.mcp_url)})
        return access_token_for(principal, token=token, issuer=self.issuer)


def _claimed_scopes(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("scope", claims.get("scp"))
    if raw is None:
        # The provider issued this token for our audience but says nothing of scopes: a full seat.
        return list(ALL_SCOPES)
    values = raw.split() if isinstance(raw, str) else [str(v) for v in raw] if isinstance(raw, list) else []
    return [s for s in ALL_SCOPES if s in values]


class JwtTokenVerifier:
    """JWTs of an external identity provider, mapped to seats by subject (or, the first time, by email)."""

    def __init__(
        self, ref: StateRef, settings: Settings, store: StoreTokenVerifier, jwt: JwtVerifier
    ) -> None:
        self.ref = ref
        self.settings = settings
        self.store = store
        self.jwt = jwt

    def _email_is_trusted(self, claims: dict[str, Any]) -> bool:
        """Whether the token's email may bind its subject to a seat: the provider vouched for it.

        Anyone can put any address on an account at many providers; binding on an unverified one
        would hand that address's seat to whoever typed it. ``email_verified: false`` never binds;
        a missing claim binds only when LEAD_MCP_JWT_ALLOW_UNVERIFIED_EMAIL says the provider
        verifies every address it issues (some, such as Microsoft Entra ID, omit the claim).
        """
        verified = claims.get("email_verified")
        if verified is True or verified == "true":
            return True
        return verified is None and self.settings.jwt_allow_unverified_email

    async def verify_token(self, token: str) -> AccessToken | None:
        """The seat behind a JWT (or a personal access token), or None."""
        if token.startswith(tokens.PERSONAL_PREFIX):
            return await self.store.verify_token(token)
        state = self.ref.value
        if state is None:
            return None
        claims = await self.jwt.verify(token)
        if claims is None:
            return None
        subject = str(claims["sub"])
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            user = await accounts.seat_by_subject(session, subject=subject)
        email = claims.get(self.settings.jwt_email_claim)
        if user is None and isinstance(email, str) and self._email_is_trusted(claims):
            async with state.db.transaction(all_workspaces=True) as session:
                user = await accounts.bind_subject(session, subject=subject, email=email)
        if user is None:
            if isinstance(email, str) and not self._email_is_trusted(claims):
                log.info(
                    "JWT subject %s not bound: its email is not marked verified (email_verified); "
                    "see LEAD_MCP_JWT_ALLOW_UNVERIFIED_EMAIL",
                    claims["sub"],
                )
            else:
                log.info("JWT subject %s has no seat; add one with `lead-mcp user add`", claims["sub"])
            return None
        principal = Principal(
            user_id=user.id,
            workspace_id=user.workspace_id,
            email=user.email,
            role=Role(user.role),
            scopes=_claimed_scopes(claims),
            kind="jwt",
            client_id=str(claims.get("azp") or claims.get("client_id") or "jwt"),
            resource=canonical_resource(self.settings.mcp_url),
        )
        access = access_token_for(principal, token=token, issuer=self.jwt.issuer)
        access.expires_at = int(claims["exp"])
        return access


async def _buffer_body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """Read the request body (up to ``limit``) so it can be inspected and then replayed."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        size += len(message.get("body", b""))
        if size > limit:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _called_tools(body: bytes) -> list[str]:
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    items = payload if isinstance(payload, list) else [payload]
    names = []
    for item in items:
        if isinstance(item, dict) and item.get("method") == "tools/call":
            params = item.get("params")
            if isinstance(params, dict) and isinstance(params.get("name"), str):
                names.append(params["name"])
    return names


class BearerGate:
    """Lets a request reach ``/mcp`` only with a valid token carrying the scopes it needs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        backend: BearerAuthBackend,
        metadata_url: str,
        server: LeadServer,
        max_body: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
    ) -> None:
        self.app = app
        self.backend = backend
        self.metadata_url = metadata_url
        self.server = server
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the bearer token, then the scopes, then pass the request on with the seat attached."""
        if scope["type"] != "http" or not scope["path"].rstrip("/").endswith("/mcp"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        presented = connection.headers.get("authorization")
        result = await self.backend.authenticate(connection)
        if result is None:
            if presented:
                await self._refuse(
                    scope, receive, send, 401, "invalid_token", "The token is invalid, expired or revoked"
                )
            else:
                await self._refuse(scope, receive, send, 401, None, "Sign in to use lead-mcp")
            return
        credentials, user = result
        assert isinstance(user, AuthenticatedUser)
        if SCOPE_READ not in credentials.scopes:
            await self._refuse(
                scope,
                receive,
                send,
                403,
                "insufficient_scope",
                f"Required scope: {SCOPE_READ}",
                scopes=[SCOPE_READ],
            )
            return
        if scope["method"] == "POST" and SCOPE_WRITE not in credentials.scopes:
            body, messages = await _buffer_body(receive, self.max_body)
            receive = _replay(messages, receive)
            if body is not None and await self._needs_write(body):
                await self._refuse(
                    scope,
                    receive,
                    send,
                    403,
                    "insufficient_scope",
                    f"This tool changes data and needs the {SCOPE_WRITE} scope",
                    scopes=list(ALL_SCOPES),
                )
                return
        scope = dict(scope, user=user, auth=AuthCredentials(credentials.scopes))
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def _needs_write(self, body: bytes) -> bool:
        names = _called_tools(body)
        if not names:
            return False
        known = await self.server.tool_annotations()
        for name in names:
            if name not in known:
                continue  # the server answers "unknown tool" itself
            if self.server.read_only:
                continue  # hidden write tools are "unknown" too, not a reason to ask for more scope
            if required_scope(known[name]) == SCOPE_WRITE:
                return True
        return False

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        error: str | None,
        description: str,
        *,
        scopes: list[str] | None = None,
    ) -> None:
        parts = []
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        parts.append(f'resource_metadata="{self.metadata_url}"')
        parts.append(f'scope="{" ".join(scopes or ALL_SCOPES)}"')
        body = {"error": error or "unauthorized", "error_description": description}
        response = JSONResponse(
            body, status_code=status, headers={"WWW-Authenticate": "Bearer " + ", ".join(parts)}
        )
        await response(scope, receive, send)


def protected_resource_document(settings: Settings) -> ProtectedResourceMetadata:
    """RFC 9728 metadata of the MCP endpoint."""
    config = auth_settings(settings)
    assert config.resource_server_url is not None
    return ProtectedResourceMetadata.model_validate(
        {
            "resource": str(config.resource_server_url),
            "authorization_servers": [str(config.issuer_url)],
            "scopes_supported": list(ALL_SCOPES),
            "resource_name": "lead-mcp",
        }
    )


def protected_resource_paths(settings: Settings) -> list[str]:
    """Where the metadata is served: RFC 9728's path (MCP path appended, prefix included) and the bare one."""
    inserted = str(build_resource_metadata_url(AnyHttpUrl(settings.mcp_url)))
    path = "/" + inserted.split("://", 1)[1].split("/", 1)[1]
    return sorted({path, "/.well-known/oauth-protected-resource"})


@dataclass
class HttpAuth:
    """What auth adds to the HTTP app: its routes, and the gate around ``/mcp``."""

    routes: list[BaseRoute]
    protect: Callable[[ASGIApp], ASGIApp]


def build_http_auth(settings: Settings, ref: StateRef, server: LeadServer) -> HttpAuth | None:
    """The auth of ``lead-mcp serve`` for the configured mode; None for auth=none (loopback only)."""
    if settings.auth is AuthMode.NONE:
        return None
    store_verifier = StoreTokenVerifier(ref, settings, settings.public_base_url)
    verifier: StoreTokenVerifier | JwtTokenVerifier = store_verifier
    routes: list[BaseRoute] = []
    if settings.auth is AuthMode.BUILTIN:
        provider = StoreAuthorizationServer(settings, ref)
        routes += authorization_server_routes(settings, provider)
        routes += signin.routes(ref, settings)
    else:
        assert settings.jwt_issuer and settings.jwt_jwks_url
        jwt = JwtVerifier(
            jwks_url=settings.jwt_jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience or settings.mcp_url,
            timeout_seconds=settings.outbound_timeout_seconds,
        )
        store_verifier.issuer = settings.jwt_issuer
        verifier = JwtTokenVerifier(ref, settings, store_verifier, jwt)

    document = protected_resource_document(settings).model_dump(mode="json", exclude_none=True)

    async def metadata(request: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    from starlette.routing import request_response

    metadata_app = cors(request_response(metadata), ["GET", "OPTIONS"])
    routes += [
        Route(path, metadata_app, methods=["GET", "OPTIONS"]) for path in protected_resource_paths(settings)
    ]

    backend = BearerAuthBackend(
        verifier, resource_server_url=AnyHttpUrl(canonical_resource(settings.mcp_url))
    )
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.mcp_url)))

    def protect(app: ASGIApp) -> ASGIApp:
        return BearerGate(app, backend=backend, metadata_url=metadata_url, server=server)

    return HttpAuth(routes=routes, protect=protect)
