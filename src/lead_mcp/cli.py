"""The ``lead-mcp`` command: run the server (stdio or HTTP) and look after the store."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from lead_mcp import __version__
from lead_mcp.config import Settings, describe_settings_error, load_settings

log = logging.getLogger("lead_mcp")

Handler = Callable[[argparse.Namespace, Settings], int]


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
    command = shutil.which("lead-mcp") or sys.argv[0]
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
