"""The HTTP application of ``lead-mcp serve``: MCP at ``/mcp``, health check, public pages.

One AppState (store, clock) is opened by this app's lifespan and shared by the
MCP endpoint and the web routes. The MCP endpoint runs stateless, so several
replicas behind a load balancer can share one PostgreSQL store.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from lead_mcp import __version__
from lead_mcp.clock import Clock
from lead_mcp.config import HttpResponses, Settings
from lead_mcp.mcp.server import StateRef, build_server
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


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection that still admits the configured public host."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    public = urlsplit(settings.public_base_url)
    if public.netloc:
        hosts += [public.netloc, f"{public.hostname}:*"]
        origins.append(f"{public.scheme}://{public.netloc}")
    if settings.host not in {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}:  # noqa: S104 - compared, not bound
        hosts += [settings.host, f"{settings.host}:*"]
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


def build_app(settings: Settings, *, clock: Clock | None = None, freeze_heap: bool = False) -> Starlette:
    """The ASGI app served by ``lead-mcp serve`` (``freeze_heap``: see ``runtime.freeze_startup_heap``)."""
    ref = StateRef()
    server = build_server(settings, state=ref, clock=clock)
    mcp_app = server.streamable_http_app(
        stateless_http=True,
        # One JSON body per call unless SSE is asked for: streaming costs ~0.3 ms of CPU per call and
        # stateless HTTP carries no server-to-client requests anyway (only progress notifications).
        json_response=settings.http_responses is HttpResponses.JSON,
        transport_security=transport_security(settings),
        host=settings.host,
    )

    auth = build_http_auth(settings, ref, server)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ref.value = await AppState.open(settings, clock=clock)
        ref.value.require_token = auth is not None
        app.state.lead = ref.value
        try:
            async with server.session_manager.run():
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
    routes.append(Mount("/", app=auth.protect(mcp_app) if auth is not None else mcp_app))
    prefix = settings.path_prefix
    # Behind a proxy that mounts us under a path, serve both with and without it, so it works whether
    # or not the proxy strips the prefix. Well-known documents live at the host's root (RFC 8414/9728).
    prefixed: list[BaseRoute] = [Mount(prefix, routes=routes)] if prefix else []
    routes = [*well_known, *prefixed, *routes]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    return app


__all__ = ["ROUTE_FACTORIES", "build_app", "transport_security"]
