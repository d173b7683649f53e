"""The private calendar feed route: ``GET /calendar/{token}.ics`` (see services/calendar.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from lead_mcp.config import Settings
from lead_mcp.mcp.server import StateRef
from lead_mcp.services import calendar
from lead_mcp.services.scope import Scope

CONTENT_TYPE = "text/calendar; charset=utf-8"


def routes(ref: StateRef, settings: Settings) -> list[BaseRoute]:
    """The feed route, reading the shared store."""

    async def feed(request: Request) -> Response:
        state = ref.value
        if state is None:
            return PlainTextResponse("starting", status_code=503)
        token = str(request.path_params["token"])
        # The token alone says whose feed this is, so it is looked up without a workspace filter.
        async with state.db.transaction(all_workspaces=True, write=True) as session:
            owner = await calendar.open_feed(session, token, state.clock.now())
        if owner is None:
            return PlainTextResponse("No such calendar feed.", status_code=404)
        workspace_id, user_id = owner
        scope = Scope(workspace_id=workspace_id, settings=state.settings, clock=state.clock, user_id=user_id)
        async with state.db.transaction(workspace_id=workspace_id, write=False) as session:
            text = await calendar.feed_ics(session, scope)
        headers = {
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="lead-mcp-followups.ics"',
            "X-Robots-Tag": "noindex",
            "Referrer-Policy": "no-referrer",
        }
        # For HEAD the server sends these headers without the body.
        return Response(text, media_type=CONTENT_TYPE, headers=headers)

    return [Route("/calendar/{token}.ics", feed, methods=["GET", "HEAD"])]
