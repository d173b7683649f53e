"""Resources, prompts and completions, listed and used through the SDK client."""

from datetime import timedelta

from mcp_types import PromptReference, ResourceTemplateReference

from tests.helpers import call


async def _people(client):
    ana = (
        await call(
            client,
            "add_contact",
            {
                "full_name": "Ana Souza",
                "company": "Fintech",
                "title": "CFO",
                "met_at": "Web Summit 2026",
                "tags": ["fintech", "hot"],
            },
        )
    )["contact"]
    tom = (
        await call(
            client, "add_contact", {"full_name": "Tom Weber", "met_at": "Webinar", "tags": ["finance"]}
        )
    )["contact"]
    return ana, tom


async def test_resources_and_templates_are_listed(client):
    resources = {str(r.uri): r for r in (await client.list_resources()).resources}
    assert {"lead://followups/due", "lead://card"} <= set(resources)
    assert resources["lead://followups/due"].mime_type == "application/json"
    templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
    assert {"lead://contacts/{id}", "lead://contacts/{contact_id}.vcf"} <= set(templates)
    assert templates["lead://contacts/{id}"].mime_type == "application/json"
    assert templates["lead://contacts/{contact_id}.vcf"].mime_type == "text/vcard"


async def test_reading_a_deleted_contacts_vcard_is_a_not_found_resource_error(client):
    import pytest
    from mcp.shared.exceptions import MCPError
    from mcp_types import INVALID_PARAMS

    ana, _ = await _people(client)
    vcard = await client.read_resource(f"lead://contacts/{ana['id']}.vcf")
    assert "FN:Ana Souza" in vcard.contents[0].text
    await call(client, "delete_contact", {"contact_id": ana["id"], "confirm": True})
    for uri in (f"lead://contacts/{ana['id']}.vcf", f"lead://contacts/{ana['id']}"):
        with pytest.raises(MCPError) as failure:
            await client.read_resource(uri)
        assert failure.value.error.code == INVALID_PARAMS, uri  # not found, not an internal error
        assert "was deleted" in str(failure.value) and "restore_contact" in str(failure.value)


async def test_contact_resource_reads_the_full_record(client):
    import json

    ana, _ = await _people(client)
    read = await client.read_resource(f"lead://contacts/{ana['id']}")
    record = json.loads(read.contents[0].text)
    assert read.contents[0].uri == f"lead://contacts/{ana['id']}"
    assert record["contact"]["full_name"] == "Ana Souza"
    assert record["followups"][0]["status"] == "pending"
    assert record["history"][0]["action"] == "created"


async def test_reading_an_unknown_contact_resource_fails_clearly(client):
    import pytest
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError) as failure:
        await client.read_resource("lead://contacts/00000000-0000-4000-8000-000000000000")
    assert "search_contacts" in str(failure.value)


async def test_due_resource_lists_todays_follow_ups_overdue_first(client, clock):
    import json

    ana, tom = await _people(client)
    await call(client, "schedule_followup", {"contact_id": tom["id"], "due": "2026-03-08"})
    due = json.loads((await client.read_resource("lead://followups/due")).contents[0].text)
    assert [i["contact"]["id"] for i in due["items"]] == [tom["id"], ana["id"]]
    assert due["items"][0]["overdue_days"] == 2


async def test_prompts_are_listed_with_their_arguments(client):
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) >= {"follow_up_email", "process_scanned_cards", "weekly_review"}
    args = {a.name: a.required for a in prompts["follow_up_email"].arguments}
    assert args == {"contact_id": True, "tone": False}
    assert {a.name for a in prompts["weekly_review"].arguments} == {"stage", "tag"}
    assert {a.name for a in prompts["process_scanned_cards"].arguments} == {"met_at", "tag"}


async def test_follow_up_email_prompt_names_the_contact_and_the_tool_sequence(client):
    ana, _ = await _people(client)
    for given in (ana["id"], f"Ana Souza — CFO at Fintech ({ana['id']})", "Ana Souza"):
        rendered = await client.get_prompt("follow_up_email", {"contact_id": given, "tone": "brief"})
        text = rendered.messages[0].content.text
        assert rendered.messages[0].role == "user"
        assert "Ana Souza — CFO at Fintech" in text and "met at Web Summit 2026" in text
        steps = [text.index(tool) for tool in ("get_contact(", "draft_followup(", "complete_followup(")]
        assert steps == sorted(steps)
        assert f'contact_id="{ana["id"]}"' in text and "brief" in text


async def test_follow_up_email_prompt_for_an_unknown_name_asks_to_search_first(client):
    rendered = await client.get_prompt("follow_up_email", {"contact_id": "Nobody Known"})
    text = rendered.messages[0].content.text
    assert text.index('search_contacts(query="Nobody Known")') < text.index("get_contact(")


async def test_process_scanned_cards_prompt_walks_through_scanning(client):
    rendered = await client.get_prompt(
        "process_scanned_cards", {"met_at": "Web Summit 2026", "tag": "WebSummit"}
    )
    text = rendered.messages[0].content.text
    assert 'met_at="Web Summit 2026"' in text and 'tags=["websummit"]' in text
    order = [
        text.index(tool) for tool in ("scan_card(", "update_contact(", "undo_merge(", "list_due_followups(")
    ]
    assert order == sorted(order)


async def test_weekly_review_prompt_covers_due_drafts_report_and_stale_leads(client, clock):
    clock.advance(timedelta(days=2))
    rendered = await client.get_prompt("weekly_review", {"stage": "SQL", "tag": "hot"})
    text = rendered.messages[0].content.text
    assert "2026-03-05 to 2026-03-12" in text
    order = [
        text.index(tool)
        for tool in (
            "list_due_followups(within_days=7)",
            "draft_followup(",
            "pipeline_report(",
            "search_contacts(",
        )
    ]
    assert order == sorted(order)
    assert 'pipeline_report(since="2026-03-05", until="2026-03-12")' in text
    assert 'search_contacts(stage="sql", tag="hot")' in text
    assert "bulk_update (always a dry run first" in text


async def test_completion_is_declared_and_offers_contacts_tags_stages_and_places(client):
    assert client.server_capabilities.completions is not None
    ana, tom = await _people(client)
    prompt = PromptReference(name="follow_up_email")

    names = await client.complete(prompt, {"name": "contact_id", "value": "an"})
    assert names.completion.values == [f"Ana Souza — CFO at Fintech ({ana['id']})"]
    by_id = await client.complete(prompt, {"name": "contact_id", "value": tom["id"][:6]})
    assert by_id.completion.values == [f"Tom Weber ({tom['id']})"]
    everyone = await client.complete(prompt, {"name": "contact_id", "value": ""})
    assert len(everyone.completion.values) == 2

    template = ResourceTemplateReference(uri="lead://contacts/{id}")
    ids = await client.complete(template, {"name": "id", "value": "tom"})
    assert ids.completion.values == [tom["id"]]

    review = PromptReference(name="weekly_review")
    assert (await client.complete(review, {"name": "tag", "value": "fin"})).completion.values == [
        "finance",
        "fintech",
    ]
    assert (await client.complete(review, {"name": "tag", "value": ""})).completion.values == [
        "finance",
        "fintech",
        "hot",
    ]
    stages = await client.complete(review, {"name": "stage", "value": "o"})
    assert stages.completion.values == ["opportunity"]
    assert len((await client.complete(review, {"name": "stage", "value": ""})).completion.values) == 7

    cards = PromptReference(name="process_scanned_cards")
    places = await client.complete(cards, {"name": "met_at", "value": "web"})
    assert places.completion.values == ["Web Summit 2026", "Webinar"]
    assert (await client.complete(prompt, {"name": "tone", "value": "w"})).completion.values == []
    assert (await client.complete(prompt, {"name": "tone", "value": "p"})).completion.values == [
        "professional"
    ]


async def test_completion_covers_the_vcard_template_labels_nameless_contacts_and_ignores_unknown_prompts(
    client,
):
    ana, _ = await _people(client)
    nameless = (await call(client, "add_contact", {"email": "x@gmail.com"}))["contact"]
    vcf = ResourceTemplateReference(uri="lead://contacts/{contact_id}.vcf")
    assert (await client.complete(vcf, {"name": "contact_id", "value": "ana"})).completion.values == [
        ana["id"]
    ]
    prompt = PromptReference(name="follow_up_email")
    by_id = await client.complete(prompt, {"name": "contact_id", "value": nameless["id"][:6]})
    assert by_id.completion.values == [f"x@gmail.com ({nameless['id']})"]
    by_word = await client.complete(prompt, {"name": "contact_id", "value": "x@gmail"})
    assert by_word.completion.values == [f"x@gmail.com ({nameless['id']})"]
    unknown = PromptReference(name="no_such_prompt")
    assert (await client.complete(unknown, {"name": "contact_id", "value": "a"})).completion.values == []
    review = PromptReference(name="weekly_review")  # weekly_review takes no contact_id
    assert (await client.complete(review, {"name": "contact_id", "value": "a"})).completion.values == []
    other = ResourceTemplateReference(uri="lead://exports/{export_id}.csv")
    assert (await client.complete(other, {"name": "export_id", "value": "a"})).completion.values == []
