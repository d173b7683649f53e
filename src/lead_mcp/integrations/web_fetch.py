"""Fetching an image from a URL someone handed us, without becoming a proxy into the local network.

Every hop (the first URL and each redirect) is checked the same way: http or https only, no
credentials in the URL, the host name resolved here, and every address it resolves to must be
public (not loopback, private, link-local such as 169.254.169.254, multicast, reserved or
otherwise special) unless it lies in an allowed network from the settings. The connection then
goes to the checked address itself (the host name is kept for the Host header and TLS), so a
DNS answer that changes between check and connect cannot redirect it. Size and time are capped.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

MAX_REDIRECTS = 5
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(ValueError):
    """The URL may not be fetched (scheme, address, size); the message says why."""


class FetchFailed(RuntimeError):
    """The URL could not be fetched (network error, timeout, HTTP error)."""


def is_public(address: IpAddress) -> bool:
    """True for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_loopback or address.is_link_local
    )


def _allowed(address: IpAddress, networks: Sequence[IpNetwork]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return is_public(address) or any(address.version == n.version and address in n for n in networks)


async def resolve_checked(host: str, port: int, networks: Sequence[IpNetwork]) -> str:
    """One address of ``host`` after checking that every address it resolves to may be fetched."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise FetchFailed(f"the host {host!r} could not be resolved") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise FetchFailed(f"the host {host!r} has no address")
    for address in addresses:
        if not _allowed(address, networks):
            raise FetchRefused(
                f"the host {host!r} is at a non-public address ({address}); "
                "loopback, private, link-local and "
                "reserved addresses are refused (set LEAD_MCP_URL_ALLOWED_NETWORKS to allow a local network)"
            )
    return str(addresses[0])


def _check_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise FetchRefused("only http:// and https:// URLs are fetched")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are refused")
    host = parts.hostname
    if not host:
        raise FetchRefused("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused("the URL's port is not a number") from None
    return parts.scheme, host, port


async def fetch_bytes(
    url: str,
    *,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 - one budget for every hop, enforced with fail_after
    allowed_networks: Sequence[IpNetwork] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[bytes, str]:
    """The body of ``url`` (at most ``max_bytes``) and the final URL, following checked redirects."""
    with anyio.fail_after(timeout):
        async with httpx.AsyncClient(
            transport=transport, follow_redirects=False, timeout=timeout, trust_env=False
        ) as client:
            current = url
            for _ in range(MAX_REDIRECTS + 1):
                scheme, host, port = _check_url(current)
                address = await resolve_checked(host, port, allowed_networks)
                pinned = httpx.URL(current).copy_with(host=address)
                host_header = host if port in {80, 443} else f"{host}:{port}"
                if ":" in host and not host.startswith("["):
                    host_header = f"[{host}]" if port in {80, 443} else f"[{host}]:{port}"
                request = client.build_request(
                    "GET",
                    pinned,
                    headers={"Host": host_header, "Accept": "image/png, image/jpeg, image/webp"},
                    extensions={"sni_hostname": host} if scheme == "https" else {},
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise FetchFailed(f"the image could not be fetched ({type(exc).__name__})") from None
                try:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchFailed("a redirect without a Location header")
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise FetchFailed(f"the server answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchRefused(
                            f"the image is {int(declared):,} bytes; the limit is {max_bytes:,}"
                        )
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchRefused(f"the image is larger than the limit of {max_bytes:,} bytes")
                    return bytes(body), current
                finally:
                    await response.aclose()
            raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")
