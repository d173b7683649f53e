"""Owner and member of one workspace, over a real `lead-mcp serve` with personal access tokens.

Both share the leads; each has a card of their own; what reaches every seat or
cannot be undone (erasure, HubSpot pushes, custom fields, cadences, handing many
contacts over at once) is the owner's, and a member is told whom to ask.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from lead_mcp.domain import Role
from mcp import Client
from tests.e2e.harness import SeatFixture, Served, bearer_client, seed_seat, serve
from tests.helpers import call, call_error


@pytest.fixture(scope="module")
def server(module_database_url: str) -> Iterator[Served]:
    """One server (personal access tokens) for the module."""
    # A HubSpot token and an address nothing listens on: a refused sync must not even try to send.
    with serve(
        module_database_url, hubspot_token="pat-test", hubspot_base_url="http://127.0.0.1:9"
    ) as served:
        yield served


@dataclass
class Team:
    owner: SeatFixture
    member: SeatFixture
    owner_client: Client
    member_client: Client


@pytest.fixture
async def team(server: Served, module_database_url: str) -> AsyncIterator[Team]:
    """A new workspace with its owner and one member, each connected with their own token."""
    tag = uuid.uuid4().hex[:6]
    owner = await seed_seat(module_database_url, workspace=None, email=f"ana-{tag}@example.com")
    member = await seed_seat(
        module_database_url, workspace=owner.workspace_id, email=f"tom-{tag}@example.com", role=Role.MEMBER
    )
    async with (
        bearer_client(server.mcp_url, owner.token) as owner_client,
        bearer_client(server.mcp_url, member.token) as member_client,
    ):
        yield Team(owner, member, owner_client, member_client)


async def test_whoami_tells_each_seat_its_role(team: Team) -> None:
    assert (await call(team.owner_client, "whoami"))["role"] == "owner"
    assert (await call(team.member_client, "whoami"))["role"] == "member"


async def test_a_member_shares_the_leads_but_cannot_erase_one_for_good(team: Team) -> None:
    lead = (await call(team.owner_client, "add_contact", {"full_name": "Owner's Lead"}))["contact"]
    seen = await call(team.member_client, "get_contact", {"contact_id": lead["id"]})
    assert seen["contact"]["full_name"] == "Owner's Lead"
    refused = await call_error(
        team.member_client, "delete_contact", {"contact_id": lead["id"], "confirm": True, "erase": True}
    )
    assert "only the workspace owner can erase" in refused and team.owner.email in refused
    assert (await call(team.owner_client, "get_contact", {"contact_id": lead["id"]}))["contact"][
        "id"
    ] == lead["id"]
    # A restorable delete is a member's to make, and the owner can bring it back.
    await call(team.member_client, "delete_contact", {"contact_id": lead["id"], "confirm": True})
    await call(team.owner_client, "restore_contact", {"contact_id": lead["id"]})
    erased = await call(
        team.owner_client, "delete_contact", {"contact_id": lead["id"], "confirm": True, "erase": True}
    )
    assert erased["erased"] is True


async def test_workspace_wide_settings_are_the_owners_and_the_member_is_told_whom_to_ask(team: Team) -> None:
    lead = (await call(team.member_client, "add_contact", {"full_name": "Member's Lead"}))["contact"]
    refusals = {
        "define_custom_field": {"label": "Industry", "type": "text"},
        "create_cadence": {"name": "event-leads", "steps_days": [0, 2, 5]},
        "bulk_update": {"contact_ids": [lead["id"]], "set_owner": team.member.email, "dry_run": False},
        "sync_hubspot": {},
    }
    for tool, arguments in refusals.items():
        text = await call_error(team.member_client, tool, arguments)
        assert "only the workspace owner can" in text and team.owner.email in text, (tool, text)
    assert (await call(team.member_client, "list_custom_fields"))["items"] == []
    assert [c["name"] for c in (await call(team.member_client, "list_cadences"))["items"]] == ["default"]
    # Tags and stages stay everyone's; the owner can do the rest.
    tagged = await call(
        team.member_client, "bulk_update", {"contact_ids": [lead["id"]], "add_tags": ["x"], "dry_run": False}
    )
    assert tagged["changed"] == 1
    await call(team.owner_client, "define_custom_field", {"label": "Industry", "type": "text"})
    await call(team.owner_client, "create_cadence", {"name": "event-leads", "steps_days": [0, 2, 5]})
    handed = await call(
        team.owner_client,
        "bulk_update",
        {"contact_ids": [lead["id"]], "set_owner": team.owner.email, "dry_run": False},
    )
    assert handed["changed"] == 1
    assert [f["key"] for f in (await call(team.member_client, "list_custom_fields"))["items"]] == ["industry"]


async def test_each_seat_publishes_its_own_card_and_never_touches_the_others(
    team: Team, server: Served
) -> None:
    tag = uuid.uuid4().hex[:6]
    ana = (await call(team.owner_client, "publish_card", {"full_name": "Ana Owner", "slug": f"ana-{tag}"}))[
        "card"
    ]
    tom = (await call(team.member_client, "publish_card", {"full_name": "Tom Member", "slug": f"tom-{tag}"}))[
        "card"
    ]
    assert ana["slug"] != tom["slug"] and tom["full_name"] == "Tom Member"
    # Publishing again changes one's own card only.
    again = await call(team.member_client, "publish_card", {"full_name": "Tom M."})
    assert again["card"]["slug"] == f"tom-{tag}" and again["card"]["full_name"] == "Tom M."
    assert (await call(team.owner_client, "card_stats"))["slug"] == f"ana-{tag}"
    await call(team.member_client, "unpublish_card")
    async with httpx.AsyncClient(timeout=30) as http:
        owner_page = await http.get(f"{server.url}/c/ana-{tag}")
        member_page = await http.get(f"{server.url}/c/tom-{tag}")
        assert owner_page.status_code == 200 and "Ana Owner" in owner_page.text
        assert member_page.status_code == 410
    card = await call(team.owner_client, "publish_card", {"full_name": "Ana Owner"})
    assert card["card"]["full_name"] == "Ana Owner" and card["card"]["slug"] == f"ana-{tag}"
