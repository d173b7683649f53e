"""A real uvicorn server on a free loopback port, for tests that speak HTTP to the app."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def live_app(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    # startup() returns once the app's lifespan ran and the socket accepts connections.
    await server.startup(sockets=[sock])
    loop = asyncio.create_task(server.main_loop())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await loop
        await server.shutdown(sockets=[sock])
        sock.close()
