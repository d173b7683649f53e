"""Asking the user to confirm: through elicitation where the client and transport allow it.

The SDK asks a resolver's question in the way the connection supports: on a
2026-07-28 connection it returns the question in an ``InputRequiredResult`` and
the client retries with the answer (works over stateless HTTP too); on an older
connection it sends ``elicitation/create`` mid-call, which needs a back channel
(stdio, a stateful HTTP session; not stateless HTTP). A client that registered
no elicitation handler cannot be asked at all. Where nobody can be asked, a
destructive tool falls back to an explicit ``confirm: true`` argument.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

# The first revision that carries questions inside the tool result instead of a server-to-client request.
INPUT_REQUIRED_VERSION = "2026-07-28"


class Approval(BaseModel):
    """The form the user answers: a single yes/no."""

    approve: bool = Field(description="Yes, go ahead.")


def can_elicit(ctx: Context[Any, Any]) -> bool:
    """True when this client can be asked a form question on this connection."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` (from before modes existed) means form support; url-only does not.
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return True
    return bool(ctx.session.can_send_request)
