"""scan_card's image_url: public addresses only, on every hop; canary servers prove nothing was fetched."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.conftest import FIXTURES
from tests.helpers import call, call_error

CARD = (FIXTURES / "cards" / "card_014.png").read_bytes()


class Canary:
    """A real HTTP server on a loopback address that counts every request it gets."""

    def __init__(self, host: str = "127.0.0.1", redirect_to: str | None = None) -> None:
        self.hits: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits.append(self.path)
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(CARD)))
                self.end_headers()
                self.wfile.write(CARD)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str | None = None, path: str = "/card.png") -> str:
        return f"http://{host or self.server.server_address[0]}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture
def canary2() -> Iterator[Canary]:
    """A second canary on 127.0.0.2: loopback, but outside an allow-list of 127.0.0.1/32."""
    server = Canary(host="127.0.0.2")
    yield server
    server.close()


async def test_scan_card_refuses_loopback_private_and_metadata_urls(client, canary):
    cases = [
        canary.url(),
        canary.url("localhost"),  # a DNS name whose answer is loopback
        canary.url("[::ffff:127.0.0.1]"),
        canary.url("2130706433"),  # 127.0.0.1 written as one number
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/card.png",
        "http://[fe80::1]/card.png",
        "http://0.0.0.0/card.png",
    ]
    for url in cases:
        text = await call_error(client, "scan_card", {"image_url": url})
        assert "image_url: refused" in text and "non-public address" in text, (url, text)
    for url, expected in [
        ("file:///etc/passwd", "only http:// and https://"),
        ("ftp://example.com/card.png", "only http:// and https://"),
        (f"http://user:pw@127.0.0.1:{canary.port}/", "credentials"),
    ]:
        assert expected in await call_error(client, "scan_card", {"image_url": url})
    assert canary.hits == []


async def test_scan_card_fetches_from_an_allowed_local_network(settings, clock, canary):
    allowed = settings.model_copy(update={"url_allowed_networks": [ipaddress.ip_network("127.0.0.1/32")]})
    async with Client(build_server(allowed, clock=clock), raise_exceptions=True) as client:
        result = await call(client, "scan_card", {"image_url": canary.url()})
    assert canary.hits == ["/card.png"]
    assert result["fields"]["full_name"] == "Noah Hughes"
    assert result["contact"]["source"] == "card_scan" and result["source"] == canary.url()


async def test_scan_card_refuses_a_redirect_to_a_non_public_address(settings, clock, canary2):
    allowed = settings.model_copy(update={"url_allowed_networks": [ipaddress.ip_network("127.0.0.1/32")]})
    for target in (canary2.url(), canary2.url("[::1]"), "http://169.254.169.254/latest/meta-data/"):
        redirector = Canary(redirect_to=target)
        try:
            async with Client(build_server(allowed, clock=clock), raise_exceptions=True) as client:
                text = await call_error(client, "scan_card", {"image_url": redirector.url()})
        finally:
            redirector.close()
        assert redirector.hits == ["/card.png"]
        assert "image_url: refused" in text and "non-public address" in text
    assert canary2.hits == []
