"""The ``lead-mcp`` command: run the server (stdio or HTTP) and look after the store."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from lead_mcp import __version__
from lead_mcp.config import Settings, describe_settings_error, load_settings
from lead_mcp.errors import InvalidInput

log = logging.getLogger("lead_mcp")

Handler = Callable[[argparse.Namespace, Settings], int]
T = TypeVar("T")


def _setup_logging(level: str) -> None:
    """Logs go to stderr: in stdio mode stdout carries only the protocol."""
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    if level != "DEBUG":
        # Migration chatter (plugin set-up, "Context impl") is noise at start-up; failures still show.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _cmd_stdio(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.mcp.server import build_server
    from lead_mcp.runtime import freeze_startup_heap, tune_gc

    tune_gc()
    server = build_server(settings)
    freeze_startup_heap()
    asyncio.run(server.run_stdio_async())
    return 0


def claude_desktop_snippet() -> str:
    """A ready-to-paste Claude Desktop ``mcpServers`` entry for this installation."""
    # An absolute path: Claude Desktop starts the server from its own working folder.
    beside_python = Path(sys.executable).with_name("lead-mcp")
    command = str(beside_python) if beside_python.exists() else shutil.which("lead-mcp") or sys.argv[0]
    command = str(Path(command).resolve())
    config = {"mcpServers": {"lead-mcp": {"command": command, "args": ["stdio"]}}}
    return json.dumps(config, indent=2)


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from lead_mcp.runtime import tune_gc
    from lead_mcp.web.app import build_app

    host = args.host or settings.host
    port = args.port or settings.port
    try:
        settings.check_bind(host)
    except ValueError as exc:
        print(f"lead-mcp: {exc}", file=sys.stderr)
        return 2
    tune_gc()
    app = build_app(settings, freeze_heap=True)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"lead-mcp {__version__}: MCP endpoint  http://{shown_host}:{port}/mcp", flush=True)
    print(f"  health check   http://{shown_host}:{port}/healthz", flush=True)
    print("  Claude Desktop (claude_desktop_config.json), local stdio server:", flush=True)
    print("\n".join("    " + line for line in claude_desktop_snippet().splitlines()), flush=True)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        access_log=False,  # an access log would keep every visitor's address and the card they opened
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()
    return 0


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.db import migrate

    asyncio.run(migrate.upgrade(settings.database_url, args.revision))
    current = asyncio.run(migrate.current_revision(settings.database_url))
    print(f"database at revision {current}")
    return 0


def _cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.db import migrate

    current = asyncio.run(migrate.current_revision(settings.database_url))
    head = migrate.head_revision()
    print(f"database at revision {current or '(empty)'}; this version's head is {head}")
    return 0 if current == head else 1


def _run_store(settings: Settings, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Migrate the store, then run ``work(session, clock)`` in one transaction over every workspace."""
    if settings.log_level != "DEBUG":  # an admin command's stderr is for its own details
        logging.getLogger().setLevel(logging.WARNING)
    from lead_mcp.clock import SystemClock
    from lead_mcp.db import migrate
    from lead_mcp.db.engine import Database

    async def go() -> T:
        await migrate.upgrade(settings.database_url)
        db = Database(settings.database_url, pool_size=1, max_overflow=0)
        try:
            # The administrator's shell acts across workspaces on purpose: no workspace filter.
            async with db.transaction(all_workspaces=True) as session:
                return await work(session, SystemClock())
        finally:
            await db.dispose()

    return asyncio.run(go())


def _details(text: str) -> None:
    print(text, file=sys.stderr)


def _read_password() -> str:
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput(
            "password", "nothing came on standard input", 'Pipe it in: printf %s "$PW" | lead-mcp ...'
        )
    return line.rstrip("\r\n")


def _cmd_workspace_create(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import accounts

    workspace = _run_store(
        settings, lambda session, clock: accounts.create_workspace(session, clock, name=args.name)
    )
    print(workspace.id)
    _details(
        f"created workspace {workspace.name!r}; add seats with: "
        f"lead-mcp user add EMAIL --workspace {workspace.id}"
    )
    return 0


def _cmd_workspace_list(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import accounts

    for workspace, seats in _run_store(settings, lambda session, clock: accounts.list_workspaces(session)):
        local = " (local)" if workspace.is_local else ""
        print(f"{workspace.id}\t{workspace.name}{local}\t{seats} seat{'s' if seats != 1 else ''}")
    return 0


def _cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.domain import Role
    from lead_mcp.services import accounts

    password = _read_password() if args.password_stdin else None
    seat = _run_store(
        settings,
        lambda session, clock: accounts.add_user(
            session,
            clock,
            workspace_id=args.workspace,
            email=args.email,
            role=Role(args.role),
            name=args.name,
            password=password,
            external_subject=args.subject,
        ),
    )
    print(seat.id)
    how = (
        "can sign in with a password"
        if seat.has_password
        else "has no password (personal tokens or auth=jwt only)"
    )
    _details(f"added {seat.email} as {seat.role.value} of workspace {seat.workspace_id}; {how}")
    return 0


def _cmd_user_remove(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import accounts

    seat = _run_store(
        settings,
        lambda session, clock: accounts.remove_user(session, workspace_id=args.workspace, email=args.email),
    )
    _details(f"removed {seat.email} from workspace {seat.workspace_id}; their tokens no longer work")
    return 0


def _cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import accounts

    for seat in _run_store(
        settings, lambda session, clock: accounts.list_users(session, workspace_id=args.workspace)
    ):
        print(f"{seat.id}\t{seat.email}\t{seat.role.value}\t{'password' if seat.has_password else '-'}")
    return 0


def _cmd_user_password(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import accounts

    password = _read_password()
    seat = _run_store(
        settings,
        lambda session, clock: accounts.set_password(
            session, workspace_id=args.workspace, email=args.email, password=password
        ),
    )
    _details(f"password set for {seat.email}")
    return 0


def _cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.domain import ALL_SCOPES
    from lead_mcp.services import accounts, tokens

    async def work(session: Any, clock: Any) -> tuple[str, Any, Any]:
        seat = await accounts.find_seat(session, email=args.user, workspace_id=args.workspace)
        secret, info = await tokens.create_personal_token(
            session,
            clock,
            user_id=seat.id,
            scopes=args.scope or list(ALL_SCOPES),
            name=args.name,
            expires_in_days=args.expires_days,
        )
        return secret, info, seat

    secret, info, seat = _run_store(settings, work)
    print(secret)
    expiry = f"expires {info.expires_at:%Y-%m-%d}" if info.expires_at else "does not expire"
    _details(
        f"token {info.id} for {seat.email} (workspace {info.workspace_id}), "
        f"scopes {' '.join(info.scopes)}, {expiry}. "
        "It is shown only now; revoke it with: lead-mcp token revoke " + info.id
    )
    return 0


def _cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import tokens

    info = _run_store(settings, lambda session, clock: tokens.revoke_by_id(session, clock, token_id=args.id))
    _details(f"revoked token {info.id}")
    return 0


def _cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.services import accounts, tokens

    async def work(session: Any, clock: Any) -> list[Any]:
        user_id = None
        if args.user:
            user_id = (await accounts.find_seat(session, email=args.user, workspace_id=args.workspace)).id
        return await tokens.list_personal_tokens(session, user_id=user_id)

    for info in _run_store(settings, work):
        state = "revoked" if info.revoked_at else "active"
        print(f"{info.id}\t{info.user_id}\t{info.name or '-'}\t{' '.join(info.scopes)}\t{state}")
    return 0


def _add_access_commands(sub: Any) -> None:
    from lead_mcp.domain import ALL_SCOPES, Role

    workspace = sub.add_parser("workspace", help="workspaces (tenants) for HTTP mode with auth")
    ws_sub = workspace.add_subparsers(dest="workspace_command", metavar="WORKSPACE_COMMAND")
    create = ws_sub.add_parser("create", help="create a workspace; prints its id")
    create.add_argument("name", help="its name, e.g. 'Acme sales'")
    create.set_defaults(handler=_cmd_workspace_create)
    ws_sub.add_parser("list", help="list workspaces").set_defaults(handler=_cmd_workspace_list)
    workspace.set_defaults(handler=None, subparser=workspace)

    user = sub.add_parser("user", help="seats (users) of a workspace")
    user_sub = user.add_subparsers(dest="user_command", metavar="USER_COMMAND")
    add = user_sub.add_parser("add", help="add a seat; prints its id")
    add.add_argument("email")
    add.add_argument(
        "--workspace", required=True, help="workspace id (from `workspace create` or `workspace list`)"
    )
    add.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.MEMBER.value, help="default: member"
    )
    add.add_argument("--name", help="display name")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a sign-in password (10+ characters) from standard input",
    )
    add.add_argument("--subject", help="the external identity provider's subject for this person (auth=jwt)")
    add.set_defaults(handler=_cmd_user_add)
    remove = user_sub.add_parser("remove", help="remove a seat (its tokens stop working)")
    remove.add_argument("email")
    remove.add_argument("--workspace", required=True, help="workspace id")
    remove.set_defaults(handler=_cmd_user_remove)
    listing = user_sub.add_parser("list", help="list the seats of a workspace")
    listing.add_argument("--workspace", required=True, help="workspace id")
    listing.set_defaults(handler=_cmd_user_list)
    password = user_sub.add_parser("password", help="set a seat's password, read from standard input")
    password.add_argument("email")
    password.add_argument("--workspace", required=True, help="workspace id")
    password.set_defaults(handler=_cmd_user_password)
    user.set_defaults(handler=None, subparser=user)

    token = sub.add_parser("token", help="personal access tokens for scripts and local agents over HTTP")
    token_sub = token.add_subparsers(dest="token_command", metavar="TOKEN_COMMAND")
    make = token_sub.add_parser("create", help="print a new token once, alone on stdout (details on stderr)")
    make.add_argument("--user", required=True, help="the seat's email")
    make.add_argument("--workspace", help="workspace id, when the email has seats in several")
    make.add_argument(
        "--scope",
        action="append",
        choices=list(ALL_SCOPES),
        help="repeatable; default: leads:read and leads:write",
    )
    make.add_argument("--name", help="what the token is for, e.g. 'nightly export'")
    make.add_argument("--expires-days", type=int, help="expire after this many days (default: never)")
    make.set_defaults(handler=_cmd_token_create)
    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(handler=_cmd_token_revoke)
    tlist = token_sub.add_parser("list", help="list personal access tokens (never the tokens themselves)")
    tlist.add_argument("--user", help="only this seat's (email)")
    tlist.add_argument("--workspace", help="workspace id, when the email has seats in several")
    tlist.set_defaults(handler=_cmd_token_list)
    token.set_defaults(handler=None, subparser=token)


def _cmd_card_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from lead_mcp.web.export import export_card

    result = export_card(settings, Path(args.directory), url=args.url, workspace_id=args.workspace)
    for path in result.files:
        print(path)
    print(
        f"static copy of the card written to {result.directory} (upload the folder to any static host; "
        f"its QR code opens {result.url})",
        file=sys.stderr,
    )
    return 0


def _cmd_db_backup(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from lead_mcp.db import backup

    if not settings.is_sqlite:
        print(f"lead-mcp: {backup.pg_dump_advice(settings.database_url)}", file=sys.stderr)
        return 2
    info = backup.backup(settings.database_url, Path(args.file))
    print(
        f"backed up {backup.sqlite_path(settings.database_url)} to {info.path} "
        f"(schema {info.revision}, {info.contacts} contacts, {info.bytes / 1e6:.1f} MB)"
    )
    return 0


def _cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.cli_exchange import run_import
    from lead_mcp.runtime import tune_gc

    tune_gc()  # as the servers do: a large import allocates millions of short-lived objects
    return asyncio.run(run_import(args, settings))


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from lead_mcp.cli_exchange import run_export

    return asyncio.run(run_export(args, settings))


def _cmd_db_restore(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from lead_mcp.db import backup, migrate

    if not settings.is_sqlite:
        print(f"lead-mcp: {backup.pg_dump_advice(settings.database_url)}", file=sys.stderr)
        return 2
    info, kept = backup.restore(settings.database_url, Path(args.file), force=args.force)
    asyncio.run(migrate.upgrade(settings.database_url))
    current = asyncio.run(migrate.current_revision(settings.database_url))
    print(
        f"restored {info.path} ({info.contacts} contacts, schema {info.revision}) into "
        f"{backup.sqlite_path(settings.database_url)}, now at schema {current}"
        + (f"; the previous store is kept as {kept}" if kept else "")
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the commands)."""
    parser = argparse.ArgumentParser(
        prog="lead-mcp",
        description="lead-mcp: a lead-capture CRM for AI assistants, over the Model Context Protocol. "
        "Settings come from LEAD_MCP_* environment variables (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"lead-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    stdio = sub.add_parser("stdio", help="serve MCP over stdio (Claude Desktop, local agents)")
    stdio.set_defaults(handler=_cmd_stdio)

    serve = sub.add_parser("serve", help="serve MCP over streamable HTTP at /mcp, plus the public card pages")
    serve.add_argument("--host", help="address to bind (default LEAD_MCP_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default LEAD_MCP_PORT or 8765)")
    serve.set_defaults(handler=_cmd_serve)

    db = sub.add_parser("db", help="look after the store")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    upgrade = db_sub.add_parser(
        "upgrade", help="migrate the store to the newest schema (the server does this at start)"
    )
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    upgrade.set_defaults(handler=_cmd_db_upgrade)
    current = db_sub.add_parser("current", help="show the store's schema revision")
    current.set_defaults(handler=_cmd_db_current)
    backup = db_sub.add_parser(
        "backup",
        help="copy the SQLite store to FILE, consistent even while servers write "
        "(PostgreSQL: pg_dump advice)",
    )
    backup.add_argument("file", help="where to write the backup (a single SQLite file)")
    backup.set_defaults(handler=_cmd_db_backup)
    restore = db_sub.add_parser(
        "restore",
        help="replace the SQLite store with a backup FILE (checked first; the old store is kept beside it)",
    )
    restore.add_argument("file", help="a file made by `lead-mcp db backup`")
    restore.add_argument(
        "--force", action="store_true", help="restore even while a lead-mcp server has the store open"
    )
    restore.set_defaults(handler=_cmd_db_restore)
    db.set_defaults(handler=None, subparser=db)

    card = sub.add_parser("card", help="your own business card page")
    card_sub = card.add_subparsers(dest="card_command", metavar="CARD_COMMAND")
    export = card_sub.add_parser(
        "export", help="write a static copy of the card (page, vCard, QR codes) for any static host"
    )
    export.add_argument("directory", metavar="DIR", help="folder to write into (created if missing)")
    export.add_argument(
        "--url",
        help="where the copy will be served, e.g. https://ana.example.com/ (default: the live URL; "
        "required when LEAD_MCP_PUBLIC_BASE_URL is a loopback address)",
    )
    export.add_argument("--workspace", help="workspace id (default: the local workspace)")
    export.set_defaults(handler=_cmd_card_export)
    card.set_defaults(handler=None, subparser=card)
    _add_access_commands(sub)
    imp = sub.add_parser(
        "import", help="import contacts from a vCard or CSV file (LinkedIn, Google Contacts ...)"
    )
    imp.add_argument("file", metavar="FILE", help="the .vcf or .csv file")
    imp.add_argument(
        "--format",
        choices=["auto", "vcard", "csv", "linkedin", "google"],
        default="auto",
        help="how to read the file (default: tell from its content)",
    )
    imp.add_argument(
        "--follow-up", action="store_true", help="schedule a first follow-up for each new contact"
    )
    imp.add_argument("--dry-run", action="store_true", help="report what would happen, save nothing")
    imp.add_argument("--workspace", help="workspace id (default: the local workspace)")
    imp.set_defaults(handler=_cmd_import)

    exp = sub.add_parser("export", help="export contacts as vCard or CSV")
    exp.add_argument("--format", choices=["vcf", "csv"], required=True, help="vcf (vCard) or csv")
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    exp.add_argument("--query", help="only contacts matching these words (as search_contacts)")
    exp.add_argument(
        "--vcard-version", choices=["3.0", "4.0"], default="3.0", help="vCard version (default 3.0)"
    )
    exp.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 BOM (for Excel)")
    exp.add_argument("--workspace", help="workspace id (default: the local workspace)")
    exp.set_defaults(handler=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lead-mcp`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        (getattr(args, "subparser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ValidationError as exc:
        print(f"lead-mcp: {describe_settings_error(exc)}", file=sys.stderr)
        return 2
    _setup_logging(settings.log_level)
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from lead_mcp.errors import LeadError

        if isinstance(exc, LeadError):
            print(f"lead-mcp: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
