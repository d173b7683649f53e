"""Custom fields: defined by a tool, typed, set on add and update, searchable, shown and kept in history."""

from datetime import timedelta

from tests.helpers import call, call_error


async def define_fields(client):
    await call(
        client,
        "define_custom_field",
        {"label": "Industry", "type": "choice", "choices": ["Fintech", "Retail"]},
    )
    await call(client, "define_custom_field", {"label": "Deal size", "type": "number"})
    await call(client, "define_custom_field", {"label": "Renewal", "type": "date"})
    return await call(
        client, "define_custom_field", {"label": "Referral code", "type": "text", "key": "ref_code"}
    )


async def test_define_custom_field_makes_keys_from_labels_and_lists_them(client):
    listed = await define_fields(client)
    fields = {f["key"]: f for f in listed["items"]}
    assert set(fields) == {"industry", "deal_size", "renewal", "ref_code"}
    assert fields["industry"]["type"] == "choice"
    assert fields["industry"]["choices"] == ["Fintech", "Retail"]
    again = await call(client, "list_custom_fields")
    assert [f["key"] for f in again["items"]] == [f["key"] for f in listed["items"]]


async def test_custom_values_round_trip_normalized_through_add_get_and_update(client, clock):
    await define_fields(client)
    added = await call(
        client,
        "add_contact",
        {
            "full_name": "Ana Souza",
            "email": "ana@fintech.io",
            "custom": {
                "industry": "fintech",
                "deal_size": "12000",
                "renewal": "2026-12-01",
                "ref_code": "WS-26",
            },
        },
    )
    assert added["contact"]["custom"] == {
        "industry": "Fintech",
        "deal_size": 12000,
        "renewal": "2026-12-01",
        "ref_code": "WS-26",
    }
    contact_id = added["contact"]["id"]
    detail = await call(client, "get_contact", {"contact_id": contact_id})
    assert detail["contact"]["custom"]["deal_size"] == 12000

    clock.advance(timedelta(minutes=5))
    updated = await call(
        client, "update_contact", {"contact_id": contact_id, "custom": {"deal_size": 4.5, "ref_code": None}}
    )
    assert updated["contact"]["custom"] == {"industry": "Fintech", "deal_size": 4.5, "renewal": "2026-12-01"}
    change = updated["history"][0]
    assert change["action"] == "updated"
    assert change["detail"]["fields"]["custom.deal_size"] == {"old": 12000, "new": 4.5}
    assert change["detail"]["fields"]["custom.ref_code"] == {"old": "WS-26", "new": None}


async def test_custom_values_are_found_by_search(client):
    await define_fields(client)
    ana = await call(
        client, "add_contact", {"full_name": "Ana Souza", "custom": {"ref_code": "Zebra-Launch"}}
    )
    await call(client, "add_contact", {"full_name": "Tom Weber", "custom": {"industry": "retail"}})
    found = await call(client, "search_contacts", {"query": "zebra"})
    assert [c["id"] for c in found["items"]] == [ana["contact"]["id"]]
    retail = await call(client, "search_contacts", {"query": "retail"})
    assert [c["full_name"] for c in retail["items"]] == ["Tom Weber"]
    # A cleared value is no longer found.
    await call(client, "update_contact", {"contact_id": ana["contact"]["id"], "custom": {"ref_code": ""}})
    assert (await call(client, "search_contacts", {"query": "zebra"}))["items"] == []


async def test_custom_values_are_checked_by_type_and_name_the_field(client):
    await define_fields(client)
    wrong_number = await call_error(
        client, "add_contact", {"full_name": "A B", "custom": {"deal_size": "lots"}}
    )
    assert "custom.deal_size" in wrong_number and "not a number" in wrong_number
    wrong_date = await call_error(
        client, "add_contact", {"full_name": "A B", "custom": {"renewal": "next week"}}
    )
    assert "custom.renewal" in wrong_date and "YYYY-MM-DD" in wrong_date
    wrong_choice = await call_error(
        client, "add_contact", {"full_name": "A B", "custom": {"industry": "mining"}}
    )
    assert "custom.industry" in wrong_choice and "'Fintech'" in wrong_choice
    unknown = await call_error(client, "add_contact", {"full_name": "A B", "custom": {"colour": "red"}})
    assert "custom.colour" in unknown and "define_custom_field" in unknown
    # Nothing was half-written.
    assert (await call(client, "search_contacts", {}))["items"] == []


async def test_custom_field_type_cannot_change_and_choices_only_grow(client):
    await define_fields(client)
    changed = await call_error(client, "define_custom_field", {"label": "Industry", "type": "text"})
    assert "type" in changed and "choice" in changed
    shrunk = await call_error(
        client, "define_custom_field", {"label": "Industry", "type": "choice", "choices": ["Fintech"]}
    )
    assert "'Retail'" in shrunk
    grown = await call(
        client,
        "define_custom_field",
        {"label": "Industry", "type": "choice", "choices": ["Fintech", "Retail", "Health"]},
    )
    assert {f["key"]: f["choices"] for f in grown["items"]}["industry"] == ["Fintech", "Retail", "Health"]
    reserved = await call_error(client, "define_custom_field", {"label": "Email", "type": "text"})
    assert "built-in" in reserved


async def test_a_duplicate_add_fills_empty_custom_fields_and_keeps_differing_ones(client):
    await define_fields(client)
    await call(
        client,
        "add_contact",
        {"full_name": "Ana Souza", "email": "ana@fintech.io", "custom": {"industry": "Fintech"}},
    )
    merged = await call(
        client,
        "add_contact",
        {"email": "ana@fintech.io", "custom": {"industry": "Retail", "deal_size": 5000}},
    )
    assert merged["created"] is False
    assert merged["contact"]["custom"] == {"industry": "Fintech", "deal_size": 5000}
    assert "custom.deal_size" in merged["merged_fields"]
    assert merged["kept_values"]["custom.industry"] == "Retail"
