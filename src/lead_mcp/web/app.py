"""The HTTP application of ``lead-mcp serve``: MCP at ``/mcp``, health check, public pages.

One AppState (store, clock) is opened by this app's lifespan and shared by the
MCP endpoint and the web routes. The MCP endpoint runs stateless, so several
replicas behind a load balancer can share one PostgreSQL store.

Without auth (``LEAD_MCP_AUTH=none``) ``/mcp`` is this machine's alone: it answers
only a request that comes from loopback, names a loopback host and carries no
proxy's forwarding headers (:class:`LocalOnly`). So a tunnel or reverse proxy
that publishes the card pages (``LEAD_MCP_PUBLIC_BASE_URL`` set to its public
address) never publishes the unauthenticated MCP endpoint with them; the card,
scan-link and calendar-feed routes (public, or guarded by their own tokens)
stay reachable.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from mcp.server.streamable_http import check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lead_mcp import __version__
from lead_mcp.clock import Clock
from lead_mcp.config import AuthMode, HttpResponses, Settings
from lead_mcp.mcp.server import LeadServer, StateRef, build_server
from lead_mcp.mcp.state import AppState
from lead_mcp.runtime import freeze_startup_heap
from lead_mcp.web import calendar as calendar_web
from lead_mcp.web import cards as card_routes
from lead_mcp.web import scan as scan_pages
from lead_mcp.web.auth import build_http_auth

log = logging.getLogger(__name__)

# A web feature contributes its routes through a function of the shared state slot and settings;
# each feature adds one line to ROUTE_FACTORIES.
RouteFactory = Callable[[StateRef, Settings], list[BaseRoute]]
ROUTE_FACTORIES: list[RouteFactory] = [
    calendar_web.routes,
    card_routes.routes,
    scan_pages.routes,
]


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
# Headers a reverse proxy or tunnel adds: their presence means the request came from elsewhere.
FORWARDING_HEADERS = (
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"x-real-ip",
    b"cf-connecting-ip",
    b"true-client-ip",
    b"fastly-client-ip",
)


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() in LOOPBACK_NAMES


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def is_local_request(scope: Scope) -> bool:
    """True when a request was made on this machine: loopback peer, loopback Host, no proxy headers."""
    client = scope.get("client")
    if not client or not _is_loopback_address(str(client[0])):
        return False
    host = ""
    for name, value in scope.get("headers", []):
        if name in FORWARDING_HEADERS:
            return False
        if name == b"host":
            host = value.decode("latin-1")
    return _is_loopback_address(_host_name(host))


class LocalOnly:
    """Serves the wrapped app to this machine only (auth=none); others get 403 saying how to open it up."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.message = (
            "lead-mcp runs without sign-in (LEAD_MCP_AUTH=none), so /mcp answers only on this machine "
            "(from 127.0.0.1, not through a proxy or tunnel); the card pages stay public. To use MCP "
            f"through {settings.public_base_url}, set LEAD_MCP_AUTH=builtin or jwt."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass local requests on; refuse the rest before they reach the app."""
        if scope["type"] == "http" and not is_local_request(scope):
            response = JSONResponse(
                {"error": "local_only", "error_description": self.message}, status_code=403
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ChooseFraming:
    """Answers each POST to /mcp as an event stream only when the request can use one (``auto``).

    In stateless HTTP the only messages a request's stream can carry besides its answer are
    notifications about that request, and the one kind our tools send is progress, which a client
    asks for with ``_meta.progressToken``. A body that names a progress token (anywhere: a
    conservative byte test) goes to the streaming manager; every other one is answered with one
    JSON body, which costs a good deal less CPU than the event stream's task, framing and chunked
    writes. Requests that are not a plain POST accepting both media types (GET streams, DELETE, a
    client that accepts only one type, a body over the limit) go to the streaming manager, which
    answers them exactly as before. Both managers apply the SDK's body limit themselves; the body
    is read here only up to that limit and handed on unchanged.
    """

    def __init__(self, streams: StreamableHTTPSessionManager, bodies: StreamableHTTPSessionManager) -> None:
        self.streams = streams
        self.bodies = bodies
        self.limit = streams.max_request_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body (up to the limit), choose the framing, replay the body to that manager."""
        if scope["type"] != "http" or scope["method"] != "POST" or not self._plain(scope):
            await self.streams.handle_request(scope, receive, send)
            return
        received: list[Message] = []
        size = 0
        complete = False
        while size <= self.limit:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                complete = True
                break
        wants_stream = (
            not complete or size > self.limit or any(b"progressToken" in m.get("body", b"") for m in received)
        )
        pending = iter(received)

        async def replay() -> Message:
            for message in pending:
                return message
            return await receive()

        target = self.streams if wants_stream else self.bodies
        await target.handle_request(scope, replay, send)

    def _plain(self, scope: Scope) -> bool:
        """Accepts both JSON and event streams, and declares no body over the limit."""
        has_json, has_sse = check_accept_headers(Request(scope))
        if not (has_json and has_sse):
            return False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value) <= self.limit
                except ValueError:
                    return False
        return True


def mcp_endpoint(
    server: LeadServer, settings: Settings
) -> tuple[ASGIApp, list[StreamableHTTPSessionManager]]:
    """``/mcp`` as a bare router (the outer app handles errors), stateless, framed per the setting;
    and the session managers behind it, which the app's lifespan runs."""
    server.streamable_http_app(
        stateless_http=True,
        json_response=settings.http_responses is HttpResponses.JSON,
        transport_security=transport_security(settings),
        host=settings.host,
    )
    streams = server.session_manager
    endpoint: ASGIApp = StreamableHTTPASGIApp(streams)
    managers = [streams]
    if settings.http_responses is HttpResponses.AUTO:
        bodies = StreamableHTTPSessionManager(
            app=streams.app,
            json_response=True,
            stateless=True,
            security_settings=streams.security_settings,
            max_request_body_size=streams.max_request_body_size,
        )
        managers.append(bodies)
        endpoint = ChooseFraming(streams, bodies)
    return Router(routes=[Route("/mcp", endpoint=endpoint)]), managers


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection; admits the configured public host only when auth guards /mcp."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    public = urlsplit(settings.public_base_url)
    if public.netloc and settings.auth is not AuthMode.NONE:
        hosts += [public.netloc, f"{public.hostname}:*"]
        origins.append(f"{public.scheme}://{public.netloc}")
    if settings.host not in {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}:  # noqa: S104 - compared, not bound
        hosts += [settings.host, f"{settings.host}:*"]
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


def build_app(settings: Settings, *, clock: Clock | None = None, freeze_heap: bool = False) -> Starlette:
    """The ASGI app served by ``lead-mcp serve`` (``freeze_heap``: see ``runtime.freeze_startup_heap``)."""
    ref = StateRef()
    server = build_server(settings, state=ref, clock=clock)
    # One JSON body per call unless the call asks for progress (``auto``): streaming costs CPU on
    # every call and stateless HTTP carries no server-to-client requests anyway.
    mcp_app, session_managers = mcp_endpoint(server, settings)

    auth = build_http_auth(settings, ref, server)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ref.value = await AppState.open(settings, clock=clock)
        ref.value.require_token = auth is not None
        app.state.lead = ref.value
        try:
            async with contextlib.AsyncExitStack() as managers:
                for manager in session_managers:
                    await managers.enter_async_context(manager.run())
                if freeze_heap:
                    freeze_startup_heap()
                yield
        finally:
            await ref.value.close()
            ref.value = None

    async def healthz(request: Request) -> JSONResponse:
        state: AppState | None = ref.value
        if state is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await state.db.ping()
        except Exception as exc:
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET", "HEAD"])]
    for factory in ROUTE_FACTORIES:
        routes.extend(factory(ref, settings))
    well_known: list[BaseRoute] = []
    if auth is not None:
        well_known = [r for r in auth.routes if getattr(r, "path", "").startswith("/.well-known/")]
        routes.extend(r for r in auth.routes if r not in well_known)
    if auth is not None:
        routes.append(Mount("/", app=auth.protect(mcp_app)))
    else:
        if not settings.public_base_is_loopback:
            log.info(
                "auth=none: %s serves the card pages; /mcp answers only on this machine",
                settings.public_base_url,
            )
        routes.append(Mount("/", app=LocalOnly(mcp_app, settings)))
    prefix = settings.path_prefix
    # Behind a proxy that mounts us under a path, serve both with and without it, so it works whether
    # or not the proxy strips the prefix. Well-known documents live at the host's root (RFC 8414/9728).
    prefixed: list[BaseRoute] = [Mount(prefix, routes=routes)] if prefix else []
    routes = [*well_known, *prefixed, *routes]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    return app


__all__ = [
    "ROUTE_FACTORIES",
    "ChooseFraming",
    "LocalOnly",
    "build_app",
    "is_local_request",
    "mcp_endpoint",
    "transport_security",
]
