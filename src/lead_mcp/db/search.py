"""Full-text search over contacts, the same on SQLite (FTS5) and PostgreSQL (tsvector).

Both databases index ``contacts.search_text``, which the services fill with
text already folded to lower-case ASCII-ish tokens separated by spaces (see
``services/normalize.py``). Because the tokens are made in Python, both
databases see the same words, and a query (a list of phrases, each a list of
tokens whose last one is a prefix) finds the same contacts on either. No query
syntax from the caller reaches the database: tokens are ``[0-9a-z...]`` runs
only, and the match string is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, column, literal_column, table
from sqlalchemy.sql import func

Phrase = Sequence[str]

SQLITE_FTS_TABLE = "contacts_fts"

# Objects that exist only in migrations, ignored by the model-drift check.
FTS_OBJECT_NAMES = frozenset({SQLITE_FTS_TABLE, "search_tsv", "ix_contacts_search_tsv"})


def include_in_autogenerate(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic filter: leave the dialect-specific full-text objects out of model comparisons."""
    return not (name in FTS_OBJECT_NAMES or (name or "").startswith(SQLITE_FTS_TABLE))


sqlite_fts = table(SQLITE_FTS_TABLE, column("rowid"), column(SQLITE_FTS_TABLE))


def fts5_query(phrases: Sequence[Phrase]) -> str:
    """An FTS5 MATCH string: every phrase must match, the last token of each is a prefix."""
    return " AND ".join('"' + " ".join(p) + '"*' for p in phrases if p)


def tsquery(phrases: Sequence[Phrase]) -> str:
    """A PostgreSQL to_tsquery string with the same meaning as :func:`fts5_query`."""
    parts = []
    for phrase in phrases:
        if not phrase:
            continue
        words = [*phrase[:-1], phrase[-1] + ":*"]
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


def pg_match(phrases: Sequence[Phrase]) -> ColumnElement[bool]:
    """``contacts.search_tsv @@ to_tsquery(...)`` for PostgreSQL."""
    query = func.to_tsquery(literal_column("'simple'"), tsquery(phrases))
    return literal_column("contacts.search_tsv").op("@@")(query)
