"""Migration 11 (cards per seat) keeps every existing card with its slugs and counters, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from lead_mcp.db import migrate
from lead_mcp.db.engine import create_engine_unpooled
from tests.conftest import PG_URL_BASE, _pg_execute

BEFORE = "07_pipeline"


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (never migrated)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cards.db'}"
        return
    name = f"lead_c_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL_BASE}/{name}"
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, *statements: str) -> list[list[tuple]]:
    engine = create_engine_unpooled(url)
    out = []
    try:
        async with engine.begin() as conn:
            for statement in statements:
                result = await conn.execute(text(statement))
                out.append([tuple(r) for r in result.all()] if result.returns_rows else [])
    finally:
        await engine.dispose()
    return out


def _card(card: str, user: str, slug: str, created: str) -> list[str]:
    return [
        "INSERT INTO cards (id, workspace_id, user_id, slug, published, full_name, links, theme, "
        f"created_at, updated_at) VALUES ('{card}', 'ws', '{user}', '{slug}', true, 'Name {card}', '[]', "
        f"'classic', '{created}', '{created}')",
        f"INSERT INTO card_slugs (slug, workspace_id, card_id, created_at) VALUES ('{slug}', 'ws', '{card}', "
        f"'{created}')",
        f"INSERT INTO card_slugs (slug, workspace_id, card_id, created_at) VALUES ('old-{slug}', 'ws', "
        f"'{card}', '{created}')",
        "INSERT INTO card_daily_stats (card_id, day, workspace_id, views, qr_scans, nfc_taps, "
        "vcard_downloads, form_submissions, new_leads, spam_blocked) "
        f"VALUES ('{card}', '2026-03-10', 'ws', 7, 1, 0, 0, 0, 0, 0)",
    ]


SEATS = [
    "INSERT INTO workspaces (id, name, is_local, created_at) VALUES ('ws', 'Team', false, '2026-01-01')",
    *(
        "INSERT INTO users (id, workspace_id, email, role, name, created_at) "
        f"VALUES ('{u}', 'ws', '{u}@example.com', 'member', '{u}', '2026-01-01')"
        for u in ("ana", "tom")
    ),
]


async def test_existing_cards_keep_their_slugs_and_counters_and_each_seat_may_now_have_one(
    empty_url: str,
) -> None:
    await migrate.upgrade(empty_url, BEFORE)
    await _sql(empty_url, *SEATS, *_card("c-ana", "ana", "ana", "2026-02-01"))
    await migrate.upgrade(empty_url)
    slugs, stats = await _sql(
        empty_url,
        "SELECT slug, card_id FROM card_slugs ORDER BY slug",
        "SELECT card_id, views, qr_scans FROM card_daily_stats",
    )
    assert slugs == [("ana", "c-ana"), ("old-ana", "c-ana")]
    assert stats == [("c-ana", 7, 1)]
    await _sql(empty_url, *_card("c-tom", "tom", "tom", "2026-02-02"))  # a second seat's card
    with pytest.raises(IntegrityError):  # but still one per seat
        await _sql(empty_url, *_card("c-ana-2", "ana", "ana-two", "2026-02-03")[:1])

    await migrate.downgrade(empty_url, BEFORE)
    cards, slugs, stats = await _sql(
        empty_url,
        "SELECT id FROM cards",
        "SELECT slug FROM card_slugs ORDER BY slug",
        "SELECT card_id FROM card_daily_stats",
    )
    assert cards == [("c-ana",)]  # the old schema holds one card per workspace: the oldest stays
    assert slugs == [("ana",), ("old-ana",)]
    assert stats == [("c-ana",)]
    await migrate.upgrade(empty_url)
    assert (await _sql(empty_url, "SELECT count(*) FROM card_slugs"))[0] == [(2,)]
