"""delete_contact over real streamable HTTP (stateless): a 2026-07-28 client is asked, a legacy one cannot be.

Stateless HTTP has no back channel for a 2025-11-25 server-to-client elicitation request, so a legacy client
must pass confirm=true; a 2026-07-28 client gets the question inside the tool result and answers on the retry.
"""

from mcp_types import ElicitResult

from lead_mcp.web.app import build_app
from mcp import Client
from tests.helpers import call, call_error
from tests.live_app import live_app


def answering(action):
    asked = []

    async def callback(context, params):
        asked.append(params.message)
        return (
            ElicitResult(action="accept", content={"approve": True})
            if action == "accept"
            else ElicitResult(action=action)
        )

    callback.asked = asked
    return callback


async def test_a_legacy_client_over_stateless_http_must_confirm_explicitly(settings, clock):
    callback = answering("accept")
    app = build_app(settings, clock=clock)
    async with (
        live_app(app) as base,
        Client(f"{base}/mcp", mode="legacy", elicitation_callback=callback) as client,
    ):
        ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]["id"]
        refused = await call_error(client, "delete_contact", {"contact_id": ana})
        assert "confirm=true" in refused
        assert callback.asked == []
        deleted = await call(client, "delete_contact", {"contact_id": ana, "confirm": True})
        assert deleted["deleted"] is True


async def test_a_2026_client_over_stateless_http_is_asked_and_its_answer_counts(settings, clock):
    yes, no = answering("accept"), answering("decline")
    async with live_app(build_app(settings, clock=clock)) as base:
        async with Client(f"{base}/mcp", elicitation_callback=no) as client:
            assert client.protocol_version == "2026-07-28"
            ana = (await call(client, "add_contact", {"full_name": "Ana Souza"}))["contact"]["id"]
            assert (await call(client, "delete_contact", {"contact_id": ana}))["deleted"] is False
            assert no.asked == [
                "Delete Ana Souza? Their pending follow-ups are cancelled; you can restore it for 30 days."
            ]
        async with Client(f"{base}/mcp", elicitation_callback=yes) as client:
            assert (await call(client, "delete_contact", {"contact_id": ana}))["deleted"] is True
            assert len(yes.asked) == 1
