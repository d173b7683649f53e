"""qualify_lead and stages: BANT, the score with its reasons, and every stage change kept in history."""

from datetime import timedelta

from lead_mcp.services.scoring import WEIGHTS
from tests.helpers import call, call_error


async def _stage_changes(client, contact_id):
    history = (await call(client, "get_contact", {"contact_id": contact_id}))["history"]
    return [h["detail"] for h in reversed(history) if h["action"] == "stage_changed"]


def test_the_weights_add_up_to_100():
    assert sum(weight.points for weight in WEIGHTS.values()) == 100


async def test_qualify_lead_returns_the_score_with_every_reason(client):
    added = await call(
        client,
        "add_contact",
        {
            "full_name": "Ana Souza",
            "title": "Co-Founder & CEO",
            "company": "Fintech GmbH",
            "email": "ana@gmail.com",
        },
    )
    result = await call(
        client,
        "qualify_lead",
        {"contact_id": added["contact"]["id"], "budget": "20k", "timeline": "Q3", "stage": "mql"},
    )
    reasons = {r["factor"]: r for r in result["reasons"]}
    assert set(reasons) == set(WEIGHTS)
    assert reasons["title_seniority"]["points"] == 12 and "executive" in reasons["title_seniority"]["detail"]
    assert reasons["company"]["points"] == 4
    assert reasons["business_email"]["points"] == 0 and "free-mail" in reasons["business_email"]["detail"]
    assert reasons["budget"]["points"] == 5 and reasons["authority"]["points"] == 0
    assert reasons["stage"]["points"] == 3
    assert result["score"] == sum(r["points"] for r in result["reasons"]) == 12 + 4 + 5 + 5 + 3
    assert [r["points"] for r in result["reasons"]] == sorted(
        (r["points"] for r in result["reasons"]), reverse=True
    )
    assert result["missing"] == ["authority", "need"]
    assert all(r["max_points"] == WEIGHTS[r["factor"]].points for r in result["reasons"])


async def test_every_stage_change_is_kept_with_who_when_and_through_which_tool(client, clock):
    contact_id = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]["id"]
    await call(client, "qualify_lead", {"contact_id": contact_id, "stage": "mql"})
    clock.advance(timedelta(hours=1))
    updated = await call(client, "update_contact", {"contact_id": contact_id, "stage": "sql"})
    assert updated["contact"]["stage"] == "sql"
    clock.advance(timedelta(hours=1))
    await call(
        client, "update_contact", {"contact_id": contact_id, "stage": "sql", "title": "CTO"}
    )  # no move
    assert await _stage_changes(client, contact_id) == [
        {"from": "lead", "to": "mql", "by": None, "via": "qualify_lead"},
        {"from": "mql", "to": "sql", "by": None, "via": "update_contact"},
    ]
    history = (await call(client, "get_contact", {"contact_id": contact_id}))["history"]
    assert [h["at"][:16] for h in history if h["action"] == "stage_changed"] == [
        "2026-03-10T16:00",
        "2026-03-10T15:00",
    ]


async def test_the_score_follows_the_facts(client, clock):
    added = await call(client, "add_contact", {"full_name": "Ana Souza", "email": "ana@gmail.com"})
    contact_id = added["contact"]["id"]
    assert added["contact"]["score"] == 0
    merged = await call(
        client, "add_contact", {"email": "ana@gmail.com", "phone": "+14155550100", "company": "Fintech"}
    )
    assert merged["created"] is False and merged["contact"]["score"] == 4  # the merge brought a company
    await call(
        client, "update_contact", {"contact_id": contact_id, "emails": ["ana@gmail.com", "ana@fintech.io"]}
    )
    updated = await call(client, "update_contact", {"contact_id": contact_id, "title": "VP Sales"})
    assert updated["contact"]["score"] == 4 + 4 + 9  # and a company email, and a senior title
    await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    clock.advance(timedelta(hours=3))
    touched = await call(
        client,
        "log_interaction",
        {"contact_id": contact_id, "kind": "email", "direction": "inbound", "summary": "Hi!"},
    )
    assert touched["contact"]["score"] == 17 + 12 + 15  # replied, engaged today
    lost = await call(client, "qualify_lead", {"contact_id": contact_id, "stage": "lost"})
    assert lost["score"] == 0 and lost["reasons"][-1]["factor"] == "lost"
    summary = (await call(client, "search_contacts", {"query": "souza"}))["items"][0]
    assert summary["score"] == 0


async def test_card_views_and_form_posts_count_as_behaviour(client):
    added = await call(client, "add_contact", {"full_name": "Bo Berg", "source": "card_form"})
    contact_id = added["contact"]["id"]
    await call(
        client,
        "log_interaction",
        {
            "contact_id": contact_id,
            "kind": "card_shared",
            "direction": "inbound",
            "summary": "Saved your card",
        },
    )
    reasons = {
        r["factor"]: r["points"]
        for r in (await call(client, "qualify_lead", {"contact_id": contact_id}))["reasons"]
    }
    assert reasons["form_post"] == 8 and reasons["card_views"] == 4 and reasons["engagement_recency"] == 15
    assert reasons["replied"] == 0  # nothing of ours to reply to yet


async def test_qualify_lead_clears_a_fact_with_an_empty_string_and_refuses_bad_input(client):
    contact_id = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]["id"]
    await call(client, "qualify_lead", {"contact_id": contact_id, "need": "a CRM"})
    cleared = await call(client, "qualify_lead", {"contact_id": contact_id, "need": ""})
    assert cleared["contact"]["need"] is None and "need" in cleared["missing"]
    assert "need" in await call_error(client, "qualify_lead", {"contact_id": contact_id, "need": "x" * 1001})
    assert "stage" in await call_error(client, "qualify_lead", {"contact_id": contact_id, "stage": "hot"})
    assert "contact_id" in await call_error(client, "qualify_lead", {"contact_id": "missing"})


async def test_bulk_stage_changes_have_the_same_consequences_as_single_ones(client):
    tom = (await call(client, "add_contact", {"full_name": "Tom Berger"}))["contact"]
    ids = []
    for name in ("Ana Souza", "Bo Berg", "Cy Chen"):
        added = await call(client, "add_contact", {"full_name": name, "referred_by": tom["id"]})
        ids.append(added["contact"]["id"])
    changed = await call(
        client, "bulk_update", {"contact_ids": ids[:2], "set_stage": "customer", "dry_run": False}
    )
    assert changed["changed"] == 2
    lost = await call(client, "bulk_update", {"contact_ids": ids[2:], "set_stage": "lost", "dry_run": False})
    assert lost["changed"] == 1
    for contact_id, stage in zip(ids, ("customer", "customer", "lost"), strict=True):
        detail = await call(client, "get_contact", {"contact_id": contact_id})
        assert detail["contact"]["stage"] == stage and detail["contact"]["next_followup_at"] is None
        assert [f["outcome"] for f in detail["followups"]] == [f"cadence stopped: now {stage}"]
        moves = [h["detail"]["fields"]["stage"] for h in detail["history"] if h["action"] == "bulk_updated"]
        assert moves == [{"old": "lead", "new": stage}]
        assert detail["contact"]["score"] == (
            0 if stage == "lost" else 5 + 6 + 10
        )  # referred, meeting, stage
    thanks = [f for f in (await call(client, "get_contact", {"contact_id": tom["id"]}))["followups"]]
    assert sorted(f["purpose"] for f in thanks if f["status"] == "pending") == [
        "cadence",
        "thank_referrer",
        "thank_referrer",
    ]
    report = await call(client, "pipeline_report")
    assert report["top_referrers"][0]["converted"] == 2 and report["by_stage"]["customer"] == 2
