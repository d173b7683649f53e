"""Hostile and odd input to the CRM core through the SDK client: dates, unknown arguments, keys, cursors."""

from __future__ import annotations

import pytest

from mcp import Client
from tests.helpers import call, call_error

# Years a typo makes (0001, 9999) used to overflow converting to UTC: a crash, "Error executing tool".
OUT_OF_RANGE_DATES = [
    "0001-01-01",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31",
    "9999-12-31T23:59:59-05:00",
    "1850-06-01",
]


@pytest.mark.parametrize("due", OUT_OF_RANGE_DATES)
async def test_schedule_followup_refuses_dates_out_of_range_naming_due(client: Client, due: str) -> None:
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    text = await call_error(client, "schedule_followup", {"contact_id": ana["id"], "due": due})
    assert "due:" in text and "1900 to 2999" in text
    after = await call(client, "get_contact", {"contact_id": ana["id"]})
    assert [f["due_at"] for f in after["followups"]] == ["2026-03-10T15:00:00Z"]  # untouched


async def test_other_date_arguments_refuse_out_of_range_years_naming_the_argument(client: Client) -> None:
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    for value in ("0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00"):
        text = await call_error(
            client,
            "log_interaction",
            {"contact_id": ana["id"], "kind": "call", "summary": "hi", "occurred_at": value},
        )
        assert "occurred_at:" in text and "1900" in text
        assert "since:" in await call_error(client, "pipeline_report", {"since": value})
        assert "until:" in await call_error(client, "pipeline_report", {"until": value})
    assert "until:" in await call_error(client, "pipeline_report", {"until": "9999-12-31"})


async def test_basic_format_dates_mean_the_same_as_extended_ones(client: Client) -> None:
    ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]
    seen = {}
    for due in ("2026-12-02", "20261202", "2026-W49-3", "2026-12-02T09:30", "20261202T0930"):
        followup = await call(client, "schedule_followup", {"contact_id": ana["id"], "due": due})
        seen[due] = followup["due_at"]
    # A date alone is due 09:00 local (Berlin, UTC+1 in December), in every spelling.
    assert seen["2026-12-02"] == seen["20261202"] == seen["2026-W49-3"] == "2026-12-02T08:00:00Z"
    assert seen["2026-12-02T09:30"] == seen["20261202T0930"] == "2026-12-02T08:30:00Z"
    text = await call_error(client, "schedule_followup", {"contact_id": ana["id"], "due": "2026-336"})
    assert "due:" in text and "20261201" in text  # the message shows the forms that work


async def test_a_bare_basic_format_until_covers_that_whole_day(client: Client) -> None:
    await call(client, "add_contact", {"full_name": "Ana Souza"})  # created 2026-03-10 16:00 Berlin
    extended = await call(client, "pipeline_report", {"since": "2026-03-10", "until": "2026-03-10"})
    basic = await call(client, "pipeline_report", {"since": "20260310", "until": "20260310"})
    assert extended["contacts"] == basic["contacts"] == 1
