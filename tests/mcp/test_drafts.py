"""draft_followup: personal notes from stored facts only, in several tones, kept on the pending follow-up."""

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx

from lead_mcp.mcp.server import build_server
from lead_mcp.services.drafts import template_words
from lead_mcp.web.app import build_app
from mcp import Client
from tests.helpers import call, call_error

TONES = ("friendly", "professional", "brief")


def _words(text: str) -> set[str]:
    return set("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


@asynccontextmanager
async def card_site(settings, clock) -> AsyncIterator:
    """``lead-mcp serve``'s app in this process and simulated time: an MCP client and the card's form."""
    settings = settings.model_copy(update={"card_form_rate_limit": 10_000})
    app = build_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)  # the app itself, without a socket's round-trip delays
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=settings.public_base_url) as http,
        Client(build_server(settings, state=app.state.lead, clock=clock), raise_exceptions=True) as client,
    ):
        await call(client, "publish_card", {"full_name": "Me Myself"})

        async def post(*, name: str, email: str, message: str) -> None:
            page = await http.get("/c/me-myself")
            token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
            clock.advance(timedelta(seconds=3))  # a person takes a moment to fill the form
            form = {"token": token, "name": name, "email": email, "message": message, "consent": "yes"}
            sent = await http.post("/c/me-myself/lead", data=form)
            assert sent.status_code == 303, sent.text

        yield client, post


async def test_first_draft_mentions_the_event_and_the_referrer_in_every_tone(client):
    tom = (await call(client, "add_contact", {"full_name": "Tom Berger"}))["contact"]
    ana = (
        await call(
            client,
            "add_contact",
            {"full_name": "Ana Souza", "referred_by": tom["id"], "met_at": "Web Summit 2025"},
        )
    )["contact"]
    for tone in TONES:
        draft = await call(client, "draft_followup", {"contact_id": ana["id"], "tone": tone})
        assert draft["tone"] == tone and draft["first_touch"] is True
        assert "Web Summit 2025" in draft["text"] and "Tom Berger" in draft["text"], draft["text"]
        facts = {f["name"]: f for f in draft["facts"]}
        assert facts["met_at"] == {"name": "met_at", "value": "Web Summit 2025", "source": "contact.met_at"}
        assert facts["referrer"]["value"] == "Tom Berger" and tom["id"] in facts["referrer"]["source"]
    assert (
        "Dear Ana Souza,"
        in (await call(client, "draft_followup", {"contact_id": ana["id"], "tone": "professional"}))["text"]
    )


async def test_drafts_never_invent_facts_that_are_not_stored(clock, settings):
    """Every word of a draft comes from the templates or a stored fact; absent facts leave no trace.

    Only a message the lead sent through the card form is ever quoted; a touch the user logged
    ("Internal: ...") and a form post without a message never reach the text.
    """
    vocabulary = template_words()
    async with card_site(settings, clock) as (client, form_post):
        referrer = (await call(client, "add_contact", {"full_name": "Quincy Referrer"}))["contact"]
        variants = itertools.product(
            (None, "Zurich Fintech Night"),  # met_at
            (None, referrer["id"]),  # referred_by
            (None, "a ledger for 40 stores"),  # need
            (None, "form", "form_empty", "private"),  # their form message / a post without one / our note
            (True, False),  # already touched once
        )
        for n, (met_at, referred_by, need, message, touched) in enumerate(variants):
            source = ("manual", "card_form", "card_scan")[n % 3]
            await _check_draft_variant(
                client, form_post, vocabulary, n, met_at, referred_by, need, message, source, touched
            )


async def _check_draft_variant(
    client, form_post, vocabulary, n, met_at, referred_by, need, message, source, touched
):
    """One contact of the variant grid: its drafts in every tone hold only stored facts."""
    args = {"email": f"lead{n}@example.org", "source": source}
    if n % 5 or message in ("form", "form_empty"):  # the form always asks for a name
        args["full_name"] = f"Person{n} Family{n}"
    if met_at:
        args["met_at"] = met_at
    if referred_by:
        args["referred_by"] = referred_by
    added = await call(client, "add_contact", args)
    contact_id = added["contact"]["id"]
    if need:
        await call(client, "qualify_lead", {"contact_id": contact_id, "need": need})
    if touched:
        await call(client, "complete_followup", {"followup_id": added["followup"]["id"], "outcome": "Secret"})
    if message in ("form", "form_empty"):
        said = "Wants the Xylophone plan" if message == "form" else ""
        await form_post(name=args["full_name"], email=args["email"], message=said)
    elif message == "private":
        await call(
            client,
            "log_interaction",
            {
                "contact_id": contact_id,
                "kind": "email",
                "direction": "inbound",
                "summary": "Internal: he is a cheapskate, Xylophone budget",
            },
        )
    for tone in TONES:
        draft = await call(client, "draft_followup", {"contact_id": contact_id, "tone": tone})
        fact_words = set().union(*(_words(f["value"]) for f in draft["facts"]))
        stray = _words(draft["text"] + " " + draft["subject"]) - vocabulary - fact_words
        assert not stray, (stray, draft["text"])
        text = draft["text"]
        if not met_at:
            assert (
                "Zurich" not in text and "meet you" not in text.lower() and "meeting you" not in text.lower()
            )
        if not referred_by:
            assert "Quincy" not in text and "for the intro" not in text and "introducing us" not in text
            assert "suggested" not in text
        if not need:
            assert "ledger" not in text
        if message != "form":
            assert "Xylophone" not in text and "cheapskate" not in text and "Internal" not in text
        else:
            assert touched or "Wants the Xylophone plan" in text or need, text  # their words, quoted
        assert "Left their details" not in text and "no message" not in text
        if "full_name" not in args:
            assert "Person" not in text and any("name" in m for m in draft["missing"])
        assert "Secret" not in text  # our own touch summaries never go into a note to them
        assert any(m.startswith("signature") for m in draft["missing"])


async def test_draft_is_kept_on_the_pending_follow_up_with_the_old_note_in_history(client):
    added = await call(client, "add_contact", {"full_name": "Ana Souza", "met_at": "CES 2026"})
    old_note = added["followup"]["note"]
    draft = await call(client, "draft_followup", {"contact_id": added["contact"]["id"]})
    detail = await call(client, "get_contact", {"contact_id": added["contact"]["id"]})
    assert detail["followups"][0]["id"] == added["followup"]["id"]
    assert detail["followups"][0]["note"] == draft["text"]
    drafted = [h for h in detail["history"] if h["action"] == "drafted"]
    assert drafted[0]["detail"]["previous_note"] == old_note and drafted[0]["detail"]["tone"] == "friendly"


async def test_draft_creates_a_follow_up_due_now_when_none_is_pending(client, clock):
    added = await call(client, "add_contact", {"full_name": "Ana Souza"})
    await call(
        client, "complete_followup", {"followup_id": added["followup"]["id"], "result": "replied"}
    )  # cadence stopped, nothing pending
    draft = await call(client, "draft_followup", {"contact_id": added["contact"]["id"], "tone": "brief"})
    assert draft["followup"]["id"] != added["followup"]["id"]
    assert draft["followup"]["status"] == "pending" and draft["followup"]["purpose"] == "manual"
    assert draft["first_touch"] is False
    due = (await call(client, "list_due_followups"))["items"]
    assert draft["followup"]["id"] in {item["followup_id"] for item in due}


async def test_later_drafts_reference_the_last_touch_and_the_last_step_closes_the_loop(client, clock):
    added = await call(
        client, "add_contact", {"full_name": "Ana Souza", "met_at": "SaaStr Europa", "follow_up_in_days": 0}
    )
    followup = added["followup"]
    for _ in range(3):
        clock.advance(timedelta(days=1))
        followup = (await call(client, "complete_followup", {"followup_id": followup["id"], "kind": "call"}))[
            "next_followup"
        ]
    assert followup["step"] == 4
    draft = await call(client, "draft_followup", {"contact_id": added["contact"]["id"]})
    assert draft["first_touch"] is False
    assert draft["subject"] == "Closing the loop" and "last note" in draft["text"]
    assert "our call (Friday 13 March)" in draft["text"] and "SaaStr Europa" in draft["text"]
    facts = {f["name"]: f["value"] for f in draft["facts"]}
    assert facts["step"] == "4 of 4" and facts["last_touch_date"] == "Friday 13 March"


async def test_reply_and_prep_drafts_fit_their_purpose(client, clock):
    added = await call(client, "add_contact", {"full_name": "Ana Souza"})
    contact_id = added["contact"]["id"]
    await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    clock.advance(timedelta(hours=2))
    reply = await call(
        client,
        "log_interaction",
        {"contact_id": contact_id, "kind": "email", "direction": "inbound", "summary": "Can we talk Friday?"},
    )
    draft = await call(client, "draft_followup", {"contact_id": contact_id})
    assert draft["followup"]["id"] == reply["reply_followup"]["id"]
    assert draft["subject"] == "Next steps" and "Thanks for getting back to me." in draft["text"]
    assert "Friday" not in draft["text"]  # the user's summary of their email is not quoted as their words
    booked = await call(
        client,
        "complete_followup",
        {
            "followup_id": draft["followup"]["id"],
            "result": "meeting_booked",
            "meeting_at": "2026-03-13T11:00:00+01:00",
        },
    )
    prep = booked["also_scheduled"][0]
    prep_draft = await call(client, "draft_followup", {"contact_id": contact_id, "followup_id": prep["id"]})
    assert "our meeting on Friday 13 March" in prep_draft["text"]


async def test_a_reply_is_quoted_only_when_it_is_their_own_message_from_the_card_form(clock, settings):
    async with card_site(settings, clock) as (client, form_post):
        added = await call(client, "add_contact", {"full_name": "Rita Reply", "email": "rita@acme.io"})
        contact_id = added["contact"]["id"]
        # The user's own words about a reply (complete_followup's outcome) stay private.
        await call(
            client,
            "complete_followup",
            {
                "followup_id": added["followup"]["id"],
                "outcome": "She moaned about my price, SECRETWORD",
                "result": "replied",
                "next_in_days": 0,
            },
        )
        draft = await call(client, "draft_followup", {"contact_id": contact_id})
        assert "SECRETWORD" not in draft["text"] and "moaned" not in draft["text"]
        assert "asked" not in {f["name"] for f in draft["facts"]}
        # Their own message through the card form is theirs to be quoted.
        await form_post(name="Nina New", email="nina@acme.io", message="Could you send the price list?")
        [nina] = (await call(client, "search_contacts", {"query": "nina@acme.io"}))["items"]
        draft = await call(client, "draft_followup", {"contact_id": nina["id"]})
        facts = {f["name"]: f for f in draft["facts"]}
        assert facts["asked"]["value"] == "Could you send the price list?"
        assert "card form" in facts["asked"]["source"]
        assert '"Could you send the price list?"' in draft["text"]


async def test_a_form_post_without_a_message_is_never_called_their_message(clock, settings):
    async with card_site(settings, clock) as (client, form_post):
        await form_post(name="Fay Form", email="fay@form.io", message="")
        [item] = (await call(client, "search_contacts", {"query": "fay@form.io"}))["items"]
        detail = await call(client, "get_contact", {"contact_id": item["id"]})
        assert [i["summary"] for i in detail["interactions"]] == [
            "Left their details on your card page (no message)."
        ]
        for tone in TONES:
            draft = await call(client, "draft_followup", {"contact_id": item["id"], "tone": tone})
            assert "no message" not in draft["text"] and "Left their details" not in draft["text"]
            assert (
                "your message" not in draft["text"].lower() and "re your message" not in draft["text"].lower()
            )
            assert "card page" in draft["text"]  # it still says where they came from


async def test_draft_refuses_unknown_ids(client):
    assert "contact_id" in await call_error(client, "draft_followup", {"contact_id": "nope"})
    added = await call(client, "add_contact", {"full_name": "Ana Souza"})
    other = await call(client, "add_contact", {"full_name": "Bo Berg"})
    error = await call_error(
        client,
        "draft_followup",
        {"contact_id": added["contact"]["id"], "followup_id": other["followup"]["id"]},
    )
    assert "followup_id" in error
