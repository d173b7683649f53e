"""The public card routes over real HTTP: `lead-mcp serve` in a subprocess on a free port, both stores."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
import vobject
from PIL import Image

from lead_mcp.db.engine import Database
from lead_mcp.integrations.qr import parse_ndef_uri_message
from lead_mcp.services import ratelimit
from mcp import Client
from tests.card_support import CARD, PHONE_UA, decode_qr, form_token_of
from tests.e2e.servers import Served as LiveServer
from tests.e2e.servers import serve as live_server
from tests.helpers import call

pytestmark = pytest.mark.slow
BROWSER_HEADERS = {"User-Agent": PHONE_UA}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(
    64
)  # the header is what the card checks; browsers are not asked to draw it


async def publish(server: LiveServer, **extra: object) -> dict:
    async with Client(server.mcp_url) as client:
        return await call(client, "publish_card", {**CARD, **extra})


async def mcp(server: LiveServer, tool: str, arguments: dict | None = None) -> dict:
    async with Client(server.mcp_url) as client:
        return await call(client, tool, arguments or {})


async def open_form(http: httpx.AsyncClient, slug: str) -> str:
    page = await http.get(f"/c/{slug}", headers=BROWSER_HEADERS)
    assert page.status_code == 200
    return form_token_of(page.text)


def lead_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "token": token,
        "leave_blank": "",
        "name": "Bruno Lima",
        "email": "bruno@example.com",
        "phone": "",
        "message": "Can we talk about payments?",
        "consent": "yes",
    }
    form.update(fields)
    return form


async def test_card_page_vcard_qr_and_nfc_are_served_with_strict_security_headers(database_url):
    with live_server(database_url) as server:
        published = await publish(server)
        slug = published["slug"]
        assert published["url"] == f"{server.base_url}/c/ana-souza"
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            page = await http.get(f"/c/{slug}", headers=BROWSER_HEADERS)
            assert page.status_code == 200
            csp = page.headers["content-security-policy"]
            assert (
                "default-src 'none'" in csp
                and "frame-ancestors 'none'" in csp
                and "form-action 'self'" in csp
            )
            assert "unsafe-inline" not in csp and "script-src" not in csp
            assert page.headers["x-frame-options"] == "DENY"
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "same-origin"
            html = page.text
            assert 'class="card h-card vcard"' in html and 'class="p-name fn">Ana Souza<' in html
            assert '<meta property="og:title" content="Ana Souza">' in html
            # No photo: the preview picture is drawn (initials on the theme), at an absolute URL.
            assert f'<meta property="og:image" content="{server.base_url}/c/ana-souza/og.png">' in html
            assert '<meta name="twitter:card" content="summary_large_image">' in html
            assert "<small>Phone</small>" in html and "<small>Mobile</small>" not in html  # a US number
            assert "Digital card made with" in html  # the footer, on by default
            assert "Founder &amp; CEO" in html and "Fintech.io; Payments, Lending" in html
            assert 'href="/c/ana-souza.vcf"' in html and "<svg" in html
            assert not re.search(r"https?://(?!127\.0\.0\.1)[\w.-]+/[^\"']*\.(js|css|woff2?)", html)

            vcf = await http.get(f"/c/{slug}.vcf", headers=BROWSER_HEADERS)
            assert vcf.status_code == 200
            assert vcf.headers["content-type"].startswith("text/vcard")
            assert 'filename="ana-souza.vcf"' in vcf.headers["content-disposition"]
            raw = vcf.content.decode("utf-8")
            assert all(len(line.encode()) <= 75 for line in raw.split("\r\n")), (
                "lines must be folded at 75 octets"
            )
            assert raw.endswith("END:VCARD\r\n") and "\n" not in raw.replace("\r\n", "")
            parsed = vobject.readOne(raw)
            assert parsed.version.value == "3.0"
            assert parsed.fn.value == "Ana Souza"
            assert parsed.n.value.given == "Ana" and parsed.n.value.family == "Souza"
            assert parsed.org.value == ["Fintech.io; Payments, Lending"]
            assert parsed.title.value == "Founder & CEO"
            assert parsed.tel.value == "+14155550100"
            assert parsed.tel.params["TYPE"] == ["WORK", "VOICE"]  # not claimed to be a mobile
            assert parsed.email.value == "ana@fintech.io"
            assert parsed.note.value == CARD["bio"]
            assert "https://fintech.io/team" in [u.value for u in parsed.contents["url"]]

            preview = await http.get(f"/c/{slug}/og.png")
            assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(preview.content)).size == (1200, 630)

            png = await http.get(f"/c/{slug}/qr.png")
            assert png.headers["content-type"] == "image/png"
            assert decode_qr(png.content) == [f"{server.base_url}/c/ana-souza?src=qr"]
            svg = await http.get(f"/c/{slug}/qr.svg")
            assert svg.headers["content-type"].startswith("image/svg+xml")
            assert svg.headers["x-content-type-options"] == "nosniff"
            assert b"<svg" in svg.content and b"<script" not in svg.content
            ndef = await http.get(f"/c/{slug}/nfc.ndef")
            assert ndef.headers["content-type"] == "application/vnd.nfc.ndef"
            assert parse_ndef_uri_message(ndef.content) == f"{server.base_url}/c/ana-souza?src=nfc"

            health = await http.get("/healthz")
            assert health.status_code == 200 and health.json()["database"] == "ok"

            await http.get(f"/c/{slug}?src=qr", headers=BROWSER_HEADERS)
            await http.get(f"/c/{slug}?src=nfc", headers=BROWSER_HEADERS)
            await http.get(f"/c/{slug}", headers={"User-Agent": "facebookexternalhit/1.1"})
        stats = await mcp(server, "card_stats", {"days": 7})
        assert stats["totals"]["views"] == 3  # the link-preview bot is not a view
        assert stats["totals"]["qr_scans"] == 1 and stats["totals"]["nfc_taps"] == 1
        assert stats["totals"]["vcard_downloads"] == 1


async def test_form_post_becomes_a_lead_with_consent_an_inbound_message_and_a_followup_due_today(
    database_url,
):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await open_form(http, slug)
            posted = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token, phone="+44 20 7946 0958"),
                headers={**BROWSER_HEADERS, "Origin": server.base_url},
            )
            assert posted.status_code == 303 and posted.headers["location"] == f"/c/{slug}/thanks"
            thanks = await http.get(posted.headers["location"], headers=BROWSER_HEADERS)
            assert thanks.status_code == 200 and "Thank you" in thanks.text and "Bruno" not in thanks.text

            # The same person again, by email: merged, not doubled.
            token = await open_form(http, slug)
            again = await http.post(
                f"/c/{slug}/lead", data=lead_form(token, message="Following up!"), headers=BROWSER_HEADERS
            )
            assert again.status_code == 303
        async with Client(server.mcp_url) as client:
            due = await call(client, "list_due_followups", {"within_days": 0})
            [item] = [i for i in due["items"] if i["contact"]["full_name"] == "Bruno Lima"]
            assert item["contact"]["source"] == "card_form" and item["overdue_days"] == 0
            detail = await call(client, "get_contact", {"contact_id": item["contact"]["id"]})
            contact = detail["contact"]
            assert contact["emails"] == ["bruno@example.com"] and contact["phones"] == ["+442079460958"]
            assert contact["consent"]["basis"] == "consent"
            assert contact["consent"]["given_at"]
            assert "Ana Souza may store the details" in contact["consent"]["text"]
            messages = [i for i in detail["interactions"] if i["kind"] == "message"]
            assert {m["summary"] for m in messages} == {"Can we talk about payments?", "Following up!"}
            assert all(m["direction"] == "inbound" for m in messages)
            stats = await call(client, "card_stats", {})
        assert stats["totals"]["form_submissions"] == 2 and stats["totals"]["new_leads"] == 1
        assert stats["totals"]["views"] == 2 and stats["conversion_rate"] == 1.0


async def test_a_two_megabyte_post_is_refused_before_it_is_read_and_stores_nothing(database_url):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            token = await open_form(http, slug)
            big = lead_form(token, message="x" * 2_000_000)
            declared = await http.post(f"/c/{slug}/lead", data=big, headers=BROWSER_HEADERS)
            assert declared.status_code == 413

            body = httpx.QueryParams(big).__str__().encode()

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
                for start in range(0, len(body), 65536):
                    yield body[start : start + 65536]

            chunked = await http.post(
                f"/c/{slug}/lead",
                content=chunks(),
                headers={**BROWSER_HEADERS, "Content-Type": "application/x-www-form-urlencoded"},
            )
            assert chunked.status_code == 413
        assert (await mcp(server, "search_contacts"))["items"] == []
        assert (await mcp(server, "card_stats"))["totals"]["form_submissions"] == 0
    db = Database(database_url)
    try:
        async with db.transaction(all_workspaces=True, write=False) as session:
            assert await ratelimit.stored_keys(session) == []
    finally:
        await db.dispose()


async def test_posts_beyond_the_rate_limit_are_refused_and_only_a_keyed_hash_of_the_address_is_kept(
    database_url,
):
    with live_server(database_url, card_form_min_seconds="0", card_form_rate_limit="3") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            for n in range(3):
                token = await open_form(http, slug)
                ok = await http.post(
                    f"/c/{slug}/lead",
                    data=lead_form(token, email=f"p{n}@example.com"),
                    headers=BROWSER_HEADERS,
                )
                assert ok.status_code == 303
            token = await open_form(http, slug)
            refused = await http.post(
                f"/c/{slug}/lead", data=lead_form(token, email="p9@example.com"), headers=BROWSER_HEADERS
            )
            assert refused.status_code == 429
            assert 0 < int(refused.headers["retry-after"]) <= 600
            assert "Too many messages" in refused.text
        assert len((await mcp(server, "search_contacts"))["items"]) == 3
    db = Database(database_url)
    try:
        async with db.transaction(all_workspaces=True, write=False) as session:
            buckets = await ratelimit.stored_keys(session)
    finally:
        await db.dispose()
    assert [hits for key, hits in buckets if key.startswith("card-form:")] == [4]
    assert all("127.0.0.1" not in bucket and "127-0-0-1" not in bucket for bucket, _ in buckets)


async def test_bots_are_refused_honeypot_too_fast_forged_token_and_foreign_origin(database_url):
    with live_server(database_url) as server:  # the default minimum fill time: 2 seconds
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await open_form(http, slug)
            too_fast = await http.post(f"/c/{slug}/lead", data=lead_form(token), headers=BROWSER_HEADERS)
            assert too_fast.status_code == 422 and "That was quick" in too_fast.text
            assert 'value="Bruno Lima"' in too_fast.text  # what they typed is kept

            honeypot = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token, leave_blank="http://spam.example"),
                headers=BROWSER_HEADERS,
            )
            assert honeypot.status_code == 303  # a bot is told nothing

            forged = f"{token.split('.')[0]}.AAAA.{'B' * 24}"
            bad = await http.post(f"/c/{slug}/lead", data=lead_form(forged), headers=BROWSER_HEADERS)
            assert bad.status_code == 400

            foreign = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token),
                headers={**BROWSER_HEADERS, "Origin": "https://evil.example"},
            )
            assert foreign.status_code == 403

            as_json = await http.post(f"/c/{slug}/lead", json={"name": "x"}, headers=BROWSER_HEADERS)
            assert as_json.status_code == 415
        assert (await mcp(server, "search_contacts"))["items"] == []
        stats = await mcp(server, "card_stats")
        assert stats["totals"]["spam_blocked"] == 3 and stats["totals"]["form_submissions"] == 0


async def test_form_mistakes_are_shown_beside_the_fields_with_the_values_kept_and_escaped(database_url):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await open_form(http, slug)
            no_consent = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token, name='<img src=x onerror="alert(1)">', consent=""),
                headers=BROWSER_HEADERS,
            )
            assert no_consent.status_code == 422
            assert "Please tick the box" in no_consent.text
            assert (
                "<img src=x" not in no_consent.text
                and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in no_consent.text
            )
            no_contact = await http.post(
                f"/c/{slug}/lead", data=lead_form(token, email="", phone=""), headers=BROWSER_HEADERS
            )
            assert no_contact.status_code == 422 and "Give an email or a phone number" in no_contact.text
            bad_email = await http.post(
                f"/c/{slug}/lead", data=lead_form(token, email="not-an-email"), headers=BROWSER_HEADERS
            )
            assert bad_email.status_code == 422 and "email address does not look right" in bad_email.text
        assert (await mcp(server, "search_contacts"))["items"] == []


async def test_an_unpublished_card_answers_410_an_unknown_one_404_and_republishing_brings_it_back(
    database_url,
):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await open_form(http, slug)
            result = await mcp(server, "unpublish_card")
            assert result == {
                "slug": slug,
                "published": False,
                "was_published": True,
                "url": f"{server.base_url}/c/{slug}",
            }
            for path in (
                f"/c/{slug}",
                f"/c/{slug}.vcf",
                f"/c/{slug}/qr.png",
                f"/c/{slug}/qr.svg",
                f"/c/{slug}/nfc.ndef",
            ):
                gone = await http.get(path, headers=BROWSER_HEADERS)
                assert gone.status_code == 410, path
            post = await http.post(f"/c/{slug}/lead", data=lead_form(token), headers=BROWSER_HEADERS)
            assert post.status_code == 410
            for path in ("/c/nobody-here", "/c/Bad_Slug!", "/c/nobody-here.vcf", "/c/nobody-here/qr.png"):
                assert (await http.get(path)).status_code == 404, path
            await publish(server)
            assert (await http.get(f"/c/{slug}", headers=BROWSER_HEADERS)).status_code == 200
        assert (await mcp(server, "search_contacts"))["items"] == []


async def test_a_changed_slug_keeps_old_links_and_printed_codes_working(database_url):
    with live_server(database_url) as server:
        await publish(server)
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            assert (await http.get("/c/ana-souza/photo")).status_code == 404  # no photo yet
        renamed = await publish(server, slug="ana", photo_base64=base64.b64encode(PNG).decode())
        assert renamed["slug"] == "ana" and renamed["card"]["former_slugs"] == ["ana-souza"]
        assert "keep working" in renamed["notice"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            moved = await http.get("/c/ana-souza?src=qr", headers=BROWSER_HEADERS)
            assert moved.status_code == 301 and moved.headers["location"] == "/c/ana?src=qr"
            moved_vcf = await http.get("/c/ana-souza.vcf")
            assert moved_vcf.status_code == 301 and moved_vcf.headers["location"] == "/c/ana.vcf"
            page = await http.get("/c/ana", headers=BROWSER_HEADERS)
            assert page.status_code == 200 and 'src="/c/ana/photo"' in page.text
            assert f'<meta property="og:image" content="{server.base_url}/c/ana/photo">' in page.text
            assert '<meta name="twitter:card" content="summary">' in page.text
            photo = await http.get("/c/ana/photo")
            assert photo.headers["content-type"] == "image/png" and photo.content == PNG
            assert "sandbox" in photo.headers["content-security-policy"]
        assert urlsplit(renamed["url"]).path == "/c/ana"


async def test_concurrent_form_posts_from_one_person_end_in_one_contact(database_url):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            tokens = [await open_form(http, slug) for _ in range(5)]  # five open tabs
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"/c/{slug}/lead", data=lead_form(token, message=f"try {n}"), headers=BROWSER_HEADERS
                    )
                    for n, token in enumerate(tokens)
                )
            )
        assert sorted(r.status_code for r in responses) == [303] * 5
        items = (await mcp(server, "search_contacts", {"query": "bruno@example.com"}))["items"]
        assert len(items) == 1


async def test_a_form_token_is_good_for_one_send_and_a_replay_stores_nothing(database_url):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await open_form(http, slug)
            bad = await http.post(
                f"/c/{slug}/lead", data=lead_form(token, consent=""), headers=BROWSER_HEADERS
            )
            assert bad.status_code == 422  # nothing stored, so the token is not used up
            first = await http.post(f"/c/{slug}/lead", data=lead_form(token), headers=BROWSER_HEADERS)
            assert first.status_code == 303
            replay = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token, email="other@example.com", message="replayed"),
                headers=BROWSER_HEADERS,
            )
            assert replay.status_code == 409 and "sent already" in replay.text
            assert form_token_of(replay.text) != token  # a fresh token to send a new message with
            assert 'value="other@example.com"' in replay.text
        async with Client(server.mcp_url) as client:
            found = await call(client, "search_contacts", {})
            assert [i["full_name"] for i in found["items"]] == ["Bruno Lima"]
            detail = await call(client, "get_contact", {"contact_id": found["items"][0]["id"]})
        assert [i["summary"] for i in detail["interactions"] if i["kind"] == "message"] == [
            "Can we talk about payments?"
        ]


async def test_posts_from_another_site_are_refused_also_with_origin_null_or_sec_fetch_site(database_url):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            for headers in (
                {"Origin": "null"},
                {"Sec-Fetch-Site": "cross-site"},
                {"Origin": server.base_url, "Sec-Fetch-Site": "cross-site"},
            ):
                token = await open_form(http, slug)
                refused = await http.post(
                    f"/c/{slug}/lead", data=lead_form(token), headers={**BROWSER_HEADERS, **headers}
                )
                assert refused.status_code == 403, headers
            token = await open_form(http, slug)
            own = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token),
                headers={**BROWSER_HEADERS, "Origin": server.base_url, "Sec-Fetch-Site": "same-origin"},
            )
            assert own.status_code == 303
        assert len((await mcp(server, "search_contacts"))["items"]) == 1


async def test_malformed_slugs_answer_404_wrong_methods_405_and_redirects_carry_security_headers(
    database_url,
):
    with live_server(database_url) as server:
        slug = (await publish(server))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            for path in ("/c/..%2f", "/c/..%2f/", "/c/..%2f/lead", "/c/%2e%2e/", "/c/Bad_Slug!/lead"):
                missing = await http.get(path, headers=BROWSER_HEADERS)
                assert missing.status_code == 404, path
                assert "location" not in missing.headers
                assert "default-src 'none'" in missing.headers["content-security-policy"]
            posted = await http.post("/c/..%2f/lead", data=lead_form("x"), headers=BROWSER_HEADERS)
            assert posted.status_code == 404
            for method in ("PUT", "DELETE", "PATCH"):
                wrong = await http.request(method, f"/c/{slug}/lead", headers=BROWSER_HEADERS)
                assert wrong.status_code == 405, method
                assert wrong.headers["allow"] == "GET, HEAD, POST"
                assert wrong.headers["x-frame-options"] == "DENY"
            page_post = await http.post(f"/c/{slug}", data={"a": "b"}, headers=BROWSER_HEADERS)
            assert page_post.status_code == 405 and page_post.headers["allow"] == "GET, HEAD"
            for path, target in ((f"/c/{slug}/", f"/c/{slug}"), (f"/c/{slug}/lead", f"/c/{slug}#contact")):
                moved = await http.get(path, headers=BROWSER_HEADERS)
                assert moved.status_code in {301, 303} and moved.headers["location"] == target
                assert moved.headers["x-content-type-options"] == "nosniff"
                assert moved.headers["x-frame-options"] == "DENY"
                assert "content-security-policy" in moved.headers
            token = await open_form(http, slug)
            trap = await http.post(
                f"/c/{slug}/lead", data=lead_form(token, leave_blank="x"), headers=BROWSER_HEADERS
            )
            assert trap.status_code == 303 and trap.headers["x-frame-options"] == "DENY"


async def test_a_card_visit_and_a_form_post_leave_no_visitor_address_in_the_server_log(database_url):
    visitor = "203.0.113.77"  # reaches the app through the trusted local proxy (X-Forwarded-For)
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        headers = {**BROWSER_HEADERS, "X-Forwarded-For": visitor}
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            page = await http.get(f"/c/{slug}?src=qr", headers=headers)
            token = form_token_of(page.text)
            await http.get(f"/c/{slug}.vcf", headers=headers)
            await http.get("/c/nobody-here", headers=headers)
            posted = await http.post(f"/c/{slug}/lead", data=lead_form(token), headers=headers)
            assert posted.status_code == 303
        assert len((await mcp(server, "search_contacts"))["items"]) == 1
        log = "\n".join(server.log)
    assert "Uvicorn running on" in log  # the log was read
    assert visitor not in log
    assert f"/c/{slug}" not in log and "nobody-here" not in log
    assert not re.search(r"127\.0\.0\.1:\d+ - ", log)  # no access-log line for the test client either


async def test_a_known_contacts_later_followup_moves_to_today_after_a_form_post(database_url):
    with live_server(database_url, card_form_min_seconds="0") as server:
        slug = (await publish(server))["slug"]
        async with Client(server.mcp_url) as client:
            added = await call(
                client,
                "add_contact",
                {"full_name": "Kim Park", "email": "kim@example.com", "follow_up_in_days": 7},
            )
            await call(  # we wrote to them first; their form post later is still not a reply
                client,
                "log_interaction",
                {"contact_id": added["contact"]["id"], "kind": "email", "summary": "Sent the deck"},
            )
        later = added["followup"]["due_at"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await open_form(http, slug)
            posted = await http.post(
                f"/c/{slug}/lead",
                data=lead_form(token, name="Kim Park", email="KIM@example.com", message="Saw your card"),
                headers=BROWSER_HEADERS,
            )
            assert posted.status_code == 303
        async with Client(server.mcp_url) as client:
            due = await call(client, "list_due_followups", {"within_days": 0})
            [item] = due["items"]
            assert item["contact"]["id"] == added["contact"]["id"] and item["overdue_days"] == 0
            assert item["due_at"] < later
            detail = await call(client, "get_contact", {"contact_id": added["contact"]["id"]})
        assert detail["contact"]["consent"]["basis"] == "consent"
        [found] = (await mcp(server, "search_contacts"))["items"]  # merged, not doubled
        qualified = await mcp(server, "qualify_lead", {"contact_id": added["contact"]["id"]})
        reasons = {r["factor"]: r for r in qualified["reasons"]}
        assert reasons["form_post"]["points"] == 8 and reasons["replied"]["points"] == 0
        assert found["score"] == qualified["score"]  # rescored when the post came in


async def test_two_replicas_on_one_store_share_the_form_rate_limit_and_token_claims(database_url):
    """Two `lead-mcp serve` processes on one store (SQLite file or PostgreSQL) count together."""
    limits = {"card_form_min_seconds": "0", "card_form_rate_limit": "4"}
    with live_server(database_url, **limits) as one, live_server(database_url, **limits) as two:
        slug = (await publish(one))["slug"]

        async def post(server: LiveServer, token: str | None, email: str) -> tuple[int, str]:
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                token = token or await open_form(http, slug)
                posted = await http.post(
                    f"/c/{slug}/lead", data=lead_form(token, email=email), headers=BROWSER_HEADERS
                )
            return posted.status_code, token

        assert (await post(one, None, "p0@example.com"))[0] == 303
        assert (await post(two, None, "p1@example.com"))[0] == 303
        status, token = await post(one, None, "p2@example.com")
        assert status == 303
        assert (await post(two, token, "replay@example.com"))[0] == 409  # used on one, used on both
        assert (await post(one, None, "p4@example.com"))[0] == 429  # the fifth post of the shared window
        assert (await post(two, None, "p5@example.com"))[0] == 429
        emails = {i["emails"][0] for i in (await mcp(two, "search_contacts"))["items"]}
    assert emails == {"p0@example.com", "p1@example.com", "p2@example.com"}


async def test_the_footer_can_be_turned_off_and_notice_pages_follow_the_card_theme(database_url):
    with live_server(database_url, card_form_min_seconds="0", card_footer="false") as server:
        slug = (await publish(server, theme="forest", phone="+44 7911 123456"))["slug"]
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            page = await http.get(f"/c/{slug}", headers=BROWSER_HEADERS)
            assert "made with" not in page.text and 'class="theme-forest"' in page.text
            assert "<small>Mobile</small>" in page.text  # a UK mobile number says so
            thanks = await http.get(f"/c/{slug}/thanks", headers=BROWSER_HEADERS)
            assert "made with" not in thanks.text and "theme-forest notice-page" in thanks.text
            assert "Ana will get back to you soon." in thanks.text and "Save Ana&#39;s contact" in thanks.text
            missing = await http.get("/c/nobody-here", headers=BROWSER_HEADERS)
            assert missing.status_code == 404 and "made with" not in missing.text
            await mcp(server, "unpublish_card")
            gone = await http.get(f"/c/{slug}", headers=BROWSER_HEADERS)
            assert gone.status_code == 410 and "This card is offline" in gone.text
            assert "theme-forest" in gone.text and "made with" not in gone.text
