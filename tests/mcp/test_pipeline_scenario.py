"""The whole loop in simulated time: a referred lead is captured, answered fast, replies, qualifies, books a
meeting and buys; the referrer is thanked; the report shows it. Runs on SQLite and PostgreSQL."""

from datetime import datetime, timedelta

from tests.helpers import call


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _due(client, within_days=0):
    return (await call(client, "list_due_followups", {"within_days": within_days}))["items"]


async def _history(client, contact_id):
    return (await call(client, "get_contact", {"contact_id": contact_id}))["history"]


async def test_referred_lead_from_capture_to_customer_closes_the_loop(client, clock):
    tom = (
        await call(
            client,
            "add_contact",
            {"full_name": "Tom Berger", "email": "tom@berger-consulting.de", "company": "Berger Consulting"},
        )
    )["contact"]
    ana_added = await call(
        client,
        "add_contact",
        {
            "full_name": "Ana Souza",
            "email": "ana@fintech.io",
            "company": "Fintech GmbH",
            "title": "Head of Sales",
            "source": "referral",
            "referred_by": tom["id"],
            "met_at": "Fintech Meetup Berlin",
        },
    )
    ana = ana_added["contact"]
    first = ana_added["followup"]
    assert first["step"] == 1 and first["cadence"] == "default" and first["purpose"] == "cadence"
    assert _at(first["due_at"]) == clock.now()  # speed-to-lead: due right away, today

    # Three minutes later the assistant drafts the first note and the user sends it.
    clock.advance(timedelta(minutes=3))
    due_ids = [item["followup_id"] for item in await _due(client)]
    assert first["id"] in due_ids
    draft = await call(client, "draft_followup", {"contact_id": ana["id"]})
    assert draft["first_touch"] is True
    assert "Fintech Meetup Berlin" in draft["text"] and "Tom Berger" in draft["text"]
    assert draft["followup"]["id"] == first["id"] and draft["followup"]["note"] == draft["text"]
    assert {f["name"] for f in draft["facts"]} >= {"met_at", "referrer", "name"}
    done = await call(
        client,
        "complete_followup",
        {"followup_id": first["id"], "outcome": "Sent the intro email with our deck"},
    )
    assert done["interaction"]["summary"] == "Sent the intro email with our deck"
    step2 = done["next_followup"]
    assert step2["step"] == 2 and _at(step2["due_at"]) == clock.now() + timedelta(days=2)

    # A day later Ana writes back: her cadence stops and an "answer her" follow-up is due now.
    clock.advance(timedelta(days=1))
    touched = await call(
        client,
        "log_interaction",
        {
            "contact_id": ana["id"],
            "kind": "email",
            "direction": "inbound",
            "summary": "Asked for pricing for 12 reps",
        },
    )
    reply = touched["reply_followup"]
    assert reply["purpose"] == "reply" and _at(reply["due_at"]) == clock.now()
    assert "Asked for pricing for 12 reps" in reply["note"]
    detail = await call(client, "get_contact", {"contact_id": ana["id"]})
    statuses = {f["id"]: f["status"] for f in detail["followups"]}
    assert statuses[step2["id"]] == "skipped"
    assert any(
        h["action"] == "cadence_stopped" and h["detail"]["reason"] == "they replied"
        for h in detail["history"]
    )

    # The user qualifies her on a call.
    qualified = await call(
        client,
        "qualify_lead",
        {
            "contact_id": ana["id"],
            "stage": "sql",
            "budget": "about 20k EUR a year",
            "authority": "Ana decides with the CFO",
            "need": "a CRM for 12 field reps",
            "timeline": "before Q3",
        },
    )
    reasons = {r["factor"]: r["points"] for r in qualified["reasons"]}
    assert qualified["score"] == sum(reasons.values()) == qualified["contact"]["score"]
    assert reasons["replied"] == 12 and reasons["referred"] == 5 and reasons["title_seniority"] == 9
    assert reasons["budget"] == reasons["need"] == 5 and qualified["missing"] == []
    assert (
        qualified["stage_change"]["from_stage"] == "lead" and qualified["stage_change"]["to_stage"] == "sql"
    )
    changes = [h for h in await _history(client, ana["id"]) if h["action"] == "stage_changed"]
    assert changes[0]["detail"] == {"from": "lead", "to": "sql", "by": None, "via": "qualify_lead"}

    # Answering her reply, the user books a meeting for Friday 10:00 Berlin time.
    booked = await call(
        client,
        "complete_followup",
        {
            "followup_id": reply["id"],
            "outcome": "Sent pricing, she wants a demo",
            "result": "meeting_booked",
            "meeting_at": "2026-03-13T10:00:00+01:00",
            "kind": "email",
        },
    )
    assert booked["stage_change"]["to_stage"] == "opportunity"
    assert booked["contact"]["stage"] == "opportunity"
    kinds = {f["purpose"]: f for f in booked["also_scheduled"]}
    assert set(kinds) == {"meeting_prep", "thank_referrer"}
    assert _at(kinds["meeting_prep"]["due_at"]) == _at("2026-03-12T10:00:00+01:00")
    thanks = kinds["thank_referrer"]
    assert thanks["contact_id"] == tom["id"] and _at(thanks["due_at"]) == clock.now()
    assert "Ana Souza" in thanks["note"] and "Tom Berger" in thanks["note"]

    # The referrer's thank-you is on today's list, and its draft names the lead it is for.
    due_now = {item["followup_id"]: item for item in await _due(client)}
    assert due_now[thanks["id"]]["purpose"] == "thank_referrer"
    thank_draft = await call(client, "draft_followup", {"contact_id": tom["id"], "followup_id": thanks["id"]})
    assert "Ana Souza" in thank_draft["text"] and "meeting" in thank_draft["text"]

    # Going back and forth does not thank Tom twice for the same milestone.
    await call(client, "update_contact", {"contact_id": ana["id"], "stage": "sql"})
    again = await call(client, "qualify_lead", {"contact_id": ana["id"], "stage": "opportunity"})
    assert again["also_scheduled"] == []

    report = await call(client, "pipeline_report")
    assert report["contacts"] == 2
    assert report["by_source"]["referral"] == 1 and report["by_source"]["manual"] == 1
    assert sum(report["by_source"].values()) == sum(report["by_stage"].values()) == 2
    assert report["by_stage"]["opportunity"] == 1 and report["by_stage"]["lead"] == 1
    speed = report["speed_to_lead"]
    assert speed["leads"] == 2 and speed["responded"] == 1 and speed["unanswered"] == 1
    assert speed["median_minutes"] == 3 and speed["p90_minutes"] == 3
    assert speed["share_under_5_minutes"] == 0.5 and speed["share_under_1_hour"] == 0.5
    assert report["second_touch"] == {"leads": 2, "touched": 1, "touched_twice": 1}
    assert report["second_touch_rate"] == 0.5
    funnel = {(t["from_stage"], t["to_stage"]): t for t in report["conversion_by_stage"]}
    assert (
        funnel[("sql", "opportunity")]["reached_from"] == 1 and funnel[("sql", "opportunity")]["rate"] == 1.0
    )
    assert funnel[("opportunity", "customer")]["reached_to"] == 0
    assert report["top_referrers"][0]["referrer_id"] == tom["id"]
    assert report["top_referrers"][0]["referred"] == 1 and report["top_referrers"][0]["converted"] == 0

    # She signs: customer. Tom is thanked once more, for the sale, and the report counts the conversion.
    won = await call(client, "qualify_lead", {"contact_id": ana["id"], "stage": "customer"})
    assert [f["purpose"] for f in won["also_scheduled"]] == ["thank_referrer"]
    assert "became a customer" in won["also_scheduled"][0]["note"]
    report = await call(client, "pipeline_report")
    by_source = {c["source"]: c for c in report["conversion_by_source"]}
    assert by_source["referral"] == {
        "source": "referral",
        "leads": 1,
        "reached_opportunity": 1,
        "customers": 1,
        "rate": 1.0,
    }
    assert by_source["manual"]["customers"] == 0 and by_source["manual"]["rate"] == 0.0
    top = report["top_referrers"][0]
    assert top["full_name"] == "Tom Berger" and top["converted"] == 1
    assert top["converted_leads"] == [{"id": ana["id"], "full_name": "Ana Souza"}]

    # Tom's first follow-up (due on day one) is now overdue.
    assert report["overdue_followups"]["count"] == 1
    assert report["overdue_followups"]["items"][0]["contact_id"] == tom["id"]
    assert report["overdue_followups"]["items"][0]["overdue_days"] == 1


async def test_due_list_orders_overdue_then_due_time_then_score(client, clock):
    async def lead(name, **extra):
        added = await call(client, "add_contact", {"full_name": name, "follow_up_in_days": 1, **extra})
        return added["contact"]["id"]

    overdue = await lead("Olga Overdue")
    await call(client, "schedule_followup", {"contact_id": overdue, "due": "2026-03-09"})
    early = await lead("Emil Early")
    await call(client, "schedule_followup", {"contact_id": early, "due": "2026-03-10T08:00:00+01:00"})
    low = await lead("Lara Low")
    high = await lead("Hugo High", title="Founder", company="Hugo AG", email="hugo@hugo-ag.de")
    mid = await lead("Mia Mid", company="Mia GmbH")
    for contact_id in (low, high, mid):
        await call(
            client, "schedule_followup", {"contact_id": contact_id, "due": "2026-03-10T17:00:00+01:00"}
        )
    await call(client, "qualify_lead", {"contact_id": high, "budget": "50k", "need": "a new CRM"})

    items = await _due(client)
    names = [item["contact"]["full_name"] for item in items]
    assert names == ["Olga Overdue", "Emil Early", "Hugo High", "Mia Mid", "Lara Low"]
    assert items[0]["overdue_days"] == 1 and all(i["overdue_days"] == 0 for i in items[1:])
    scores = [item["why"]["score"] for item in items[2:]]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] > scores[2]

    # Paging keeps the same order.
    first = await call(client, "list_due_followups", {"limit": 2})
    rest = await call(client, "list_due_followups", {"limit": 10, "cursor": first["next_cursor"]})
    assert [i["contact"]["full_name"] for i in first["items"] + rest["items"]] == names
