"""Who is calling and what they may do: the caller's workspace and scopes, and the scope each tool needs.

One rule covers every tool, including tools added later: a tool annotated
``readOnlyHint`` needs ``leads:read``; any other tool needs ``leads:write``. The
HTTP gate (web/auth.py) answers 403 ``insufficient_scope`` before a request
reaches the server, and :func:`check_tool_scope` refuses again inside it.

Over HTTP with auth the verified token names the seat and its workspace; over
stdio (and loopback HTTP without auth) the caller is the local workspace's owner
with every scope. The token verifier puts the seat in ``AccessToken.claims``.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp_types import ToolAnnotations

from lead_mcp.clock import Clock
from lead_mcp.config import Settings
from lead_mcp.domain import ALL_SCOPES, SCOPE_READ, SCOPE_WRITE, Principal
from lead_mcp.errors import PermissionDenied
from lead_mcp.services.scope import Scope

PRINCIPAL_CLAIM = "lead_mcp"


def required_scope(annotations: ToolAnnotations | None) -> str:
    """The scope a tool needs: read for tools marked read-only, write for everything else."""
    return SCOPE_READ if annotations is not None and annotations.read_only_hint else SCOPE_WRITE


def access_token_for(principal: Principal, *, token: str, issuer: str) -> AccessToken:
    """The SDK's AccessToken for a verified principal; the seat travels in its claims."""
    return AccessToken(
        token=token,
        client_id=principal.client_id or principal.kind,
        scopes=list(principal.scopes),
        expires_at=int(principal.expires_at.timestamp()) if principal.expires_at else None,
        resource=principal.resource,
        subject=principal.user_id,
        claims={"iss": issuer, PRINCIPAL_CLAIM: principal.model_dump(mode="json")},
    )


def current_principal() -> Principal | None:
    """The seat behind this request's bearer token (None over stdio and unauthenticated HTTP)."""
    token = get_access_token()
    if token is None:
        return None
    data: Any = (token.claims or {}).get(PRINCIPAL_CLAIM)
    if not isinstance(data, dict):
        # A token verified by something other than our verifiers carries no seat: it grants nothing.
        raise PermissionDenied("This token is not tied to a lead-mcp seat; sign in again")
    return Principal.model_validate(data)


def scope_for(*, settings: Settings, clock: Clock, local_workspace_id: str, require_token: bool) -> Scope:
    """The caller's scope: the token's seat and workspace, or the local workspace's owner."""
    principal = current_principal()
    if principal is not None:
        return Scope(
            workspace_id=principal.workspace_id,
            settings=settings,
            clock=clock,
            user_id=principal.user_id,
            scopes=frozenset(principal.scopes),
            role=principal.role,
        )
    if require_token:
        raise PermissionDenied(
            "This server needs a signed-in user; connect with OAuth or a personal access token"
        )
    return Scope(
        workspace_id=local_workspace_id, settings=settings, clock=clock, scopes=frozenset(ALL_SCOPES)
    )


def check_tool_scope(tool: str, annotations: ToolAnnotations | None) -> None:
    """Refuse a tool call the bearer token's scopes do not cover."""
    token = get_access_token()
    if token is None:
        return
    needed = required_scope(annotations)
    if needed not in token.scopes:
        raise PermissionDenied(
            f"{tool} needs the {needed} scope, but this connection was granted "
            f"{' '.join(token.scopes) or 'no scopes'}. Ask the user to reconnect and allow changes, "
            "or use a read tool instead"
        )
