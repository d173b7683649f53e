"""Card services across workspaces: unique slugs, isolation, the public lookup (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lead_mcp.db.engine import Database
from lead_mcp.errors import Conflict, NotFound
from lead_mcp.services import cards
from lead_mcp.services.cards import CardInput, Lookup
from lead_mcp.services.scope import Scope
from lead_mcp.services.workspaces import create_workspace


@pytest.fixture
async def db(settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


async def new_scope(db: Database, settings, clock, name: str) -> Scope:
    async with db.transaction(all_workspaces=True) as session:
        workspace_id = await create_workspace(session, clock, name=name)
    return Scope(workspace_id=workspace_id, settings=settings, clock=clock)


async def publish(db: Database, scope: Scope, **fields) -> str:
    async with db.transaction(workspace_id=scope.workspace_id) as session:
        return (await cards.publish_card(session, scope, data=CardInput(**fields))).slug


async def test_a_slug_taken_in_another_workspace_is_refused_with_a_free_suggestion(db, settings, clock):
    ana = await new_scope(db, settings, clock, "Ana's")
    other = await new_scope(db, settings, clock, "Other Ana's")
    assert await publish(db, ana, full_name="Ana Souza") == "ana-souza"
    with pytest.raises(Conflict, match=r"slug: 'ana-souza' is taken; pick another, e.g. 'ana-souza-2'"):
        await publish(db, other, full_name="Ana Souza", slug="ana-souza")
    # Without a slug, a namesake gets the next free one.
    assert await publish(db, other, full_name="Ana Souza") == "ana-souza-2"


async def test_a_former_slug_is_never_handed_to_another_workspace(db, settings, clock):
    ana = await new_scope(db, settings, clock, "Ana's")
    other = await new_scope(db, settings, clock, "Someone else")
    await publish(db, ana, full_name="Ana Souza")
    await publish(db, ana, full_name="Ana Souza", slug="ana")
    with pytest.raises(Conflict):
        await publish(db, other, full_name="Someone", slug="ana-souza")
    async with db.transaction(all_workspaces=True, write=False) as session:
        status, found = await cards.find_public_card(session, "ana-souza")
    assert status is Lookup.MOVED and found is not None and found.card.slug == "ana"


async def test_each_workspace_sees_only_its_own_card(db, settings, clock):
    ana = await new_scope(db, settings, clock, "Ana's")
    bruno = await new_scope(db, settings, clock, "Bruno's")
    await publish(db, ana, full_name="Ana Souza")
    async with db.transaction(workspace_id=bruno.workspace_id) as session:
        with pytest.raises(NotFound):
            await cards.get_card(session, bruno)
        with pytest.raises(NotFound):
            await cards.unpublish_card(session, bruno)
    async with db.transaction(workspace_id=ana.workspace_id) as session:
        assert (await cards.get_card(session, ana)).full_name == "Ana Souza"


async def test_the_public_lookup_refuses_a_workspace_scoped_session(db, settings, clock):
    ana = await new_scope(db, settings, clock, "Ana's")
    async with db.transaction(workspace_id=ana.workspace_id, write=False) as session:
        with pytest.raises(RuntimeError):
            await cards.find_public_card(session, "ana-souza")


def test_slugify_keeps_whole_words_and_falls_back_for_names_without_latin_letters():
    assert cards.slugify("Dr. Anna van der Berg") == "dr-anna-van-der-berg"
    assert cards.slugify("A" * 50) == "a" * 40
    assert cards.slugify("张伟") == "" and cards.slugify("Zoë 张伟") == "zoe"
    assert cards.is_valid_slug("ana-souza") and not cards.is_valid_slug("ana--souza")
    assert not cards.is_valid_slug("-ana") and not cards.is_valid_slug("ana.vcf")


async def test_a_name_without_latin_letters_still_gets_a_valid_slug(db, settings, clock):
    scope = await new_scope(db, settings, clock, "Wei's")
    slug = await publish(db, scope, full_name="张伟")
    assert cards.is_valid_slug(slug) and slug.startswith("card-")
    other = await new_scope(db, settings, clock, "Li's")
    assert await publish(db, other, full_name="Li") == "li-card"
