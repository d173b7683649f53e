"""The phone scan page over a real `lead-mcp serve`: link from the tool, photos uploaded, leads saved."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from mcp import Client
from tests.conftest import FIXTURES
from tests.e2e.servers import serve
from tests.helpers import call

CARDS = FIXTURES / "cards"


@contextmanager
def _serve(tmp_path: Path) -> Iterator[str]:
    with serve(
        f"sqlite+aiosqlite:///{tmp_path / 'scan.db'}", scan_roots=str(tmp_path), scan_upload_max_files="3"
    ) as server:
        yield server.url


def _declare_huge_upload(url: str) -> str:
    """Announce a 1 GB upload and send none of it: the server must answer 413 from the headers alone."""
    parts = httpx.URL(url)
    with socket.create_connection((parts.host, parts.port), timeout=10) as sock:
        head = (
            f"POST {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000000\r\n\r\n"
        )
        sock.sendall(head.encode())
        return sock.recv(200).decode(errors="replace")


async def test_scan_page_uploads_phone_photos_as_leads(tmp_path: Path) -> None:
    with _serve(tmp_path) as base:
        async with Client(f"{base}/mcp") as client:
            result = await client.call_tool("get_scan_link", {"tags": ["fair"], "met_at": "Trade fair"})
            assert not result.is_error
            link = result.structured_content
            assert any(getattr(block, "mime_type", "") == "image/png" for block in result.content)  # the QR
            url = link["url"]
            assert url.startswith(f"{base}/scan/") and len(url.rsplit("/", 1)[1]) >= 40

            page = httpx.get(url)
            assert page.status_code == 200
            assert (
                "capture=environment" in page.text
                and "multiple" in page.text
                and "accept='image/*'" in page.text
            )
            assert "<script" not in page.text
            assert "default-src 'none'" in page.headers["content-security-policy"]
            assert page.headers["referrer-policy"] == "no-referrer"
            form_token = re.search(r"name=form value='([0-9a-f]+)'", page.text).group(1)

            photos = [
                ("photos", ("IMG_0001.png", (CARDS / "card_010.png").read_bytes(), "image/png")),
                ("photos", ("IMG_0002.png", (CARDS / "card_013.png").read_bytes(), "image/png")),
            ]
            done = httpx.post(url, data={"form": form_token}, files=photos, timeout=120)
            assert done.status_code == 200, done.text
            assert "Zoë Ó Briain" in done.text and "Diego Thompson" in done.text
            assert done.text.count("new lead saved") == 2

            found = await call(client, "search_contacts", {"source": "card_scan"})
            assert sorted(c["full_name"] for c in found["items"]) == ["Diego Thompson", "Zoë Ó Briain"]
            due = await call(client, "list_due_followups", {"within_days": 0})
            assert len(due["items"]) == 2
            detail = await call(client, "get_contact", {"contact_id": found["items"][0]["id"]})
            assert detail["contact"]["tags"] == ["fair"] and detail["contact"]["met_at"] == "Trade fair"

            again = httpx.post(url, data={"form": form_token}, files=photos[:1], timeout=120)
            assert "already scanned before" in again.text

            # Refusals: no form token, a cross-site post, too many bytes, an unknown token.
            assert httpx.post(url, files=photos[:1]).status_code == 403
            cross = httpx.post(
                url, data={"form": form_token}, files=photos[:1], headers={"Sec-Fetch-Site": "cross-site"}
            )
            assert cross.status_code == 403
            assert _declare_huge_upload(url).startswith("HTTP/1.1 413")
            assert httpx.get(f"{base}/scan/not-a-real-token").status_code == 404
            bad = httpx.post(
                url,
                data={"form": form_token},
                files=[("photos", ("notes.png", b"just text", "image/png"))],
                timeout=60,
            )
            assert bad.status_code == 200 and "is not a PNG, JPEG or WebP image" in bad.text
            found = await call(client, "search_contacts", {"source": "card_scan"})
            assert len(found["items"]) == 2
