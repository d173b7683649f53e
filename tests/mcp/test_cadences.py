"""Cadences: named ones, what stops them, what a completed follow-up's result does, snoozing."""

from datetime import datetime, timedelta

from tests.helpers import call, call_error


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _add(client, name="Ana Souza", **extra):
    return await call(client, "add_contact", {"full_name": name, **extra})


async def _followups(client, contact_id):
    return (await call(client, "get_contact", {"contact_id": contact_id}))["followups"]


async def test_custom_cadence_runs_its_steps_and_then_ends(client, clock):
    made = await call(
        client,
        "create_cadence",
        {"name": "Event-Leads", "steps_days": [1, 3, 10], "description": "after fairs"},
    )
    assert made == {
        "name": "event-leads",
        "steps_days": [1, 3, 10],
        "description": "after fairs",
        "builtin": False,
    }
    added = await _add(client, cadence="event-leads")
    first = added["followup"]
    assert first["cadence"] == "event-leads" and _at(first["due_at"]) == clock.now() + timedelta(days=1)

    clock.advance(timedelta(days=1))
    second = (await call(client, "complete_followup", {"followup_id": first["id"]}))["next_followup"]
    assert second["step"] == 2 and _at(second["due_at"]) == clock.now() + timedelta(days=2)
    clock.advance(timedelta(days=2))
    third = (await call(client, "complete_followup", {"followup_id": second["id"]}))["next_followup"]
    assert third["step"] == 3 and _at(third["due_at"]) == clock.now() + timedelta(days=7)
    assert "last check-in" in third["note"]
    clock.advance(timedelta(days=7))
    done = await call(client, "complete_followup", {"followup_id": third["id"]})
    assert done["next_followup"] is None and "cadence finished: no further step" in done["effects"]


async def test_list_cadences_shows_the_default_and_created_ones_and_create_again_updates(client):
    await call(client, "create_cadence", {"name": "nurture", "steps_days": [0, 30, 90]})
    await call(client, "create_cadence", {"name": "nurture", "steps_days": [0, 45]})
    listed = (await call(client, "list_cadences"))["items"]
    assert [(c["name"], c["steps_days"], c["builtin"]) for c in listed] == [
        ("default", [0, 2, 7, 30], True),
        ("nurture", [0, 45], False),
    ]


async def test_create_cadence_refuses_bad_steps_and_reserved_names(client):
    assert "steps_days" in await call_error(client, "create_cadence", {"name": "x", "steps_days": [0, 7, 3]})
    assert "increasing" in await call_error(client, "create_cadence", {"name": "x", "steps_days": [2, 2]})
    assert "built in" in await call_error(client, "create_cadence", {"name": "default", "steps_days": [0, 1]})
    assert "name" in await call_error(client, "create_cadence", {"name": "!!", "steps_days": [0]})
    assert len((await call(client, "list_cadences"))["items"]) == 1


async def test_add_contact_with_unknown_cadence_is_refused_and_stores_nothing(client):
    error = await call_error(client, "add_contact", {"full_name": "Ana Souza", "cadence": "weekly"})
    assert "cadence" in error and "default" in error and "create_cadence" in error
    assert (await call(client, "search_contacts", {"query": "souza"}))["items"] == []


async def test_form_post_starts_the_cadence_and_is_not_a_reply(client, clock):
    added = await _add(client, email="ana@fintech.io", source="card_form")
    contact_id = added["contact"]["id"]
    form = await call(
        client,
        "log_interaction",
        {
            "contact_id": contact_id,
            "kind": "message",
            "direction": "inbound",
            "summary": "Form: send me pricing",
        },
    )
    assert form["reply_followup"] is None
    clock.advance(timedelta(minutes=10))
    done = await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    assert done["next_followup"]["step"] == 2  # the form post before our touch did not stop anything

    clock.advance(timedelta(hours=5))
    reply = await call(
        client,
        "log_interaction",
        {"contact_id": contact_id, "kind": "email", "direction": "inbound", "summary": "Yes, let's talk"},
    )
    assert reply["reply_followup"]["purpose"] == "reply"
    statuses = {f["id"]: f["status"] for f in await _followups(client, contact_id)}
    assert statuses[done["next_followup"]["id"]] == "skipped"


async def test_closing_a_lead_stops_its_cadence_but_keeps_manual_reminders(client):
    added = await _add(client)
    contact_id = added["contact"]["id"]
    manual = await call(
        client,
        "schedule_followup",
        {"contact_id": contact_id, "due": "2026-04-01", "note": "send the invoice", "replace_pending": False},
    )
    assert manual["purpose"] == "manual"
    await call(client, "qualify_lead", {"contact_id": contact_id, "stage": "customer"})
    by_id = {f["id"]: f for f in await _followups(client, contact_id)}
    assert by_id[added["followup"]["id"]]["status"] == "skipped"
    assert by_id[added["followup"]["id"]]["outcome"] == "cadence stopped: now customer"
    assert by_id[manual["id"]]["status"] == "pending"


async def test_a_reply_logged_late_still_stops_the_next_step(client, clock):
    added = await _add(client)
    contact_id = added["contact"]["id"]
    done = await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
    clock.advance(timedelta(days=2))
    # The user back-fills a reply that came yesterday, after the pending step was turned into an answer-them.
    reply = await call(
        client,
        "log_interaction",
        {
            "contact_id": contact_id,
            "kind": "call",
            "direction": "inbound",
            "summary": "Called back",
            "occurred_at": "2026-03-11T10:00:00+01:00",
        },
    )
    assert reply["reply_followup"] is not None
    answered = await call(client, "complete_followup", {"followup_id": reply["reply_followup"]["id"]})
    assert answered["next_followup"] is None  # a reply follow-up is not a cadence step
    assert done["next_followup"]["id"] not in {
        f["id"] for f in await _followups(client, contact_id) if f["status"] == "pending"
    }


async def test_results_move_the_lead_sensibly(client, clock):
    async def complete(result, **extra):
        added = await _add(client, name=f"Lead {result}", email=f"{result}@example.org")
        done = await call(
            client,
            "complete_followup",
            {
                "followup_id": added["followup"]["id"],
                "outcome": f"I called, {result}",
                "result": result,
                **extra,
            },
        )
        return added["contact"]["id"], done

    _, no_answer = await complete("no_answer")
    assert no_answer["next_followup"]["step"] == 2 and no_answer["contact"]["stage"] == "lead"

    contact_id, replied = await complete("replied")
    assert replied["contact"]["stage"] == "mql" and replied["next_followup"] is None
    assert "logged their reply" in replied["effects"]
    touches = (await call(client, "get_contact", {"contact_id": contact_id}))["interactions"]
    assert [(t["direction"], t["summary"]) for t in touches if t["kind"] != "note"] == [
        ("inbound", "I called, replied"),
        ("outbound", "I called, replied"),
    ]
    assert [t["summary"] for t in touches if t["kind"] == "note"] == [
        "Stage lead → mql via complete_followup"
    ]
    assert any(
        r["factor"] == "replied" and r["points"] == 12
        for r in (await call(client, "qualify_lead", {"contact_id": contact_id}))["reasons"]
    )

    _, replied_next = await complete("replied", next_in_days=3)
    assert replied_next["next_followup"]["purpose"] == "manual"
    assert _at(replied_next["next_followup"]["due_at"]) == clock.now() + timedelta(days=3)

    _, not_interested = await complete("not_interested")
    assert not_interested["contact"]["stage"] == "lost" and not_interested["next_followup"] is None
    assert not_interested["also_scheduled"] == [] and not_interested["contact"]["score"] == 0

    _, wrong = await complete("wrong_person")
    assert wrong["contact"]["stage"] == "lost"
    assert any(f"referred_by={wrong['contact']['id']}" in e for e in wrong["effects"])

    _, not_now = await complete("not_now")
    nurture = not_now["also_scheduled"][0]
    # 90 calendar days later at the same local time (16:00 in Berlin, summer time by then).
    assert nurture["purpose"] == "nurture" and _at(nurture["due_at"]) == _at("2026-06-08T16:00:00+02:00")
    assert "not now" in nurture["note"] and not_now["contact"]["stage"] == "lead"

    _, won = await complete("won")
    assert won["contact"]["stage"] == "customer" and won["next_followup"] is None


async def test_meeting_booked_without_a_time_preps_tomorrow(client, clock):
    added = await _add(client)
    done = await call(
        client, "complete_followup", {"followup_id": added["followup"]["id"], "result": "meeting_booked"}
    )
    prep = done["also_scheduled"][0]
    assert prep["purpose"] == "meeting_prep" and _at(prep["due_at"]) == clock.now() + timedelta(days=1)
    assert done["contact"]["stage"] == "opportunity"


async def test_meeting_at_needs_meeting_booked(client):
    added = await _add(client)
    error = await call_error(
        client,
        "complete_followup",
        {"followup_id": added["followup"]["id"], "meeting_at": "2026-03-12T10:00"},
    )
    assert "meeting_at" in error and "meeting_booked" in error
    assert (await _followups(client, added["contact"]["id"]))[0]["status"] == "pending"


async def test_snooze_pushes_a_follow_up_and_keeps_the_old_time_in_history(client, clock):
    added = await _add(client)
    followup = added["followup"]
    snoozed = await call(client, "snooze_followup", {"followup_id": followup["id"], "days": 3})
    assert _at(snoozed["due_at"]) == _at(followup["due_at"]) + timedelta(days=3)
    assert snoozed["step"] == 1 and snoozed["cadence"] == "default"
    clock.advance(timedelta(minutes=1))  # history is newest first by time
    again = await call(client, "snooze_followup", {"followup_id": followup["id"], "until": "2026-03-20"})
    assert _at(again["due_at"]) == _at("2026-03-20T09:00:00+01:00")
    history = (await call(client, "get_contact", {"contact_id": added["contact"]["id"]}))["history"]
    snoozes = [h["detail"] for h in history if h["action"] == "snoozed"]
    assert [_at(s["old_due_at"]) for s in reversed(snoozes)] == [
        _at(followup["due_at"]),
        _at(snoozed["due_at"]),
    ]
    assert "until" in await call_error(
        client, "snooze_followup", {"followup_id": followup["id"], "until": "2026-01-01"}
    )
    assert "days" in await call_error(client, "snooze_followup", {"followup_id": followup["id"]})
    assert "followup_id" in await call_error(client, "snooze_followup", {"followup_id": "nope", "days": 1})


async def test_schedule_followup_with_a_cadence_starts_it(client, clock):
    await call(client, "create_cadence", {"name": "quick", "steps_days": [0, 1]})
    added = await _add(client)
    moved = await call(
        client,
        "schedule_followup",
        {"contact_id": added["contact"]["id"], "due": "2026-03-11", "cadence": "quick"},
    )
    assert moved["id"] == added["followup"]["id"] and moved["cadence"] == "quick" and moved["step"] == 1
    clock.advance(timedelta(days=1))
    done = await call(client, "complete_followup", {"followup_id": moved["id"]})
    assert done["next_followup"]["cadence"] == "quick" and done["next_followup"]["step"] == 2


async def test_a_card_form_post_after_our_first_touch_does_not_stop_the_cadence(clock, settings):
    """A post on the card's form is capture, not an answer: the cadence goes on to its next step."""
    from tests.mcp.test_drafts import card_site

    async with card_site(settings, clock) as (client, form_post):
        added = await _add(client, email="ana@fintech.io")
        contact_id = added["contact"]["id"]
        first = await call(client, "complete_followup", {"followup_id": added["followup"]["id"]})
        second = first["next_followup"]
        assert second["step"] == 2
        clock.advance(timedelta(hours=2))
        await form_post(name="Ana Souza", email="ana@fintech.io", message="Still keen on the pricing")
        clock.advance(timedelta(days=2))
        pending = [f for f in await _followups(client, contact_id) if f["status"] == "pending"]
        done = await call(client, "complete_followup", {"followup_id": pending[0]["id"]})
        assert done["next_followup"] is not None and done["next_followup"]["step"] == 3, done
