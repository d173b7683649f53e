"""Property-based fuzzing of the whole tool surface, generated from each tool's own input schema.

Used by ``tests/mcp/test_fuzz.py`` (a short run on SQLite and PostgreSQL) and by
``python -m benchmarks.fuzz`` (the long run). Nothing here knows a tool by name:
tools are read from ``tools/list`` and arguments are drawn from their JSON
Schemas (hypothesis-jsonschema), so tools added later are fuzzed too. On top of
schema-valid values, argument names steer values towards what a model sends
(``*_id`` from ids the server returned, emails and phones from small pools so
that merges happen, ISO dates near "today", cursors from earlier pages), and
hostile mutations replace, drop or add arguments: wrong types, huge strings,
deep nesting, NUL bytes, unpaired surrogates, RTL overrides, huge and negative
numbers, unknown ids, deleted contacts' ids and ids from another workspace.

The property, per call: the answer is a result with structured content or an
``isError`` result whose text names an argument (or a setting); never a
protocol failure, a crash message, a raw database error, or a hang; an
argument that breaks its schema's hard limits (length, range, enum, type,
required) is always refused, naming that argument; a result never shows
another workspace's data. After the run the store's invariants hold
(``tests/invariants.py``) and the other workspace's rows are untouched.
"""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import anyio
import jsonschema
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp_types import CallToolResult, Tool

from lead_mcp.clock import Clock
from lead_mcp.config import Settings
from lead_mcp.db.engine import Database
from lead_mcp.domain import ContactCreate, InteractionKind
from lead_mcp.mcp.limits import without_nul
from lead_mcp.mcp.server import build_server
from lead_mcp.services import contacts, interactions
from lead_mcp.services.scope import Scope
from lead_mcp.services.workspaces import create_workspace
from mcp import Client
from tests.invariants import store_violations, table_dump

CALL_TIMEOUT_SECONDS = 60.0
VERBOSE = bool(os.environ.get("LEAD_MCP_FUZZ_VERBOSE"))
OTHER_MARKERS = ("otherworkspace", "other-workspace.org", "w2-secret")
# Texts that mean something went wrong inside the server rather than in the caller's arguments.
FORBIDDEN_ERROR_TEXT = (
    "Traceback",
    "store refused this change",  # a constraint failed: input reached the database unchecked
    "store is busy",  # one client cannot make its own store busy
    "sqlalchemy",
    "asyncpg",
    "sqlite3",
)
STRICT_KEYWORDS = frozenset(
    {
        "required",
        "maxLength",
        "minLength",
        "maxItems",
        "minItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "enum",
        "const",
        "pattern",
    }
)
_BAD_CHARS = re.compile("[\ud800-\udfff]")  # unpaired surrogates are refused (NUL is removed)

# ---------------------------------------------------------------------------------------------- values

FIRST = ["Ana", "Tom", "José", "Zoë", "Ольга", "王", "محمد", "Ngozi", "Anna", "Lars"]
LAST = ["Souza", "Müller", "O'Brien", "van der Berg", "Петрова", "小明", "الأحمد", "Okafor", "Lee"]
COMPANIES = ["Fintech Inc", "ACME GmbH", "Müller & Söhne", "北京科技", "Acme", "Initech LLC", "شركة"]
DOMAINS = ["fintech.io", "acme.de", "example.co.uk", "xn--mller-kva.de", "b\u00fccher.example"]
TAGS = ["fintech", "hot", "investor", "Web Summit", "vip ", "ÜBER", "a" * 100]
UNICODE_EDGES = [
    "\u202eevil\u202c",  # right-to-left override
    "مرحبا بالعالم",  # right-to-left text
    "e\u0301\u0301\u0301",  # combining marks
    "👩\u200d💻 dev",  # zero-width joiner emoji
    "\ufeffBOM",
    "a\u200bb",  # zero-width space
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "ǅemal İstanbul ß",
    "  spaced   out  ",
    "\t\r\n",
    "",
    " ",
]
INJECTIONS = [
    "'; DROP TABLE contacts; --",
    '" OR 1=1 --',
    'NEAR(ana tom) "unbalanced',
    "ana* OR tom^2 AND -x",
    "%_%\\",
    "contacts_fts MATCH 'x'",
    '=HYPERLINK("http://evil")',
    "+cmd|' /C calc'!A0",
    "../../../etc/passwd",
    "${jndi:ldap://x/y}",
    "{{7*7}}<script>alert(1)</script>",
    "lead://contacts/../../secrets",
]
PLAIN_TEXT = [
    "Met at the fintech meetup; wants a demo in May",
    "Head of Sales",
    "Web Summit 2026",
    "Rua Augusta 12, 1100-053 Lisboa",
    "Called, she asked about pricing for 20 seats",
    "Zoë asked about the API — follow up next week 🚀",
    "Referred by Tom; budget approved",
]
NUL_AND_SURROGATES = ["\x00", "ana\x00@x.io", "x\ud800y", "\udfff", "\ud83d"]


def import_files(*, clean: bool) -> st.SearchStrategy[str]:
    """Small CSV and vCard files of plausible people; noisy ones carry hostile cells and broken lines."""
    person = st.tuples(
        st.sampled_from(FIRST), st.sampled_from(LAST), st.sampled_from(COMPANIES), st.integers(0, 60)
    )
    cell = st.sampled_from(["", "=1+2", "@SUM(A1)", "a,b;c", 'say "hi"', "line\nbreak", "\t-x", "é" * 300])

    def csv_file(rows: list[tuple[str, str, str, int]], extra: list[str]) -> str:
        lines = ["Name,Email,Phone,Company,Notes"]
        for index, (first, last, company, n) in enumerate(rows):
            note = extra[index % len(extra)] if extra else ""
            quoted = '"' + note.replace('"', '""') + '"'
            email = f"{first.lower()}.{n}@fintech.io"
            lines.append(f"{first} {last},{email},+1 415 555 {n:04d},{company},{quoted}")
        return "\r\n".join(lines) + "\r\n"

    def vcard_file(rows: list[tuple[str, str, str, int]], extra: list[str]) -> str:
        cards = []
        for index, (first, last, company, n) in enumerate(rows):
            note = (extra[index % len(extra)] if extra else "").replace("\n", "\\n")
            cards.append(
                "BEGIN:VCARD\r\nVERSION:3.0\r\n"
                f"FN:{first} {last}\r\nN:{last};{first};;;\r\nORG:{company}\r\n"
                f"EMAIL;TYPE=INTERNET:{first.lower()}.{n}@acme.de\r\nTEL;TYPE=CELL:+49 30 1234{n:03d}\r\n"
                f"NOTE:{note}\r\nEND:VCARD\r\n"
            )
        return "".join(cards)

    rows = st.lists(person, min_size=1, max_size=6)
    extras = st.just([]) if clean else st.lists(cell, max_size=3)
    files = st.one_of(st.builds(csv_file, rows, extras), st.builds(vcard_file, rows, extras))
    if clean:
        return files
    broken = st.builds(lambda text, cut: text[:cut], files, st.integers(0, 400))  # cut mid-line or mid-card
    return st.one_of(files, broken)


def nested(depth: int, kind: str) -> Any:
    """A value nested ``depth`` levels deep, built without recursion."""
    value: Any = "deep"
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def _repeat(unit: str, count: int) -> str:
    return unit * count


def any_text() -> st.SearchStrategy[str]:
    """Text a hostile or careless caller sends: unicode edge cases, injections, surrogates, NULs."""
    return st.one_of(
        st.sampled_from(UNICODE_EDGES + INJECTIONS),
        st.text(max_size=40),
        st.text(st.characters(exclude_categories=()), max_size=20),  # includes surrogates
        st.sampled_from(NUL_AND_SURROGATES),
    )


def huge_text() -> st.SearchStrategy[str]:
    """Strings past any sane limit, up to 1.5 million characters."""
    return st.builds(
        _repeat,
        st.sampled_from(["a", "é", "💥", "a b ", "\x00", "ab@x.io "]),
        st.sampled_from([101, 301, 501, 5_001, 20_001, 100_000, 1_500_000]),
    )


def hostile_value() -> st.SearchStrategy[Any]:
    """Any JSON-ish value a broken client might send in place of an argument."""
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([-1, 0, 2**31, 2**63, -(2**63) - 1, 10**30, 10**5000, -(10**5000)]),
        st.floats(allow_nan=True, allow_infinity=True),
        any_text(),
        huge_text(),
    )
    return st.one_of(
        scalar,
        st.lists(scalar, max_size=5),
        st.dictionaries(st.text(max_size=10), scalar, max_size=4),
        # Deeper than 200 levels the SDK client itself refuses to serialize (see tests/e2e/test_limits.py).
        st.builds(nested, st.sampled_from([5, 40, 200]), st.sampled_from(["list", "dict"])),
        st.builds(lambda n: ["x@y.io"] * n, st.sampled_from([51, 1_000, 100_000])),
    )


@dataclass
class Pools:
    """What the fuzzer has learned from results: ids by kind, cursors, and ids it must not reach."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    cursors: list[str] = field(default_factory=list)
    other_workspace_ids: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def add(self, kind: str, value: str) -> None:
        """Remember an id (bounded, most recent kept)."""
        bucket = self.ids.setdefault(kind, [])
        if value not in bucket:
            bucket.append(value)
            del bucket[:-200]

    def learn(self, value: Any, key: str = "") -> None:
        """Collect ids and cursors from a structured result."""
        if isinstance(value, dict):
            if isinstance(value.get("id"), str):
                if "full_name" in value or "emails" in value:
                    kind = "contact"
                elif "due_at" in value and "status" in value:
                    kind = "followup"
                else:
                    kind = key or "id"
                self.add(kind, value["id"])
            for k, v in value.items():
                if k == "next_cursor" and isinstance(v, str):
                    self.cursors.append(v)
                    del self.cursors[:-50]
                elif k.endswith("_id") and isinstance(v, str) and v:
                    self.add(k.removesuffix("_id"), v)
                elif k == "duplicate_of" and isinstance(v, str):
                    self.add("contact", v)
                else:
                    self.learn(v, k)
        elif isinstance(value, list):
            for item in value:
                self.learn(item, key)

    def id_kind(self, arg: str) -> str:
        """Which pool an id argument draws from: contact_id/referred_by/contact_ids -> contact, x_id -> x."""
        base = arg.removesuffix("s") if arg.endswith("_ids") else arg
        if base in ("referred_by", "contact_id", "id"):
            return "contact"
        return base.removesuffix("_id")


def is_id_argument(name: str) -> bool:
    """Arguments that carry ids: ``*_id``, ``*_ids``, ``id``, ``referred_by``."""
    return name in ("id", "referred_by") or name.endswith(("_id", "_ids"))


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
            rest = {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


@dataclass(frozen=True)
class Slot:
    """An id or cursor to be taken from the pools when the call is made."""

    pool: str
    kind: str
    index: int

    def resolve(self, pools: Pools) -> str | None:
        """The pooled value this slot points at (None for an empty pool of our own ids or cursors)."""
        if self.pool == "cursor":
            options = pools.cursors
        elif self.pool == "other_workspace":
            options = pools.other_workspace_ids
        elif self.pool == "deleted":
            options = pools.deleted
        elif self.pool == "other_kind":
            options = [i for k, ids in sorted(pools.ids.items()) if k != self.kind for i in ids]
        else:
            options = pools.ids.get(self.kind) or [i for _, ids in sorted(pools.ids.items()) for i in ids]
        if not options:
            return None if self.pool in ("own", "cursor") else str(uuid.UUID(int=self.index + 1))
        return options[-1 - self.index % len(options)]  # hypothesis favours small indexes: the newest ids


def resolve(value: Any, pools: Pools) -> Any:
    """Arguments with every Slot replaced by a pooled id or cursor."""
    if isinstance(value, Slot):
        return value.resolve(pools)
    if isinstance(value, list):
        return [resolve(v, pools) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, pools) for k, v in value.items()}
    return value


@dataclass
class PlannedCall:
    """One generated call and how it was made."""

    tool: str
    arguments: dict[str, Any]
    mutations: list[str]


class ToolFuzzer:
    """Draws calls for every listed tool and judges each answer."""

    def __init__(self, tools: list[Tool], pools: Pools, *, now: datetime) -> None:
        self.tools = {t.name: t for t in tools}
        self.pools = pools
        self.now = now
        self.validators = {t.name: jsonschema.Draft202012Validator(t.input_schema) for t in tools}
        self.properties: dict[str, dict[str, Any]] = {}
        self._schema_values: dict[tuple[str, str], st.SearchStrategy[Any]] = {}
        self._calls: st.SearchStrategy[PlannedCall] | None = None
        for tool in tools:
            defs = tool.input_schema.get("$defs", {})
            props = tool.input_schema.get("properties", {})
            self.properties[tool.name] = {k: _inline_refs(v, defs) for k, v in props.items()}

    # -- drawing ----------------------------------------------------------------------------------

    def _schema_value(self, tool: str, name: str) -> st.SearchStrategy[Any]:
        key = (tool, name)
        if key not in self._schema_values:
            schema = self.properties[tool][name]
            if _mentions_object(schema):
                # hypothesis-jsonschema's object strategy breaks on current hypothesis ('many' has no
                # 'more'): free-form objects (custom-field values) are drawn here instead.
                self._schema_values[key] = st.one_of(st.none(), _free_object())
                return self._schema_values[key]
            try:
                self._schema_values[key] = from_schema(schema)
            except Exception:  # a keyword hypothesis-jsonschema cannot turn into a strategy
                self._schema_values[key] = hostile_value()
        return self._schema_values[key]

    def _ids(self, kind: str, *, clean: bool) -> st.SearchStrategy[Any]:
        # Strategies must not depend on what the pools hold (hypothesis replays choices), so an id is
        # drawn as a slot and resolved against the pools just before the call (see resolve()).
        own = st.builds(Slot, st.just("own"), st.just(kind), st.integers(0, 10_000))
        if clean:
            return own
        return st.one_of(
            st.builds(lambda n: str(uuid.UUID(int=n)), st.integers(1, 2**122)),  # unknown id
            st.sampled_from(["", " ", "42", "null", "../x", "a" * 64, "é" * 64]),
            st.builds(
                Slot,
                st.sampled_from(["own"] * 3 + ["other_workspace", "deleted", "other_kind"]),
                st.just(kind),
                st.integers(0, 10_000),
            ),
        )

    def _dates(self, *, clean: bool) -> st.SearchStrategy[str]:
        def day(offset: int, form: int) -> str:
            when = self.now + timedelta(days=offset, minutes=offset * 7)
            return [
                when.date().isoformat(),
                when.isoformat(),
                when.replace(tzinfo=None).isoformat(timespec="minutes"),
                when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ][form]

        good = st.builds(day, st.integers(-400, 400), st.integers(0, 3))
        if clean:
            return good
        return st.one_of(
            st.builds(day, st.integers(-4000, 4000), st.integers(0, 3)),
            st.sampled_from(
                ["2026-02-30", "9999-12-31", "0001-01-01", "tomorrow", "2026-13-01T25:00", "1e10", ""]
            ),
        )

    def _tool_semantic(self, tool: str, name: str, *, clean: bool) -> st.SearchStrategy[Any] | None:
        """Values that only make sense for one tool's argument (so its success path is reached too)."""
        if tool == "import_contacts" and name == "content":
            good = import_files(clean=clean)
            return good if clean else st.one_of(good, good, any_text())
        if tool == "restore_contact" and name == "contact_id":
            deleted = st.builds(Slot, st.just("deleted"), st.just("contact"), st.integers(0, 10_000))
            return deleted if clean else st.one_of(deleted, self._ids("contact", clean=False))
        if tool == "create_cadence" and name == "name":
            good = st.sampled_from(["event-leads", "webinar_2026", "vip", "default"])
            return good if clean else st.one_of(good, st.sampled_from(["two words", "", "x" * 60]))
        if tool == "create_cadence" and name == "steps_days":
            good = st.lists(st.integers(0, 365), min_size=1, max_size=12, unique=True).map(sorted)
            return good if clean else st.one_of(good, st.lists(st.integers(-5, 400), max_size=14))
        return None

    def _semantic(self, name: str, schema: dict[str, Any], *, clean: bool) -> st.SearchStrategy[Any] | None:
        """Values a model would plausibly send for an argument with this name (``clean``: only sound ones)."""
        lower = name.lower()
        is_array = schema.get("type") == "array" or any(
            o.get("type") == "array" for o in schema.get("anyOf", []) if isinstance(o, dict)
        )
        good: st.SearchStrategy[Any] | None = None
        bad: st.SearchStrategy[Any] = st.nothing()
        if is_id_argument(lower):
            good = self._ids(self.pools.id_kind(lower), clean=clean)
        elif "email" in lower:
            good = st.builds(
                lambda f, last, n, d: f"{f}.{last}{n or ''}@{d}",
                st.sampled_from(["ana", "tom", "jose", "zoe", "lars"]),
                st.sampled_from(["souza", "muller", "obrien"]),
                st.integers(0, 1000),
                st.sampled_from(DOMAINS),
            )
            bad = st.sampled_from(
                ["not-an-email", "a@b", "@x.io", "ana@@x.io", "ANA@Fintech.IO", "<ana@x.io>"]
            )
        elif "phone" in lower:
            good = st.one_of(
                st.builds(lambda n: f"+1 415 555 {n:04d}", st.integers(0, 30)),
                st.builds(lambda n: f"(415) 555-{n:04d}", st.integers(0, 30)),
                st.builds(lambda n: f"+49 30 1234{n:03d}", st.integers(0, 30)),
            )
            bad = st.sampled_from(
                ["12", "phone", "+1 (555)", "++1 415 555 0100", "0" * 40, "+1 415 555 0100 x123"]
            )
        elif lower in ("full_name", "name", "given_name", "family_name"):
            good = st.builds(lambda f, last: f"{f} {last}", st.sampled_from(FIRST), st.sampled_from(LAST))
        elif lower == "company":
            good = st.sampled_from(COMPANIES)
        elif lower in ("tag", "tags") or lower.endswith(("_tag", "_tags")):
            good = st.sampled_from(TAGS[:-1])
            bad = st.just(TAGS[-1] + "b")
        elif lower in ("due", "occurred_at", "since", "until", "date", "when") or lower.endswith("_at"):
            good = self._dates(clean=clean)
        elif lower == "cursor":
            good = st.builds(Slot, st.just("cursor"), st.just("cursor"), st.integers(0, 10_000))
            bad = st.sampled_from(["", "bm90IGEgY3Vyc29y", "%%%", "eyJrIjoieCJ9"])
        elif lower == "query":
            good = st.one_of(
                st.sampled_from(FIRST + LAST + COMPANIES + DOMAINS + ["+1 415 555 0001", "ana.souza@"]),
                st.builds(lambda f, last: f"{f} {last}", st.sampled_from(FIRST), st.sampled_from(LAST)),
            )
        elif "url" in lower or lower == "website":
            # Only places that cannot reach the network: a closed loopback port, or nonsense.
            good = st.sampled_from(["fintech.io", "https://acme.de/team", "http://127.0.0.1:9/card.png"])
            bad = st.sampled_from(["ftp://x", "javascript:alert(1)", "http://", "not a site"])
        elif lower == "confirm":
            good = st.just(True) if clean else st.booleans()
        elif lower == "cadence":
            good = st.sampled_from(["default"])  # the cadence every workspace has
            bad = st.sampled_from(["no-such-cadence", "x" * 80])
        elif _accepts_string(schema):
            good = st.one_of(st.sampled_from(PLAIN_TEXT), st.text(st.characters(codec="utf-8"), max_size=30))
        if good is None:
            return None
        one = good if clean else st.one_of(good, good, bad, any_text())
        return st.lists(one, max_size=4) if is_array else one

    def _value(self, tool: str, name: str, *, clean: bool) -> st.SearchStrategy[Any]:
        schema = self.properties[tool][name]
        if clean and _mentions_object(schema):
            return st.none()  # a free-form object (custom fields) is only valid with keys defined first
        semantic = self._tool_semantic(tool, name, clean=clean)
        if semantic is None:
            semantic = self._semantic(name, schema, clean=clean)
        base = self._schema_value(tool, name)
        if semantic is None:
            return base
        return semantic if clean else st.one_of(semantic, semantic, base)

    def calls(self) -> st.SearchStrategy[PlannedCall]:
        """One call: a tool and its arguments, clean (half), noisy (a quarter) or with hostile mutations."""
        if self._calls is None:
            self._calls = self._build_calls()
        return self._calls

    def _build_calls(self) -> st.SearchStrategy[PlannedCall]:

        @st.composite
        def draw(draw_: Callable[..., Any]) -> PlannedCall:
            tool = draw_(st.sampled_from(sorted(self.tools)))
            mode = draw_(st.sampled_from(["clean", "clean", "noisy", "hostile"]))
            props = self.properties[tool]
            required = set(self.tools[tool].input_schema.get("required", []))
            args: dict[str, Any] = {}
            for name in sorted(props):
                # A clean call carries the confirmation a model would pass once the user said yes
                # (this client cannot be asked), so deletes and erasures really happen.
                confirmed = mode == "clean" and name == "confirm"
                if name in required or confirmed or draw_(st.integers(0, 2)) == 0:
                    args[name] = draw_(self._value(tool, name, clean=mode == "clean"))
            mutations: list[str] = []
            if mode == "hostile":
                for _ in range(draw_(st.integers(1, 2))):
                    kind = draw_(st.sampled_from(["replace", "replace", "huge", "drop", "extra"]))
                    names = sorted(props)
                    if kind in ("replace", "huge") and names:
                        target = draw_(st.sampled_from(names))
                        args[target] = draw_(huge_text() if kind == "huge" else hostile_value())
                        mutations.append(f"{kind}:{target}")
                    elif kind == "drop" and required & set(args):
                        target = draw_(st.sampled_from(sorted(required & set(args))))
                        del args[target]
                        mutations.append(f"drop:{target}")
                    elif kind == "extra":
                        args["zz_unknown"] = draw_(hostile_value())
                        mutations.append("extra:zz_unknown")
            return PlannedCall(tool=tool, arguments=args, mutations=[mode, *mutations])

        return draw()

    # -- judging ----------------------------------------------------------------------------------

    def hard_violations(self, call: PlannedCall) -> list[str]:
        """Top-level arguments that break a hard limit of the schema: the server must refuse each."""
        names: list[str] = []
        # The server removes NUL characters before validating (lead_mcp/mcp/limits.py): judge what it sees.
        seen = without_nul(call.arguments)
        for error in self.validators[call.tool].iter_errors(_printable(seen)):
            if _strict(error):
                if error.validator == "required":
                    names.append(str(error.message).split("'")[1])
                elif error.absolute_path:
                    names.append(str(error.absolute_path[0]))
        for name, value in seen.items():
            if name not in self.properties[call.tool]:
                names.append(name)  # an argument the tool does not take is refused, never dropped
            elif _has_bad_chars(value):
                names.append(name)
        return sorted(set(names))

    def judge(self, call: PlannedCall, result: CallToolResult) -> str:
        """'ok' or 'error' for an acceptable answer; raises AssertionError (with the call) otherwise."""
        text = " ".join(getattr(block, "text", "") or "" for block in result.content)
        must_refuse = self.hard_violations(call)
        where = f"{call.tool}({_short(call.arguments)}) mutations={call.mutations}"
        if result.is_error:
            crashed = re.fullmatch(r"(Error executing tool \w+:? ?)+", text.strip())
            assert not crashed, f"{where}: the tool crashed (an unexpected exception): {text!r}"
            for bad in FORBIDDEN_ERROR_TEXT:
                assert bad.lower() not in text.lower(), f"{where}: server-side failure: {text[:400]!r}"
            for name in must_refuse:
                assert re.search(rf"\b{re.escape(name)}\b", text), (
                    f"{where}: the error does not name the bad argument {name!r}: {text[:400]!r}"
                )
            # A clear error names the argument to fix, or (a state error such as "no card yet")
            # the tool to call next.
            names = [*self.properties[call.tool], *self.properties, "arguments", "LEAD_MCP_"]
            assert any(re.search(rf"\b{re.escape(n)}\b", text) for n in names), (
                f"{where}: the error names no argument and no tool to call: {text[:400]!r}"
            )
            return "error"
        assert not must_refuse, (
            f"{where}: accepted arguments that break the schema ({must_refuse}): {text[:200]!r}"
        )
        assert result.structured_content is not None, f"{where}: no structured content"
        shown = (text + repr(result.structured_content)).lower()
        for marker in OTHER_MARKERS:
            assert marker not in shown, f"{where}: shows another workspace's data ({marker})"
        return "ok"


def _printable(value: Any) -> Any:
    """The same arguments with integers too long to print (jsonschema reprs them) cut to 2**100."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return 2**100 if value > 0 else -(2**100)
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    return value


def _accepts_string(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(isinstance(o, dict) and o.get("type") == "string" and "enum" not in o for o in options)


def _has_bad_chars(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_BAD_CHARS.search(value))
    if isinstance(value, list):
        return any(_has_bad_chars(v) for v in value[:1000])
    if isinstance(value, dict):
        return any(_has_bad_chars(k) or _has_bad_chars(v) for k, v in list(value.items())[:1000])
    return False


def _strict(error: jsonschema.ValidationError) -> bool:
    """True when no lax coercion (pydantic's "7" -> 7, a JSON string parsed into a list) can make it pass."""
    if error.validator in STRICT_KEYWORDS:
        return True
    if error.validator == "type":
        instance = error.instance
        expected = error.validator_value
        expected = set(expected) if isinstance(expected, list) else {expected}
        if isinstance(instance, dict) or instance is None:
            return True
        if isinstance(instance, list) and "array" not in expected:
            return True
        if (
            isinstance(instance, float)
            and "integer" in expected
            and not (math.isfinite(instance) and instance.is_integer())
        ):
            return "number" not in expected
        return (
            isinstance(instance, (int, float)) and not isinstance(instance, bool) and expected == {"string"}
        )
    if error.validator in ("anyOf", "oneOf"):
        branches: dict[int, list[jsonschema.ValidationError]] = {}
        for sub in error.context or []:
            branches.setdefault(int(sub.schema_path[0]), []).append(sub)
        options = error.validator_value
        relevant = [
            subs
            for index, subs in branches.items()
            if not (isinstance(options[index], dict) and options[index].get("type") == "null")
        ]
        return bool(relevant) and all(any(_strict(s) for s in subs) for subs in relevant)
    return False


def _short(value: Any, limit: int = 300) -> str:
    def shrink(v: Any, depth: int = 0) -> Any:
        if depth > 4:
            return "..."
        if isinstance(v, str):
            return v if len(v) <= 60 else f"{v[:40]!r}...({len(v)} chars)"
        if isinstance(v, int) and abs(v) > 10**18:
            return f"<int of {len(str(abs(v))) if abs(v) < 10**4000 else '4000+'} digits>"
        if isinstance(v, list):
            return [shrink(x, depth + 1) for x in v[:5]] + ([f"...({len(v)} items)"] if len(v) > 5 else [])
        if isinstance(v, dict):
            return {k[:30]: shrink(x, depth + 1) for k, x in list(v.items())[:8]}
        return v

    text = repr(shrink(value))
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------- runs


@dataclass
class FuzzReport:
    """What a fuzz run did and found."""

    calls: int = 0
    ok: int = 0
    errors: int = 0
    refused_hard: int = 0
    by_tool: Counter[str] = field(default_factory=Counter)
    ok_by_tool: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)
    other_workspace_changed: bool = False
    contacts_created: int = 0

    def summary(self) -> str:
        """One paragraph for a benchmark's output."""
        rate = self.calls / self.seconds if self.seconds else 0.0
        tools = ", ".join(f"{t} {self.ok_by_tool[t]}/{n}" for t, n in sorted(self.by_tool.items()))
        return (
            f"{self.calls} calls in {self.seconds:.1f} s ({rate:.0f} calls/s): {self.ok} results, "
            f"{self.errors} isError answers ({self.refused_hard} of them refusing schema-breaking "
            f"arguments), 0 protocol failures; store invariants: "
            f"{'hold' if not self.violations else f'{len(self.violations)} VIOLATED'}; other workspace "
            f"{'CHANGED' if self.other_workspace_changed else 'untouched'}.\n  ok/called by tool: {tools}"
        )


async def _other_workspace(settings: Settings, clock: Clock) -> tuple[str, list[str]]:
    """A second workspace with contacts, a touch and follow-ups: ids the fuzzer must never reach."""
    db = Database(settings.database_url)
    ids: list[str] = []
    try:
        async with db.transaction(all_workspaces=True) as session:
            workspace_id = await create_workspace(session, clock, name="Other")
        scope = Scope(workspace_id=workspace_id, settings=settings, clock=clock)
        async with db.transaction(workspace_id=workspace_id) as session:
            for i, name in enumerate(["Wanda Otherworkspace", "Walter Otherworkspace"]):
                added = await contacts.add_contact(
                    session,
                    scope,
                    data=ContactCreate(
                        full_name=name,
                        emails=[f"w{i}@other-workspace.org"],
                        company="Otherworkspace Ltd",
                        notes="W2-SECRET note",
                        tags=["w2-secret"],
                    ),
                )
                ids.append(added.contact.id)
                if added.followup:
                    ids.append(added.followup.id)
            touched = await interactions.log_interaction(
                session, scope, contact_id=ids[0], kind=InteractionKind.CALL, summary="W2-SECRET call"
            )
            ids.append(touched.interaction.id)
    finally:
        await db.dispose()
    return workspace_id, ids


async def _call(client: Client, call: PlannedCall) -> CallToolResult:
    with anyio.fail_after(CALL_TIMEOUT_SECONDS):
        return await client.call_tool(call.tool, call.arguments)


async def _still_serving(client: Client, tools: list[Tool]) -> None:
    """The server answers a plain read after the run (the first read-only tool that needs no arguments)."""
    for tool in tools:
        hints = tool.annotations
        if hints and hints.read_only_hint and not tool.input_schema.get("required"):
            result = await client.call_tool(tool.name, {})
            assert not result.is_error, f"{tool.name} failed after the run: {result.content}"
            return
    raise AssertionError("no read-only tool without required arguments to check the server with")


def run_fuzz(
    settings: Settings,
    clock: Clock,
    *,
    calls: int,
    seed_value: int = 20260310,
    per_example: int = 5,
    progress: Callable[[FuzzReport], None] | None = None,
) -> FuzzReport:
    """Fuzz every tool of a fresh in-memory server on ``settings``' store; returns what happened.

    ``calls`` is rounded up to a whole number of examples of ``per_example`` calls each.

    Raises AssertionError (with the offending call) on the first unacceptable answer.
    """
    report = FuzzReport()
    pools = Pools()
    started = time.perf_counter()
    with start_blocking_portal() as portal:
        other_ws, other_ids = portal.call(_other_workspace, settings, clock)
        pools.other_workspace_ids = other_ids
        before = portal.call(partial(table_dump, settings.database_url, workspace_id=other_ws))
        with portal.wrap_async_context_manager(Client(build_server(settings, clock=clock))) as client:
            tools = portal.call(client.list_tools).tools
            fuzzer = ToolFuzzer(list(tools), pools, now=clock.now())
            _drive(portal, client, fuzzer, report, calls, seed_value, per_example, progress)
            portal.call(_still_serving, client, list(tools))
        report.seconds = time.perf_counter() - started
        report.violations = portal.call(store_violations, settings.database_url)
        after = portal.call(partial(table_dump, settings.database_url, workspace_id=other_ws))
        report.other_workspace_changed = after != before
    return report


def _drive(
    portal: BlockingPortal,
    client: Client,
    fuzzer: ToolFuzzer,
    report: FuzzReport,
    calls: int,
    seed_value: int,
    per_example: int,
    progress: Callable[[FuzzReport], None] | None,
) -> None:
    examples = max(1, math.ceil(calls / per_example))

    @hyp_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # the store carries state from call to call: shrinking would not replay
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @seed(seed_value)
    @given(st.data())
    def program(data: st.DataObject) -> None:
        for _ in range(per_example):  # a fixed count: hypothesis checks that replays draw alike
            drawn = data.draw(fuzzer.calls(), label="call")
            call = PlannedCall(drawn.tool, resolve(drawn.arguments, fuzzer.pools), drawn.mutations)
            try:
                result = portal.call(_call, client, call)
            except Exception as exc:
                raise AssertionError(
                    f"protocol failure on {call.tool}({_short(call.arguments)}): "
                    f"{type(exc).__name__}: {exc!s:.300}"
                ) from exc
            verdict = fuzzer.judge(call, result)
            if VERBOSE:
                text = " ".join(getattr(b, "text", "") or "" for b in result.content)
                print(
                    f"[{verdict}] {call.tool}({_short(call.arguments, 200)}) {call.mutations}: {text[:160]!r}"
                )
            report.calls += 1
            report.by_tool[call.tool] += 1
            if verdict == "ok":
                report.ok += 1
                report.ok_by_tool[call.tool] += 1
                if result.structured_content:
                    fuzzer.pools.learn(result.structured_content)
                    if call.tool == "delete_contact":
                        gone = str(call.arguments.get("contact_id"))
                        fuzzer.pools.deleted.append(gone)
                        for bucket in fuzzer.pools.ids.values():
                            if gone in bucket:
                                bucket.remove(gone)
                    if result.structured_content.get("created") is True:
                        report.contacts_created += 1
            else:
                report.errors += 1
                if fuzzer.hard_violations(call):
                    report.refused_hard += 1
            if progress and report.calls % 500 == 0:
                progress(report)

    program()


def _mentions_object(schema: Any) -> bool:
    """True when a property's schema (or one of its alternatives) is a JSON object."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "additionalProperties" in schema:
            return True
        return any(_mentions_object(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_mentions_object(v) for v in schema)
    return False


def _free_object() -> st.SearchStrategy[dict[str, Any]]:
    """Small objects of short keys and scalar values, hostile strings included."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
    )
    return st.dictionaries(st.text(max_size=20), scalars, max_size=5)
