"""Fetching from a URL someone handed us (a card photo, an OAuth client's metadata document),
without becoming a proxy into the local network.

Every hop (the first URL and each redirect) is checked the same way: http or https only, no
credentials in the URL, the host name resolved here, and every address it resolves to must be
public (not loopback, private, link-local such as 169.254.169.254, multicast, reserved or
otherwise special) unless it lies in an allowed network from the settings. The connection then
goes to the checked address itself (the host name is kept for the Host header and TLS), so a
DNS answer that changes between check and connect cannot redirect it. Size and time are capped.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from lead_mcp.errors import ExternalServiceError, InvalidInput

MAX_REDIRECTS = 5
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(ValueError):
    """The URL may not be fetched (scheme, address, size); the message says why."""


class FetchFailed(RuntimeError):
    """The URL could not be fetched (network error, timeout, HTTP error)."""


# IPv6 ranges that carry or translate IPv4 traffic (and so can reach an IPv4 address behind
# them, 127.0.0.1 and 169.254.169.254 included, through a relay or translator on the path),
# or are otherwise not an ordinary public host, whatever Python's table says of them.
TRANSITION_NETWORKS: tuple[ipaddress.IPv6Network, ...] = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "2002::/16",  # 6to4 (RFC 3056): 2002:AABB:CCDD:: embeds the IPv4 address AA.BB.CC.DD
        "2001::/32",  # Teredo (RFC 4380)
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
        "64:ff9b:1::/48",  # NAT64 local-use prefix (RFC 8215)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 7915)
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
        "100::/64",  # discard-only (RFC 6666)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # segment routing SIDs (RFC 9602)
    )
)


def is_public(address: IpAddress) -> bool:
    """True for a globally routable unicast address that is not a tunnel or translator to another one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if any(address in network for network in TRANSITION_NETWORKS):
            return False
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
    accept: str = "image/png, image/jpeg, image/webp",
    max_redirects: int = MAX_REDIRECTS,
) -> tuple[bytes, str]:
    """The body of ``url`` (at most ``max_bytes``) and the final URL, following checked redirects."""
    with anyio.fail_after(timeout):
        async with httpx.AsyncClient(
            transport=transport, follow_redirects=False, timeout=timeout, trust_env=False
        ) as client:
            current = url
            for _ in range(max_redirects + 1):
                scheme, host, port = _check_url(current)
                address = await resolve_checked(host, port, allowed_networks)
                pinned = httpx.URL(current).copy_with(host=address)
                host_header = host if port in {80, 443} else f"{host}:{port}"
                if ":" in host and not host.startswith("["):
                    host_header = f"[{host}]" if port in {80, 443} else f"[{host}]:{port}"
                request = client.build_request(
                    "GET",
                    pinned,
                    headers={"Host": host_header, "Accept": accept},
                    extensions={"sni_hostname": host} if scheme == "https" else {},
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise FetchFailed(f"{host} could not be reached ({type(exc).__name__})") from None
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
                        raise FetchRefused(f"the body is {int(declared):,} bytes; the limit is {max_bytes:,}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchRefused(f"the body is larger than the limit of {max_bytes:,} bytes")
                    return bytes(body), current
                finally:
                    await response.aclose()
            raise FetchFailed(f"more than {max_redirects} redirects")


LOOPBACK_NETWORKS: tuple[IpNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
JSON_MAX_BYTES = 64 * 1024
JSON_TIMEOUT_SECONDS = 5.0


async def fetch_json(url: str, *, allow_loopback: bool = False) -> Any:
    """A JSON document of at most 64 KiB over https (http only on loopback, when allowed); no redirects."""
    parts = urlsplit(url)
    loopback_http = (
        parts.scheme == "http" and allow_loopback and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    )
    if parts.scheme != "https" and not loopback_http:
        raise InvalidInput("url", "must be an https:// URL")
    try:
        body, _final = await fetch_bytes(
            url,
            max_bytes=JSON_MAX_BYTES,
            timeout=JSON_TIMEOUT_SECONDS,
            allowed_networks=LOOPBACK_NETWORKS if allow_loopback else (),
            accept="application/json",
            max_redirects=0,
        )
    except FetchRefused as exc:
        raise InvalidInput("url", str(exc)) from None
    except (FetchFailed, TimeoutError) as exc:
        raise ExternalServiceError(f"cannot fetch {url}: {exc}") from None
    try:
        return json.loads(body)
    except ValueError:
        raise ExternalServiceError(f"{url} is not JSON") from None
