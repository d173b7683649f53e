"""The built-in OAuth 2.1 authorization server (auth=builtin), on the SDK's handlers.

The SDK (``mcp.server.auth``) parses and answers ``/authorize``, ``/token``,
``/register`` and ``/revoke``; :class:`StoreAuthorizationServer` is its
``OAuthAuthorizationServerProvider``, keeping every record in the database
(services/oauth.py, services/tokens.py) so replicas share them. Around the
SDK's handlers this module adds what our policy needs:

- PKCE with S256 is required and checked before anything else happens, and a
  redirect URI must equal a registered one exactly (a loopback IP may use any
  port, RFC 8252 §7.3);
- ``resource`` (RFC 8707) must name this server's MCP endpoint, at ``/authorize``
  and at ``/token``; it is bound into the code and the tokens;
- client secrets are stored as digests, so client authentication compares digests;
- a client may be known by the URL of its metadata document (client ID metadata
  documents) instead of registering;
- registration is rate-limited per address.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp.shared.auth import InvalidRedirectUriError, OAuthClientInformationFull, OAuthMetadata, OAuthToken
from mcp.shared.auth_utils import resource_url_from_server_url
from pydantic import AnyUrl, ValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from lead_mcp.config import Settings
from lead_mcp.domain import ALL_SCOPES
from lead_mcp.errors import LeadError
from lead_mcp.integrations.web_fetch import fetch_json
from lead_mcp.mcp.server import StateRef
from lead_mcp.mcp.state import AppState
from lead_mcp.services import oauth as oauth_store
from lead_mcp.services import ratelimit, tokens

log = logging.getLogger(__name__)

CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
LOOPBACK_IPS = {"127.0.0.1", "[::1]", "::1"}
DOCUMENT_FRESH = timedelta(hours=1)
DOCUMENT_STALE_OK = timedelta(hours=24)
REGISTRATIONS_PER_HOUR = 30
# Fetches of client metadata documents one address may cause per hour (each unknown client_id URL
# sent to /authorize or /token makes this server fetch it): keeps us from being used to hammer URLs.
DOCUMENT_FETCHES_PER_HOUR = 20
# The address of the request being handled, for limits inside the SDK's handlers' callbacks.
_requester: contextvars.ContextVar[str | None] = contextvars.ContextVar("lead_mcp_requester", default=None)
MAX_FORM_BYTES = 64 * 1024
NATIVE_SCHEME_RE = re.compile(r"[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+")  # reverse-DNS private-use schemes


def canonical_resource(url: str) -> str:
    """A resource URL as tokens are compared (RFC 8707: lower-case scheme and host, no trailing slash)."""
    return resource_url_from_server_url(url).rstrip("/")


def redirect_uri_allowed(uri: str) -> bool:
    """A redirect URI a client may register: https, loopback http or a private-use app scheme; no fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.fragment or not parts.scheme:
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme == "http":
        return (parts.hostname or "") in {"127.0.0.1", "::1", "localhost"}
    return bool(NATIVE_SCHEME_RE.fullmatch(parts.scheme))


def redirect_uri_matches(requested: str, registered: list[str]) -> bool:
    """Exact match with a registered URI; for loopback IP redirects the port may differ (RFC 8252 §7.3)."""
    if requested in registered:
        return True
    try:
        want = urlsplit(requested)
        want_port = want.port
    except ValueError:
        return False
    if want.scheme != "http" or want.hostname not in LOOPBACK_IPS or want_port is None:
        return False
    for candidate in registered:
        have = urlsplit(candidate)
        if (
            have.scheme == "http"
            and have.hostname == want.hostname
            and (have.path or "/") == (want.path or "/")
            and have.query == want.query
        ):
            return True
    return False


class LeadClient(OAuthClientInformationFull):
    """A client as the SDK handlers see it, with our redirect-URI and scope rules."""

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        """The registered URI this request names (compared exactly; loopback IPs may change port)."""
        registered = [str(u) for u in self.redirect_uris or []]
        if redirect_uri is None:
            if len(registered) == 1:
                return AnyUrl(registered[0])
            raise InvalidRedirectUriError("redirect_uri is required: this client registered several")
        normalized = [str(AnyUrl(u)) for u in registered]
        if redirect_uri_matches(str(redirect_uri), normalized):
            return redirect_uri
        raise InvalidRedirectUriError(f"redirect_uri {str(redirect_uri)!r} is not registered for this client")

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        """Our scopes among those requested; others (openid, offline_access, ...) are simply not granted."""
        allowed = (self.scope or " ".join(ALL_SCOPES)).split()
        if requested_scope is None:
            return [s for s in ALL_SCOPES if s in allowed]
        wanted = [s for s in ALL_SCOPES if s in requested_scope.split() and s in allowed]
        return wanted or [s for s in ALL_SCOPES if s in allowed]


class LeadAuthorizationCode(AuthorizationCode):
    """An authorization code with the seat it was issued to."""

    code_hash: str
    user_id: str
    workspace_id: str
    grant_id: str


class LeadRefreshToken(RefreshToken):
    """A refresh token with its grant."""

    grant: Any


def is_metadata_document_id(client_id: str, *, allow_loopback_http: bool) -> bool:
    """True when a client_id is the URL of a client ID metadata document."""
    if client_id.startswith("https://"):
        return True
    return allow_loopback_http and client_id.startswith(
        ("http://127.0.0.1", "http://localhost", "http://[::1]")
    )


def check_document_url(url: str) -> None:
    """The rules for a client ID URL: a path, no fragment, no credentials, no dot segments."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if (
        parts.fragment
        or parts.username
        or parts.password
        or parts.path in {"", "/"}
        or "." in segments
        or ".." in segments
    ):
        raise RegistrationError(
            "invalid_client_metadata", "client_id URL must have a path and no fragment or credentials"
        )


def client_from_document(url: str, document: Any) -> dict[str, Any]:
    """The registered metadata of a client ID metadata document, checked."""
    if not isinstance(document, dict):
        raise RegistrationError(
            "invalid_client_metadata", "the client metadata document is not a JSON object"
        )
    if document.get("client_id") != url:
        raise RegistrationError("invalid_client_metadata", "the document's client_id is not its own URL")
    if "client_secret" in document or document.get("token_endpoint_auth_method", "none") != "none":
        raise RegistrationError(
            "invalid_client_metadata",
            "a metadata-document client must be public (token_endpoint_auth_method none)",
        )
    uris = document.get("redirect_uris")
    if (
        not isinstance(uris, list)
        or not uris
        or not all(isinstance(u, str) and redirect_uri_allowed(u) for u in uris)
    ):
        raise RegistrationError(
            "invalid_redirect_uri", "redirect_uris must be https, loopback http or app-scheme URIs"
        )
    grant_types = document.get("grant_types", ["authorization_code", "refresh_token"])
    if not isinstance(grant_types, list) or not set(grant_types) <= {"authorization_code", "refresh_token"}:
        raise RegistrationError(
            "invalid_client_metadata", "grant_types may be authorization_code and refresh_token"
        )
    info: dict[str, Any] = {
        "redirect_uris": uris,
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": _known_scopes(document.get("scope")),
    }
    for name in ("client_name", "client_uri", "logo_uri", "software_id", "software_version"):
        value = document.get(name)
        if isinstance(value, str) and value:
            info[name] = value[:500]
    LeadClient.model_validate({**info, "client_id": url})  # refuses malformed URLs early
    return info


def _known_scopes(scope: Any) -> str:
    wanted = scope.split() if isinstance(scope, str) else []
    known = [s for s in ALL_SCOPES if s in wanted]
    return " ".join(known or ALL_SCOPES)


class StoreAuthorizationServer(
    OAuthAuthorizationServerProvider[LeadAuthorizationCode, LeadRefreshToken, AccessToken]
):
    """The SDK's ``OAuthAuthorizationServerProvider``, backed by the database."""

    def __init__(self, settings: Settings, ref: StateRef) -> None:
        self.settings = settings
        self.ref = ref
        self.issuer = settings.public_base_url
        self.resource = canonical_resource(settings.mcp_url)

    @property
    def state(self) -> AppState:
        """The open store (the app is serving)."""
        if self.ref.value is None:
            raise RuntimeError("the store is not open")
        return self.ref.value

    # --- clients ---

    async def get_client(self, client_id: str) -> LeadClient | None:
        """A registered client, or one known by its metadata document URL."""
        if is_metadata_document_id(client_id, allow_loopback_http=self.settings.public_base_is_loopback):
            return await self._document_client(client_id)
        state = self.state
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            stored = await oauth_store.get_client(session, client_id)
        if stored is None or stored.kind != "dynamic":
            return None
        return LeadClient.model_validate({**stored.info, "client_id": stored.client_id})

    async def stored_secret(self, client_id: str) -> str | None:
        """The digest of a registered client's secret."""
        state = self.state
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            stored = await oauth_store.get_client(session, client_id)
        return None if stored is None else stored.secret_hash

    async def _document_client(self, url: str) -> LeadClient | None:
        state = self.state
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            stored = await oauth_store.get_client(session, url)
        now = state.clock.now()
        if stored is not None and stored.fetched_at and now - stored.fetched_at < DOCUMENT_FRESH:
            return LeadClient.model_validate({**stored.info, "client_id": url})
        if not await self._may_fetch_document(state):
            log.warning("client metadata document %s not fetched: too many fetches from one address", url)
            if stored is not None and stored.fetched_at and now - stored.fetched_at < DOCUMENT_STALE_OK:
                return LeadClient.model_validate({**stored.info, "client_id": url})
            return None
        try:
            check_document_url(url)
            document = await fetch_json(url, allow_loopback=self.settings.public_base_is_loopback)
            info = client_from_document(url, document)
        except (LeadError, RegistrationError, ValidationError) as exc:
            log.warning(
                "client metadata document %s refused: %s", url, getattr(exc, "error_description", exc)
            )
            if stored is not None and stored.fetched_at and now - stored.fetched_at < DOCUMENT_STALE_OK:
                return LeadClient.model_validate({**stored.info, "client_id": url})
            return None
        async with state.db.transaction(all_workspaces=True) as session:
            await oauth_store.save_client(
                session, state.clock, client_id=url, kind="document", info=info, fetched=True
            )
        return LeadClient.model_validate({**info, "client_id": url})

    async def _may_fetch_document(self, state: AppState) -> bool:
        """Count a metadata fetch against the requesting address; False once it is over the hourly limit."""
        bucket = ratelimit.client_bucket(state.request_state_key, "client-metadata", _requester.get())
        async with state.db.transaction(all_workspaces=True) as session:
            count = await ratelimit.hit(session, state.clock, key=bucket, window_seconds=3600)
        return count <= DOCUMENT_FETCHES_PER_HOUR

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Dynamic client registration (RFC 7591): store the metadata and the secret's digest."""
        uris = [str(u) for u in client_info.redirect_uris or []]
        bad = [u for u in uris if not redirect_uri_allowed(u)]
        if not uris or bad:
            raise RegistrationError(
                "invalid_redirect_uri",
                f"redirect URI {bad[0] if bad else '(none)'} is not allowed: "
                "use https, http on 127.0.0.1/localhost, "
                "or a private-use app scheme",
            )
        if not set(client_info.grant_types) <= {"authorization_code", "refresh_token"}:
            raise RegistrationError(
                "invalid_client_metadata", "grant_types may be authorization_code and refresh_token"
            )
        if client_info.token_endpoint_auth_method not in {
            "none",
            "client_secret_post",
            "client_secret_basic",
        }:
            raise RegistrationError("invalid_client_metadata", "unsupported token_endpoint_auth_method")
        info = client_info.model_dump(mode="json", exclude_none=True, exclude={"client_secret", "client_id"})
        info["redirect_uris"] = uris
        info["scope"] = _known_scopes(client_info.scope)
        # The response still shows what was registered, with our scope decision.
        client_info.scope = info["scope"]
        secret_hash = tokens.digest(client_info.client_secret) if client_info.client_secret else None
        state = self.state
        async with state.db.transaction(all_workspaces=True) as session:
            await oauth_store.save_client(
                session,
                state.clock,
                client_id=client_info.client_id,
                kind="dynamic",
                info=info,
                secret_hash=secret_hash,
            )

    # --- authorization ---

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        """Check the request's resource and scopes, remember it, and send the user to the sign-in page."""
        resource = self.resource
        if params.resource is not None:
            try:
                asked = canonical_resource(params.resource)
            except ValueError:
                asked = ""
            if asked != self.resource:
                raise AuthorizeError(
                    "invalid_target", f"this server issues tokens only for resource {self.resource}"
                )
        scopes = [s for s in ALL_SCOPES if s in (params.scopes or ALL_SCOPES)] or list(ALL_SCOPES)
        pending = {
            "redirect_uri": str(params.redirect_uri),
            "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
            "code_challenge": params.code_challenge,
            "state": params.state,
            "scopes": scopes,
            "resource": resource,
            "client_name": client.client_name or "",
        }
        state = self.state
        async with state.db.transaction(all_workspaces=True) as session:
            request_id = await oauth_store.start_authorization(
                session, state.clock, client_id=client.client_id, params=pending
            )
        return f"{self.issuer}/oauth/signin?{urlencode({'request': request_id})}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> LeadAuthorizationCode | None:
        """An unused code of this client (a replayed one revokes what it produced)."""
        state = self.state
        async with state.db.transaction(all_workspaces=True) as session:
            grant = await oauth_store.load_code(
                session, state.clock, client_id=client.client_id, code=authorization_code
            )
        if grant is None:
            return None
        return LeadAuthorizationCode(
            code=authorization_code,
            scopes=grant.scopes,
            expires_at=grant.expires_at.timestamp(),
            client_id=grant.client_id,
            code_challenge=grant.code_challenge,
            redirect_uri=AnyUrl(grant.redirect_uri),
            redirect_uri_provided_explicitly=grant.redirect_uri_explicit,
            resource=grant.resource,
            subject=grant.user_id,
            code_hash=grant.code_hash,
            user_id=grant.user_id,
            workspace_id=grant.workspace_id,
            grant_id=grant.grant_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: LeadAuthorizationCode
    ) -> OAuthToken:
        """Use the code once and issue an access token and a refresh token bound to the resource."""
        state = self.state
        grant = oauth_store.CodeGrant(
            code_hash=authorization_code.code_hash,
            client_id=authorization_code.client_id,
            user_id=authorization_code.user_id,
            workspace_id=authorization_code.workspace_id,
            grant_id=authorization_code.grant_id,
            scopes=authorization_code.scopes,
            code_challenge=authorization_code.code_challenge,
            redirect_uri=str(authorization_code.redirect_uri),
            redirect_uri_explicit=authorization_code.redirect_uri_provided_explicitly,
            resource=authorization_code.resource or self.resource,
            expires_at=state.clock.now(),
        )
        async with state.db.transaction(all_workspaces=True) as session:
            pair = await oauth_store.redeem_code(
                session,
                state.clock,
                grant=grant,
                access_ttl=self.settings.access_token_ttl,
                refresh_ttl=self.settings.refresh_token_ttl,
            )
        if pair is None:
            raise TokenError("invalid_grant", "authorization code was already used")
        return _token_response(pair)

    # --- refresh ---

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> LeadRefreshToken | None:
        """A live, unused refresh token of this client (a replayed one revokes its grant)."""
        state = self.state
        async with state.db.transaction(all_workspaces=True) as session:
            grant = await tokens.load_refresh(
                session, state.clock, client_id=client.client_id, token=refresh_token
            )
        if grant is None:
            return None
        return LeadRefreshToken(
            token=refresh_token,
            client_id=grant.client_id,
            scopes=grant.scopes,
            expires_at=int(grant.expires_at.timestamp()) if grant.expires_at else None,
            resource=grant.resource,
            subject=grant.user_id,
            grant=grant,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: LeadRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        """Rotate: the refresh token is used up and a new pair is issued."""
        state = self.state
        async with state.db.transaction(all_workspaces=True) as session:
            pair = await tokens.rotate_refresh(
                session,
                state.clock,
                grant=refresh_token.grant,
                scopes=scopes,
                access_ttl=self.settings.access_token_ttl,
                refresh_ttl=self.settings.refresh_token_ttl,
            )
        if pair is None:
            raise TokenError("invalid_grant", "refresh token was already used")
        return _token_response(pair)

    # --- access tokens ---

    async def load_access_token(self, token: str) -> AccessToken | None:
        """An access token of ours, for revocation (requests are checked by the bearer gate's verifier)."""
        state = self.state
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            principal = await tokens.verify_bearer(session, state.clock, token)
        if principal is None:
            return None
        return AccessToken(
            token=token,
            client_id=principal.client_id or principal.kind,
            scopes=principal.scopes,
            subject=principal.user_id,
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        """Revoke a token and the rest of its grant."""
        state = self.state
        async with state.db.transaction(all_workspaces=True) as session:
            row = await tokens.find_token(session, token.token)
            if row is not None:
                await tokens.revoke_by_id(session, state.clock, token_id=row.id)


def _token_response(pair: tokens.IssuedPair) -> OAuthToken:
    return OAuthToken(
        access_token=pair.access_token,
        token_type="Bearer",  # noqa: S106 - a token type, not a password
        expires_in=pair.expires_in,
        scope=" ".join(pair.scopes),
        refresh_token=pair.refresh_token,
    )


class DigestClientAuthenticator(ClientAuthenticator):
    """The SDK's client authentication, comparing the presented secret's digest with the stored one."""

    provider: StoreAuthorizationServer

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        """The client of a token or revocation request, its secret checked."""
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        client = await self.provider.get_client(client_id)
        if client is None:
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method or "client_secret_post"
        if method == "none":
            return client
        presented: str | None = None
        if method == "client_secret_basic":
            header = request.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                raise AuthenticationError("Missing or invalid Basic authentication in Authorization header")
            try:
                decoded = base64.b64decode(header[6:]).decode("utf-8")
                basic_id, presented = (unquote(part) for part in decoded.split(":", 1))
            except (ValueError, UnicodeDecodeError, binascii.Error):
                raise AuthenticationError("Invalid Basic authentication header") from None
            if basic_id != client_id:
                raise AuthenticationError("Client ID mismatch in Basic auth")
        else:
            raw = form.get("client_secret")
            presented = raw if isinstance(raw, str) else None
        if not presented:
            raise AuthenticationError("Client secret is required")
        if not tokens.same_digest(presented, await self.provider.stored_secret(client_id)):
            raise AuthenticationError("Invalid client_secret")
        expires = client.client_secret_expires_at
        if expires and expires < int(time.time()):
            raise AuthenticationError("Client secret has expired")
        return client


def _error_redirect(target: str, *, error: str, description: str, state: str | None, issuer: str) -> Response:
    params = {"error": error, "error_description": description, "iss": issuer}
    if state is not None:
        params["state"] = state
    joiner = "&" if urlsplit(target).query else "?"
    return RedirectResponse(
        f"{target}{joiner}{urlencode(params)}", status_code=302, headers={"Cache-Control": "no-store"}
    )


def _bad_request(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


@dataclass
class AuthorizationServerEndpoints:
    """The endpoint functions: our checks first, then the SDK's handlers."""

    provider: StoreAuthorizationServer
    settings: Settings

    def __post_init__(self) -> None:
        authenticator = DigestClientAuthenticator(self.provider)
        self._authorize = AuthorizationHandler(self.provider)
        self._token = TokenHandler(self.provider, authenticator)
        self._revoke = RevocationHandler(self.provider, authenticator)
        self._register = RegistrationHandler(
            self.provider,
            options=ClientRegistrationOptions(enabled=True, default_scopes=list(ALL_SCOPES)),
        )

    async def authorize(self, request: Request) -> Response:
        """``/authorize``: PKCE S256 and an exactly registered redirect URI, before any sign-in page."""
        _requester.set(request.client.host if request.client else None)
        params = request.query_params if request.method == "GET" else await request.form()
        client_id = params.get("client_id")
        client = (
            await self.provider.get_client(client_id) if isinstance(client_id, str) and client_id else None
        )
        if client is not None:
            registered = [str(u) for u in client.redirect_uris or []]
            raw_redirect = params.get("redirect_uri")
            if raw_redirect is not None:
                if not isinstance(raw_redirect, str) or not redirect_uri_matches(raw_redirect, registered):
                    # Never redirect to a URI the client did not register: answer here.
                    return _bad_request("invalid_request", "redirect_uri is not registered for this client")
                target = raw_redirect
            elif len(registered) == 1:
                target = registered[0]
            else:
                return _bad_request(
                    "invalid_request", "redirect_uri is required: this client registered several"
                )
            state = params.get("state")
            challenge = params.get("code_challenge")
            if params.get("code_challenge_method") != "S256" or not (
                isinstance(challenge, str) and CHALLENGE_RE.fullmatch(challenge)
            ):
                return _error_redirect(
                    target,
                    error="invalid_request",
                    description="PKCE is required: send code_challenge (43 characters) "
                    "with code_challenge_method=S256",
                    state=state if isinstance(state, str) else None,
                    issuer=self.provider.issuer,
                )
            if params.get("response_type") != "code":
                return _error_redirect(
                    target,
                    error="unsupported_response_type",
                    description="only response_type=code is supported",
                    state=state if isinstance(state, str) else None,
                    issuer=self.provider.issuer,
                )
        return await self._authorize.handle(request)

    async def token(self, request: Request) -> Response:
        """``/token``: the SDK's code and refresh grants, after checking ``resource`` names this server."""
        _requester.set(request.client.host if request.client else None)
        form = await request.form()
        resource = form.get("resource")
        if resource is not None and (
            not isinstance(resource, str) or canonical_resource(resource) != self.provider.resource
        ):
            return _bad_request(
                "invalid_target", f"this server issues tokens only for {self.provider.resource}"
            )
        response: Response = await self._token.handle(request)
        return response

    async def register(self, request: Request) -> Response:
        """``/register``: dynamic client registration, rate-limited per address."""
        state = self.provider.state
        address = request.client.host if request.client else "unknown"
        async with state.db.transaction(all_workspaces=True) as session:
            count = await ratelimit.hit(session, state.clock, key=f"register:{address}", window_seconds=3600)
        if count > REGISTRATIONS_PER_HOUR:
            return _bad_request(
                "temporarily_unavailable", "too many registrations from this address; try later", 429
            )
        return await self._register.handle(request)

    async def revoke(self, request: Request) -> Response:
        """``/revoke``: token revocation (RFC 7009)."""
        _requester.set(request.client.host if request.client else None)
        return await self._revoke.handle(request)


def authorization_server_metadata(settings: Settings) -> OAuthMetadata:
    """RFC 8414 metadata of the built-in authorization server."""
    issuer = settings.public_base_url
    auth_methods = ["none", "client_secret_post", "client_secret_basic"]
    return OAuthMetadata.model_validate(
        dict(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            registration_endpoint=f"{issuer}/register",
            revocation_endpoint=f"{issuer}/revoke",
            revocation_endpoint_auth_methods_supported=auth_methods,
            scopes_supported=list(ALL_SCOPES),
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            token_endpoint_auth_methods_supported=auth_methods,
            code_challenge_methods_supported=["S256"],
            client_id_metadata_document_supported=True,
            authorization_response_iss_parameter_supported=True,
        )
    )


def cors(app: ASGIApp, methods: list[str]) -> ASGIApp:
    """Open to browser-based clients (the token and metadata endpoints carry no cookies)."""
    return CORSMiddleware(
        app,
        allow_origins=["*"],
        allow_methods=methods,
        allow_headers=["authorization", "content-type", "mcp-protocol-version"],
    )


def limited(app: ASGIApp) -> ASGIApp:
    """A body-size cap on form and JSON endpoints."""
    return RequestBodyLimitMiddleware(app, MAX_FORM_BYTES)


def endpoint_app(handler: Any) -> ASGIApp:
    """An ASGI app calling a ``Request -> Response`` handler."""
    from starlette.routing import request_response

    return request_response(handler)


def authorization_server_routes(settings: Settings, provider: StoreAuthorizationServer) -> list[BaseRoute]:
    """The authorization server's endpoints and its metadata (RFC 8414, under the issuer's path too)."""
    endpoints = AuthorizationServerEndpoints(provider, settings)
    metadata = cors(
        endpoint_app(MetadataHandler(authorization_server_metadata(settings)).handle), ["GET", "OPTIONS"]
    )
    prefix = settings.path_prefix
    well_known = {
        "/.well-known/oauth-authorization-server",
        f"/.well-known/oauth-authorization-server{prefix}",
    }
    routes: list[BaseRoute] = [
        Route(path, metadata, methods=["GET", "OPTIONS"]) for path in sorted(well_known)
    ]
    routes += [
        Route("/authorize", limited(endpoint_app(endpoints.authorize)), methods=["GET", "POST"]),
        Route(
            "/token",
            cors(limited(endpoint_app(endpoints.token)), ["POST", "OPTIONS"]),
            methods=["POST", "OPTIONS"],
        ),
        Route(
            "/register",
            cors(limited(endpoint_app(endpoints.register)), ["POST", "OPTIONS"]),
            methods=["POST", "OPTIONS"],
        ),
        Route(
            "/revoke",
            cors(limited(endpoint_app(endpoints.revoke)), ["POST", "OPTIONS"]),
            methods=["POST", "OPTIONS"],
        ),
    ]
    return routes
