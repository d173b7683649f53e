"""Seeded generator of realistic lead stores (SQLite), for benchmarks.

``python -m benchmarks.seed --contacts 1000000`` builds (once) and caches
``benchmarks/.data/contacts-1000000.db``. The same seed gives the same store.
Rows go in through SQLite directly (executemany) for speed, with the same
normalization, keys, tags and search text the services write, and the FTS
index kept by the migration's triggers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lead_mcp.db import migrate
from lead_mcp.services import normalize
from lead_mcp.services.workspaces import LOCAL_WORKSPACE_ID

DATA = Path(__file__).resolve().parent / ".data"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

GIVEN = [
    "Ana",
    "Maria",
    "José",
    "Li",
    "Wei",
    "Chen",
    "Sofia",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Mia",
    "Ethan",
    "Aisha",
    "Omar",
    "Fatima",
    "Yuki",
    "Hiro",
    "Priya",
    "Arjun",
    "Lena",
    "Jonas",
    "Clara",
    "Felix",
    "Nora",
    "Elias",
    "Ines",
    "Mateo",
    "Chloe",
    "Hugo",
    "Zoe",
    "Ivan",
    "Olga",
    "Tom",
    "Kate",
    "Raj",
    "Mei",
]
FAMILY = [
    "Souza",
    "Silva",
    "Müller",
    "Schmidt",
    "Nguyen",
    "Tran",
    "Kim",
    "Lee",
    "Park",
    "Garcia",
    "Martinez",
    "Rossi",
    "Russo",
    "Dubois",
    "Martin",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Khan",
    "Patel",
    "Singh",
    "Sato",
    "Suzuki",
    "Ivanova",
    "Novak",
    "Horvat",
    "Berg",
    "Jensen",
    "Hansen",
    "Larsen",
    "Costa",
    "Pereira",
    "Santos",
    "Ali",
    "Hassan",
    "Cohen",
    "Levi",
    "O'Brien",
    "van",
    "der",
    "Berg",
    "de",
    "la",
    "Cruz",
]
COMPANY_WORDS = [
    "Fintech",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Evergreen",
    "Sterling",
    "Greenleaf",
    "Bluebird",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Proseware",
    "Adatum",
    "Lamna",
    "Margie",
    "Relecloud",
]
COMPANY_SECOND = [
    "Labs",
    "Partners",
    "Capital",
    "Systems",
    "Solutions",
    "Health",
    "Dental",
    "Logistics",
    "Foods",
    "Energy",
    "Media",
    "Studio",
    "Works",
    "Analytics",
    "Robotics",
    "Payments",
    "Security",
    "Cloud",
    "Networks",
    "Ventures",
    "Consulting",
    "Design",
    "Retail",
    "Motors",
    "Bio",
    "Pharma",
    "Learning",
    "Travel",
    "Homes",
    "Finance",
    "Insurance",
    "Legal",
    "Data",
    "Digital",
    "Global",
    "Group",
    "Holdings",
    "Industries",
    "Technologies",
]
SUFFIXES = ["Inc", "GmbH", "Ltd", "LLC", "AG", "Co.", "Pty Ltd", "SA", "", ""]
TITLES = [
    "CEO",
    "CTO",
    "Head of Sales",
    "VP Marketing",
    "Account Executive",
    "Founder",
    "Product Manager",
    "Engineer",
    "Consultant",
    "Director of Operations",
    "Event Planner",
    "Buyer",
    None,
]
TAGS = ["fintech", "hot", "event", "partner", "investor", "lisbon", "berlin", "saas", "retail", "vip"]
EVENTS = ["Web Summit 2025", "Fintech Meetup Lisbon", "SaaStr Europa", "CES 2026", None, None]
SOURCES = ["manual"] * 4 + ["card_scan"] * 3 + ["card_form", "import", "import", "referral", "event"]
STAGES = ["lead"] * 5 + ["cold", "mql", "mql", "sql", "opportunity", "customer", "lost"]


def store_path(contacts: int) -> Path:
    """Where the cached store of this size lives."""
    return DATA / f"contacts-{contacts}.db"


def _contact(rng: random.Random, i: int) -> tuple[dict[str, object], list[tuple[str, str]], list[str]]:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    word, second = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_SECOND)
    company = f"{word} {second} {rng.choice(SUFFIXES)}".strip()
    tld = rng.choice(["com", "io", "de", "co.uk", "com.au"])
    domain = f"{word.lower()}{second.lower()}{rng.randint(1, 40) if rng.random() < 0.5 else ''}.{tld}"
    local = normalize.fold(f"{given}.{family}").replace(" ", ".")
    email = f"{local}{i}@{domain}"
    phone = f"+1{rng.randint(201, 989)}555{i % 10000:04d}" if rng.random() < 0.7 else None
    emails = [email]
    phones = [phone] if phone else []
    tags = rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2]))
    title = rng.choice(TITLES)
    met_at = rng.choice(EVENTS)
    notes = f"Asked about pricing for {rng.randint(2, 200)} seats." if rng.random() < 0.3 else None
    created = NOW - timedelta(minutes=rng.randint(0, 730 * 24 * 60))
    full_name = f"{given} {family}"
    row = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "workspace_id": LOCAL_WORKSPACE_ID,
        "full_name": full_name,
        "given_name": given,
        "family_name": family,
        "title": title,
        "company": company,
        "emails": emails,
        "phones": phones,
        "tags": tags,
        "source": rng.choice(SOURCES),
        "met_at": met_at,
        "stage": rng.choice(STAGES),
        "score": rng.randint(0, 100),
        "notes": notes,
        "created_at": created,
        "search_text": normalize.search_text(
            full_name=full_name,
            given_name=given,
            family_name=family,
            company=company,
            title=title,
            emails=emails,
            phones=phones,
            website=None,
            notes=notes,
            tags=tags,
            met_at=met_at,
            address=None,
        ),
    }
    keys = [("email", email)] + [("phone", p) for p in phones]
    name_key = normalize.name_key(full_name, company)
    if name_key:
        keys.append(("name", name_key))
    return row, keys, tags


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(contacts: int, path: Path, *, seed: int = 42, quiet: bool = False) -> Path:
    """Create a migrated SQLite store with ``contacts`` seeded leads at ``path``."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{tmp}"))
    rng = random.Random(seed)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        "INSERT OR IGNORE INTO workspaces (id, name, is_local, created_at) VALUES (?, 'Local', 1, ?)",
        (LOCAL_WORKSPACE_ID, _ts(NOW)),
    )
    started = time.perf_counter()
    batch = 20_000
    seen_keys: set[tuple[str, str]] = set()
    for start in range(0, contacts, batch):
        rows, keys, tags, followups = [], [], [], []
        for i in range(start, min(start + batch, contacts)):
            row, row_keys, row_tags = _contact(rng, i)
            pk = i + 1
            next_due = None
            if rng.random() < 0.35:  # a third of the leads have a pending follow-up, due -60..+30 days
                due = NOW + timedelta(minutes=rng.randint(-60 * 24 * 60, 30 * 24 * 60))
                next_due = due
                followups.append(
                    (
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        LOCAL_WORKSPACE_ID,
                        row["id"],
                        _ts(due),
                        "pending",
                        None,
                        rng.randint(1, 4),
                        "default",
                        _ts(row["created_at"]),
                        _ts(row["created_at"]),
                    )
                )
            if rng.random() < 0.5:
                done_at = row["created_at"] + timedelta(days=rng.randint(0, 30))
                followups.append(
                    (
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        LOCAL_WORKSPACE_ID,
                        row["id"],
                        _ts(done_at),
                        "done",
                        "Sent intro",
                        1,
                        "default",
                        _ts(row["created_at"]),
                        _ts(done_at),
                    )
                )
            rows.append(
                (
                    pk,
                    row["id"],
                    LOCAL_WORKSPACE_ID,
                    row["full_name"],
                    row["given_name"],
                    row["family_name"],
                    row["title"],
                    row["company"],
                    json.dumps(row["emails"]),
                    json.dumps(row["phones"]),
                    json.dumps(row["tags"]),
                    row["source"],
                    row["met_at"],
                    row["stage"],
                    row["score"],
                    row["notes"],
                    _ts(row["created_at"]),
                    _ts(row["created_at"]),
                    _ts(next_due) if next_due else None,
                    row["search_text"],
                )
            )
            for key in row_keys:
                if key not in seen_keys:  # a repeated name at a repeated company stays one key owner
                    seen_keys.add(key)
                    keys.append((LOCAL_WORKSPACE_ID, key[0], key[1], row["id"]))
            tags.extend((LOCAL_WORKSPACE_ID, t, pk) for t in row_tags)
        db.executemany(
            "INSERT INTO contacts (pk, id, workspace_id, full_name, given_name, family_name, title, company, "
            "emails, phones, tags, source, met_at, stage, score, notes, created_at, updated_at, "
            "next_followup_at, search_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT INTO contact_keys (workspace_id, kind, value, contact_id) VALUES (?,?,?,?)", keys
        )
        db.executemany("INSERT INTO contact_tags (workspace_id, tag, contact_pk) VALUES (?,?,?)", tags)
        db.executemany(
            "INSERT INTO followups (id, workspace_id, contact_id, due_at, status, outcome, step, cadence, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            followups,
        )
        db.commit()
        if not quiet:
            done = min(start + batch, contacts)
            print(
                f"\r  seeding {done:,}/{contacts:,} ({time.perf_counter() - started:.0f} s)",
                end="",
                file=sys.stderr,
            )
    db.execute("ANALYZE")
    db.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('optimize')")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    if not quiet:
        print(file=sys.stderr)
    tmp.replace(path)
    return path


def ensure(contacts: int) -> Path:
    """The cached store of this size, built on first use."""
    path = store_path(contacts)
    if not path.exists():
        print(f"building {path.name} (first run only)...", file=sys.stderr)
        build(contacts, path)
    return path


def main() -> None:
    """Build a seeded store."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args()
    path = store_path(args.contacts)
    if args.force:
        path.unlink(missing_ok=True)
    print(ensure(args.contacts))


if __name__ == "__main__":
    main()
