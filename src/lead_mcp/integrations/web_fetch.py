"""Fetch a small JSON document from a URL someone else chose, without becoming their proxy into our network.

Used for OAuth client ID metadata documents: the client names a URL and the
authorization server fetches it. The host must resolve only to public
addresses (unless loopback is allowed, for development), redirects are not
followed, and the body is capped in size and time.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx

from lead_mcp.errors import ExternalServiceError, InvalidInput

MAX_BYTES = 64 * 1024
TIMEOUT_SECONDS = 5.0


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


async def check_public_host(host: str, *, allow_loopback: bool) -> None:
    """Refuse hosts that resolve to private, link-local or (unless allowed) loopback addresses."""
    try:
        infos = await anyio.to_thread.run_sync(
            lambda: socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        )
    except OSError as exc:
        raise ExternalServiceError(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = str(info[4][0])
        ip = ipaddress.ip_address(address)
        if allow_loopback and ip.is_loopback:
            continue
        if not _is_public(address):
            raise InvalidInput("url", f"{host} resolves to a non-public address ({address})")


async def fetch_json(
    url: str, *, allow_loopback: bool = False, client: httpx.AsyncClient | None = None
) -> Any:
    """GET a JSON document of at most 64 KiB over https (or http on loopback, when allowed)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    loopback_http = parts.scheme == "http" and allow_loopback and host in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not loopback_http:
        raise InvalidInput("url", "must be an https:// URL")
    await check_public_host(host, allow_loopback=allow_loopback)
    own = client is None
    http = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        async with http.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise ExternalServiceError(f"{url} answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > MAX_BYTES:
                    raise ExternalServiceError(f"{url} is larger than {MAX_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise ExternalServiceError(f"cannot fetch {url}: {type(exc).__name__}") from None
    finally:
        if own:
            await http.aclose()
    try:
        return json.loads(bytes(body))
    except ValueError:
        raise ExternalServiceError(f"{url} is not JSON") from None
