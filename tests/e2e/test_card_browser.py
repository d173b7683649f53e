"""A visitor's phone, for real: Debian's Chromium (driven by Playwright) on a running `lead-mcp serve`.

It opens the card, checks that a script smuggled into the bio shows as text and never
runs, saves the contact, reads the QR code off the screen, fills the lead form like a
person (sending only once the form's minimum fill time has passed, read from its token)
and lands on the thank-you page; the lead then shows up through MCP with its consent.
Screenshots at phone width go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import vobject
from playwright.async_api import async_playwright

from mcp import Client
from tests.card_support import CARD, decode_qr, seconds_until_fillable
from tests.e2e.servers import serve as live_server
from tests.helpers import call

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
INJECTED = (
    "<script>document.title='pwned';window.pwned=1</script>"
    '<img src=x onerror="window.pwned=2"> I help small banks ship faster.'
)
PHONE = {"width": 390, "height": 844}
BIO = "I help small banks ship faster: payments, lending and the compliance in between. Say hello!"


async def test_a_visitor_sees_the_card_saves_it_scans_it_and_leaves_details(database_url, tmp_path, request):
    db_name = request.node.callspec.params["database_url"]
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server(database_url) as server:  # default minimum fill time: 2 seconds
        async with Client(server.mcp_url) as client:
            published = await call(client, "publish_card", {**CARD, "bio": INJECTED})
        page_url = published["url"]

        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                accept_downloads=True,
            )
            try:
                page = await context.new_page()
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))

                response = await page.goto(f"{page_url}?src=qr")
                assert response is not None and response.status == 200

                # The injected script is text on the page and never ran.
                assert await page.title() == "Ana Souza · Founder & CEO at Fintech.io; Payments, Lending"
                assert await page.evaluate("window.pwned === undefined")
                assert await page.locator("script").count() == 0
                bio = await page.locator(".bio").inner_text()
                assert (
                    "<script>document.title='pwned'" in bio and '<img src=x onerror="window.pwned=2">' in bio
                )
                assert problems == [], problems  # no CSP violation, no failed request, no error

                # Save contact downloads a vCard a phone imports.
                save = page.locator("#save-contact")
                assert await save.is_visible() and await save.inner_text() == "Save contact"
                async with page.expect_download() as download_info:
                    await save.click()
                download = await download_info.value
                assert download.suggested_filename == "ana-souza.vcf"
                vcard = vobject.readOne(Path(await download.path()).read_text(encoding="utf-8"))
                assert vcard.fn.value == "Ana Souza" and vcard.note.value == INJECTED

                # The QR code on the page, and the one at /qr.svg, read back as the card URL.
                qr_on_page = page.locator("svg.qr")
                assert await qr_on_page.is_visible()
                assert decode_qr(await qr_on_page.screenshot()) == [f"{page_url}?src=qr"]
                svg_page = await context.new_page()
                await svg_page.goto(published["qr_svg_url"])
                assert decode_qr(await svg_page.screenshot()) == [f"{page_url}?src=qr"]
                await svg_page.close()

                await page.screenshot(path=str(ARTIFACTS / f"card-phone-{db_name}.png"), full_page=True)

                # Fill the form like a person and send it once the form may be sent.
                await page.fill("input[name=name]", "Bruno Lima")
                await page.fill("input[name=email]", "bruno@example.com")
                await page.fill("textarea[name=message]", "Loved your talk. Can we meet next week?")
                await page.check("input[name=consent]")
                token = await page.locator("input[name=token]").get_attribute("value")
                assert token is not None
                await asyncio.sleep(seconds_until_fillable(token, 2.0))  # the token says when
                async with page.expect_navigation():
                    await page.click("form button[type=submit]")
                assert page.url == f"{page_url}/thanks"
                assert await page.locator("h1").inner_text() == "Thank you!"
                await page.screenshot(path=str(ARTIFACTS / f"card-thanks-{db_name}.png"), full_page=True)
                assert problems == [], problems

                # The other themes, for a person to look at.
                async with Client(server.mcp_url) as client:
                    for theme in ("midnight", "forest", "sunset", "mono"):
                        await call(
                            client, "publish_card", {"full_name": "Ana Souza", "theme": theme, "bio": BIO}
                        )
                        await page.goto(page_url)
                        await page.screenshot(
                            path=str(ARTIFACTS / f"card-{theme}-{db_name}.png"), full_page=False
                        )
                    await call(client, "publish_card", {"full_name": "Ana Souza", "theme": "classic"})
            finally:
                await context.close()

        async with Client(server.mcp_url) as client:
            due = await call(client, "list_due_followups", {"within_days": 0})
            [item] = [i for i in due["items"] if i["contact"]["full_name"] == "Bruno Lima"]
            assert item["contact"]["source"] == "card_form" and item["overdue_days"] == 0
            detail = await call(client, "get_contact", {"contact_id": item["contact"]["id"]})
            consent = detail["contact"]["consent"]
            assert consent["basis"] == "consent" and consent["given_at"] and "Ana Souza" in consent["text"]
            assert detail["interactions"][0]["summary"] == "Loved your talk. Can we meet next week?"
            stats = await call(client, "card_stats", {"days": 1})
            assert stats["totals"]["qr_scans"] == 1 and stats["totals"]["vcard_downloads"] == 1
            assert stats["totals"]["form_submissions"] == 1
