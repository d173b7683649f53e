"""Who is acting, in which workspace, at what time: passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from lead_mcp.clock import Clock, SystemClock, local_date
from lead_mcp.config import Settings
from lead_mcp.domain import Role


@dataclass(frozen=True)
class Scope:
    """The caller of a service: workspace, user, settings and clock."""

    workspace_id: str
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    user_id: str | None = None
    scopes: frozenset[str] = frozenset({"leads:read", "leads:write"})
    # The seat's role; the local user (stdio, loopback without auth, the CLI) owns its workspace.
    role: Role = Role.OWNER
    # The server's secret that signs pagination cursors (the one replicas share); empty outside a
    # server (CLI, tests calling services), where cursors are still bound to the workspace.
    secret: str = field(default="", repr=False)

    def now(self) -> datetime:
        """The current instant (UTC)."""
        return self.clock.now()

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return self.settings.zone

    def today(self) -> date:
        """Today's date in the configured time zone."""
        return local_date(self.now(), self.zone)
