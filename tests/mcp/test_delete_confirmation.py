"""delete_contact asks the user through elicitation when the client can be asked, else requires confirm=true.

The in-memory client speaks 2026-07-28 by default (the question comes back as an input-required result and
the client retries with the answer) and 2025-11-25 with mode="legacy" (the server sends elicitation/create
mid-call). Stateless HTTP is in tests/e2e/test_delete_confirmation_http.py.
"""

import pytest
from mcp_types import ElicitResult
from pydantic import SecretStr

from lead_mcp.mcp.server import build_server
from mcp import Client
from tests.helpers import call, call_error

MODES = ["auto", "legacy"]


def answering(action, approve=True):
    """An elicitation callback that gives one answer and records the questions it was asked."""
    asked = []

    async def callback(context, params):
        asked.append(params)
        if action == "accept":
            return ElicitResult(action="accept", content={"approve": approve})
        return ElicitResult(action=action)

    callback.asked = asked
    return callback


async def _ana(client):
    added = await call(
        client, "add_contact", {"full_name": "Ana Souza", "company": "Fintech", "email": "ana@fintech.io"}
    )
    return added["contact"]["id"]


@pytest.mark.parametrize("mode", MODES)
async def test_delete_asks_the_user_and_deletes_when_they_accept(settings, clock, mode):
    callback = answering("accept")
    async with Client(
        build_server(settings, clock=clock), mode=mode, elicitation_callback=callback
    ) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        ana = await _ana(client)
        result = await call(client, "delete_contact", {"contact_id": ana})
        assert result["deleted"] is True
        assert len(callback.asked) == 1
        question = callback.asked[0].message
        assert "Ana Souza (Fintech, ana@fintech.io)" in question and "restore it for 30 days" in question
        assert (await call(client, "search_contacts", {"query": "ana"}))["items"] == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "approve"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_delete_keeps_the_contact_when_the_user_says_no(settings, clock, mode, action, approve):
    callback = answering(action, approve)
    async with Client(
        build_server(settings, clock=clock), mode=mode, elicitation_callback=callback
    ) as client:
        ana = await _ana(client)
        result = await call(client, "delete_contact", {"contact_id": ana})
        assert result["deleted"] is False
        assert "did not confirm" in result["note"]
        assert (await call(client, "get_contact", {"contact_id": ana}))["contact"]["full_name"] == "Ana Souza"


@pytest.mark.parametrize("mode", MODES)
async def test_the_user_is_asked_even_when_the_model_passes_confirm(settings, clock, mode):
    callback = answering("decline")
    async with Client(
        build_server(settings, clock=clock), mode=mode, elicitation_callback=callback
    ) as client:
        ana = await _ana(client)
        result = await call(client, "delete_contact", {"contact_id": ana, "confirm": True})
        assert result["deleted"] is False and len(callback.asked) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_elicitation_must_pass_confirm_true(settings, clock, mode):
    async with Client(build_server(settings, clock=clock), mode=mode) as client:
        ana = await _ana(client)
        refused = await call_error(client, "delete_contact", {"contact_id": ana})
        assert "confirm:" in refused and "confirm=true" in refused and "Ana Souza" in refused
        assert (await call(client, "get_contact", {"contact_id": ana}))["contact"]["id"] == ana
        deleted = await call(client, "delete_contact", {"contact_id": ana, "confirm": True})
        assert deleted["deleted"] is True


@pytest.mark.parametrize("mode", MODES)
async def test_erasing_asks_a_question_that_says_it_cannot_be_undone(settings, clock, mode):
    callback = answering("accept")
    async with Client(
        build_server(settings, clock=clock), mode=mode, elicitation_callback=callback
    ) as client:
        ana = await _ana(client)
        result = await call(client, "delete_contact", {"contact_id": ana, "erase": True})
        assert result["erased"] is True
        assert "cannot be undone" in callback.asked[0].message


async def test_nobody_is_asked_about_a_contact_that_does_not_exist(settings, clock):
    callback = answering("accept")
    async with Client(build_server(settings, clock=clock), elicitation_callback=callback) as client:
        missing = await call_error(
            client, "delete_contact", {"contact_id": "00000000-0000-4000-8000-000000000000"}
        )
        assert "no contact" in missing and "search_contacts" in missing
        assert callback.asked == []


async def _answer_on_another_replica(settings_a, settings_b, clock):
    """Ask on replica A, answer on replica B (as a load balancer may route a retry); returns B's result."""
    from mcp_types import InputRequiredResult

    async def capable(context, params):
        raise AssertionError("the test answers by hand")

    async with Client(build_server(settings_a, clock=clock), elicitation_callback=capable) as first:
        ana = await _ana(first)
        asked = await first.session.call_tool(
            "delete_contact", {"contact_id": ana}, allow_input_required=True
        )
        assert isinstance(asked, InputRequiredResult)
    answers = {key: ElicitResult(action="accept", content={"approve": True}) for key in asked.input_requests}
    async with Client(build_server(settings_b, clock=clock), elicitation_callback=capable) as second:
        return ana, await second.session.call_tool(
            "delete_contact",
            {"contact_id": ana},
            input_responses=answers,
            request_state=asked.request_state,
            allow_input_required=True,
        )


async def test_replicas_with_shared_request_state_keys_accept_each_others_questions(settings, clock):
    from mcp_types import CallToolResult

    shared = settings.model_copy(update={"request_state_keys": SecretStr("k" * 32)})
    _ana_id, result = await _answer_on_another_replica(shared, shared, clock)
    assert isinstance(result, CallToolResult) and result.structured_content["deleted"] is True


async def test_replicas_on_one_store_accept_each_others_questions_without_configured_keys(settings, clock):
    from mcp_types import CallToolResult

    # No LEAD_MCP_REQUEST_STATE_KEYS: the sealing key kept in the store is shared by every replica.
    _ana_id, result = await _answer_on_another_replica(settings, settings, clock)
    assert isinstance(result, CallToolResult) and result.structured_content["deleted"] is True


async def test_an_answer_sealed_under_other_keys_is_refused(settings, clock):
    from mcp.shared.exceptions import MCPError

    other = settings.model_copy(update={"request_state_keys": SecretStr("o" * 32)})
    with pytest.raises(BaseException) as failure:  # the in-memory client may wrap it in an exception group
        await _answer_on_another_replica(settings, other, clock)

    def flat(error):
        if isinstance(error, BaseExceptionGroup):
            return [leaf for inner in error.exceptions for leaf in flat(inner)]
        return [error]

    errors = flat(failure.value)
    assert any(isinstance(e, MCPError) and "Invalid or expired requestState" in str(e) for e in errors)
