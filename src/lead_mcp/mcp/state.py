"""What a running server holds for its lifetime: settings, the store, the clock."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from lead_mcp.clock import Clock, SystemClock
from lead_mcp.config import Settings
from lead_mcp.db import migrate
from lead_mcp.db.backup import running_lock
from lead_mcp.db.engine import Database
from lead_mcp.services.server_secrets import REQUEST_STATE_SECRET, get_or_create_secret
from lead_mcp.services.workspaces import ensure_local_workspace

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """Lifespan state shared by every request of one process."""

    settings: Settings
    db: Database
    clock: Clock
    local_workspace_id: str
    extras: dict[str, Any] = field(default_factory=dict)
    # True in `lead-mcp serve` with auth: a tool call without a verified seat is refused, never local.
    require_token: bool = False
    # Shared by every replica (kept in the database): seals multi-round-trip request state.
    request_state_key: str = ""
    closers: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @classmethod
    async def open(
        cls, settings: Settings, *, clock: Clock | None = None, migrate_db: bool = True
    ) -> AppState:
        """Migrate the store to head (unless told not to), connect, and find the local workspace."""
        closers = contextlib.ExitStack()
        # While this process runs, `lead-mcp db restore` sees the store in use (see db/backup.py).
        closers.enter_context(running_lock(settings.database_url))
        try:
            if migrate_db:
                await migrate.upgrade(settings.database_url)
        except BaseException:
            closers.close()
            raise
        db = Database(
            settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        the_clock = clock or SystemClock()
        try:
            async with db.transaction(all_workspaces=True) as session:
                workspace_id = await ensure_local_workspace(session, the_clock)
                state_key = await get_or_create_secret(session, the_clock, REQUEST_STATE_SECRET)
        except BaseException:
            await db.dispose()
            closers.close()
            raise
        log.info("store ready: %s", _redacted(settings.database_url))
        return cls(
            settings=settings,
            db=db,
            clock=the_clock,
            local_workspace_id=workspace_id,
            request_state_key=state_key,
            closers=closers,
        )

    async def close(self) -> None:
        """Release the store's connections, whatever extras hold (the OCR pool) and the running lock."""
        try:
            for extra in list(self.extras.values()):
                closer = getattr(extra, "close", None)
                if callable(closer):
                    closer()
            await self.db.dispose()
        finally:
            self.closers.close()


def _redacted(url: str) -> str:
    """A database URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
