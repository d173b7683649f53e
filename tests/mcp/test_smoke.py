from tests.helpers import call


async def test_add_contact_then_search_finds_it(client):
    added = await call(client, "add_contact", {"full_name": "Ana Souza", "email": "ana@fintech.io"})
    assert added["created"] is True
    page = await call(client, "search_contacts", {"query": "fintech.io"})
    assert [c["id"] for c in page["items"]] == [added["contact"]["id"]]
