"""`lead-mcp card export DIR`: a static copy any static host can serve (real subprocess, both stores)."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import vobject
from PIL import Image

from lead_mcp.integrations.qr import parse_ndef_uri_message
from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.card_support import CARD, decode_qr
from tests.helpers import call


def run_cli(settings, *args: str, public_base_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_MCP_")}
    env.update(
        LEAD_MCP_DATABASE_URL=settings.database_url,
        LEAD_MCP_PUBLIC_BASE_URL=public_base_url or settings.public_base_url,
        LEAD_MCP_TIMEZONE="Europe/Berlin",
    )
    command = [str(Path(sys.executable).with_name("lead-mcp")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_card_export_writes_a_page_vcard_and_qr_codes_for_a_static_host(settings, clock, tmp_path):
    photo = io.BytesIO()
    Image.new("RGB", (48, 48), (30, 90, 200)).save(photo, format="JPEG")
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as client:
        await call(
            client, "publish_card", {**CARD, "photo_base64": base64.b64encode(photo.getvalue()).decode()}
        )

    out = tmp_path / "site"
    done = run_cli(settings, "card", "export", str(out), "--url", "https://ana.example.com/")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["_headers", "ana-souza.vcf", "index.html", "nfc.ndef", "photo.jpg", "qr.png", "qr.svg"]
    assert [Path(line).name for line in done.stdout.split()] == [
        "photo.jpg",
        "index.html",
        "ana-souza.vcf",
        "qr.svg",
        "qr.png",
        "nfc.ndef",
        "_headers",
    ]

    html = (out / "index.html").read_text()
    assert (
        'class="card h-card vcard"' in html and 'href="ana-souza.vcf"' in html and 'src="photo.jpg"' in html
    )
    assert '<meta http-equiv="Content-Security-Policy"' in html and "<form" not in html
    assert '<link rel="canonical" href="https://ana.example.com/">' in html
    assert (
        "<script" not in html and "http://127.0.0.1" not in html
    )  # nothing points back to a loopback server

    card = vobject.readOne((out / "ana-souza.vcf").read_text())
    assert card.fn.value == "Ana Souza" and card.photo.value[:3] == b"\xff\xd8\xff"
    assert card.source.value == "https://ana.example.com/ana-souza.vcf"  # the copy's own file
    assert "127.0.0.1" not in (out / "ana-souza.vcf").read_text()
    assert decode_qr((out / "qr.png").read_bytes()) == ["https://ana.example.com/?src=qr"]
    assert parse_ndef_uri_message((out / "nfc.ndef").read_bytes()) == "https://ana.example.com/?src=nfc"
    headers = (out / "_headers").read_text()
    assert "Content-Security-Policy: default-src 'none'" in headers and "X-Frame-Options: DENY" in headers


async def test_card_export_without_a_card_says_what_to_do(settings, tmp_path):
    done = run_cli(settings, "card", "export", str(tmp_path / "site"), "--url", "https://ana.example.com/")
    assert done.returncode == 1
    assert "publish_card" in done.stderr.splitlines()[-1]
    assert not (tmp_path / "site").exists()


async def test_card_export_refuses_to_point_the_copy_at_a_loopback_server_without_url(
    settings, clock, tmp_path
):
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as client:
        await call(client, "publish_card", CARD)
    out = tmp_path / "site"
    done = run_cli(settings, "card", "export", str(out))
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert "--url" in last and "loopback" in last and "http://127.0.0.1:8765" in last
    assert not out.exists()  # nothing written that would send visitors to this computer


async def test_card_export_without_url_points_at_the_public_live_server(settings, clock, tmp_path):
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as client:
        await call(client, "publish_card", CARD)
    out = tmp_path / "site"
    done = run_cli(settings, "card", "export", str(out), public_base_url="https://cards.example.com")
    assert done.returncode == 0, done.stderr
    assert decode_qr((out / "qr.png").read_bytes()) == ["https://cards.example.com/c/ana-souza?src=qr"]
    card = vobject.readOne((out / "ana-souza.vcf").read_text())
    assert card.source.value == "https://cards.example.com/c/ana-souza.vcf"
    html = (out / "index.html").read_text()
    assert '<link rel="canonical" href="https://cards.example.com/c/ana-souza">' in html
    assert 'href="https://cards.example.com/c/ana-souza#contact"' in html  # the live form


async def test_card_export_of_a_card_without_photo_carries_a_drawn_preview_picture(settings, clock, tmp_path):
    async with Client(build_server(settings, clock=clock), raise_exceptions=True) as client:
        await call(client, "publish_card", CARD)
    out = tmp_path / "site"
    done = run_cli(settings, "card", "export", str(out), "--url", "https://ana.example.com/card/")
    assert done.returncode == 0, done.stderr
    assert "og.png" in {p.name for p in out.iterdir()}
    assert Image.open(out / "og.png").size == (1200, 630)
    html = (out / "index.html").read_text()
    assert '<meta property="og:image" content="https://ana.example.com/card/og.png">' in html
    card = vobject.readOne((out / "ana-souza.vcf").read_text())
    assert card.source.value == "https://ana.example.com/card/ana-souza.vcf"
