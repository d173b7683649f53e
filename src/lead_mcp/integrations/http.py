"""Outbound HTTP with limits: every call to the outside world has a deadline and a size cap.

Integrations (HubSpot, fetching a card image by URL, an identity provider's
JWKS) take their ``httpx.AsyncClient`` from :func:`outbound_client`, so none can
hang a tool call on a slow or silent server, and read bodies with
:func:`read_limited`, so none can be fed an endless download. httpx's timeouts
bound each read; ``deadline`` bounds the whole exchange (a server that trickles
a byte a second never trips a per-read timeout). A timeout or an oversized
answer becomes an ``ExternalServiceError`` whose message names the service, the
limit and what to do, which a model can act on::

    ExternalServiceError
    └── OutboundError          (raised by read_limited)
        ├── OutboundTimeout     no answer within the limit
        ├── OutboundUnreachable could not connect, or the connection broke
        └── OutboundTooLarge    the answer is over max_bytes
"""

from __future__ import annotations

import anyio
import httpx

from lead_mcp import __version__
from lead_mcp.errors import ExternalServiceError

CONNECT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 20 * 1024 * 1024


class OutboundError(ExternalServiceError):
    """A call to an outside service failed before a usable answer arrived."""


class OutboundTimeout(OutboundError):
    """The service did not answer within the limit."""


class OutboundUnreachable(OutboundError):
    """The service could not be reached (connection refused, reset, DNS...)."""


class OutboundTooLarge(OutboundError):
    """The answer was over the size limit."""


def outbound_timeout(seconds: float) -> httpx.Timeout:
    """``seconds`` for each read, write and pool wait; connecting gets at most 5 s of it."""
    return httpx.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT_SECONDS))


def outbound_client(
    timeout_seconds: float, *, transport: httpx.AsyncBaseTransport | None = None, **kwargs: object
) -> httpx.AsyncClient:
    """An HTTP client for calls leaving this machine: timeouts, no redirects by default, our User-Agent."""
    return httpx.AsyncClient(
        timeout=outbound_timeout(timeout_seconds),
        follow_redirects=False,
        headers={"User-Agent": f"lead-mcp/{__version__}"},
        transport=transport,
        **kwargs,  # type: ignore[arg-type]
    )


async def read_limited(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    service: str,
    max_bytes: int = MAX_RESPONSE_BYTES,
    deadline: float | None = None,
    setting: str | None = None,
    **kwargs: object,
) -> httpx.Response:
    """Send a request and read its body; too slow or over ``max_bytes`` is an OutboundError.

    ``deadline`` (seconds) bounds the whole request, connecting and reading included; ``setting``
    names the setting behind the limit, for the message.
    """
    named = f" ({setting})" if setting else ""
    try:
        with anyio.fail_after(deadline):
            return await _read(client, method, url, service=service, max_bytes=max_bytes, **kwargs)
    except TimeoutError:
        raise OutboundTimeout(
            f"{service}: {url} did not answer within {deadline:g} s{named}; "
            "nothing more was sent. Try again later, or check the address"
        ) from None
    except httpx.TimeoutException as exc:
        limit = client.timeout.read if not isinstance(exc, httpx.ConnectTimeout) else client.timeout.connect
        raise OutboundTimeout(
            f"{service}: {url} did not answer within {limit:g} s{named} ({type(exc).__name__}); "
            "nothing was changed. Try again later, or check the address"
        ) from None
    except httpx.TransportError as exc:
        raise OutboundUnreachable(
            f"{service}: could not reach {url} ({type(exc).__name__}); nothing was changed. "
            "Check the address and the network, then try again"
        ) from None


async def _read(
    client: httpx.AsyncClient, method: str, url: str, *, service: str, max_bytes: int, **kwargs: object
) -> httpx.Response:
    async with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise OutboundTooLarge(
                f"{service}: the answer from {url} is {int(declared):,} bytes; "
                f"at most {max_bytes:,} bytes are read. Use a smaller file or another source"
            )
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > max_bytes:
                raise OutboundTooLarge(
                    f"{service}: the answer from {url} is larger than {max_bytes:,} bytes; "
                    "reading stopped. Use a smaller file or another source"
                )
        return httpx.Response(
            response.status_code, headers=response.headers, content=bytes(body), request=response.request
        )
