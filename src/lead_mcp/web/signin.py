"""The sign-in and consent page of the built-in authorization server (``/oauth/signin``).

Server-rendered, no script. The form carries an anti-forgery token that must
match both a cookie set with the page (SameSite=Strict) and the digest stored
on the pending authorization, so another site cannot submit it and any replica
can check it. Failed sign-ins are rate-limited per address and per email in the
database. A page can never be framed (clickjacking).
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from mcp.server.transport_security import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, request_response

from lead_mcp.config import Settings
from lead_mcp.domain import SCOPE_WRITE
from lead_mcp.mcp.server import StateRef
from lead_mcp.services import accounts, ratelimit, tokens
from lead_mcp.services import oauth as oauth_store

log = logging.getLogger(__name__)

CSRF_COOKIE = "lead_mcp_signin"
WINDOW_SECONDS = 15 * 60
MAX_TRIES_PER_ADDRESS = 30
MAX_FAILURES_PER_EMAIL = 10
MAX_FORM_BYTES = 16 * 1024

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to lead-mcp</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f5f5f4;margin:0;padding:2rem 1rem;color:#1c1917}}
main{{max-width:26rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.5rem 1.75rem;
box-shadow:0 1px 3px rgba(0,0,0,.12)}}
h1{{font-size:1.3rem;margin:0 0 .5rem}} p{{line-height:1.45}} label{{display:block;margin:.8rem 0 .25rem}}
input[type=email],input[type=password],select{{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;
border:1px solid #a8a29e;border-radius:6px}}
.scopes{{background:#fafaf9;border:1px solid #e7e5e4;border-radius:8px;padding:.5rem .9rem;margin:1rem 0}}
.scopes label{{display:flex;gap:.5rem;align-items:flex-start;margin:.4rem 0}}
.error{{background:#fef2f2;color:#991b1b;border-radius:6px;padding:.6rem .8rem}}
.buttons{{display:flex;gap:.75rem;margin-top:1.25rem}}
button{{flex:1;padding:.65rem;font-size:1rem;border-radius:6px;border:1px solid #57534e;
background:#fff;cursor:pointer}}
button.allow{{background:#1c1917;color:#fff}}
small{{color:#57534e}}
</style></head><body><main>
<h1>Sign in to lead-mcp</h1>
<p><strong>{client}</strong> wants to use your lead-mcp CRM. After you allow it, you go back to
<strong>{destination}</strong>.</p>
{error}
<form method="post" action="{action}">
<input type="hidden" name="request" value="{request_id}">
<input type="hidden" name="csrf" value="{csrf}">
<label for="email">Email</label>
<input id="email" type="email" name="email" value="{email}" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" type="password" name="password" autocomplete="current-password" required>
{workspace}
<div class="scopes">
<label><input type="checkbox" checked disabled> Read your contacts, follow-ups and reports</label>
{write_scope}
</div>
<div class="buttons">
<button class="allow" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>
</form>
<p><small>Only allow apps you trust. You can revoke access any time by removing the connection
in your app.</small></p>
</main></body></html>
"""

MESSAGE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lead-mcp</title></head>
<body style="font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem">
<h1 style="font-size:1.3rem">{title}</h1><p>{text}</p></body></html>
"""


def _headers(form_targets: str = "") -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
        f"form-action 'self'{form_targets}",
    }


def message(title: str, text: str, status: int) -> HTMLResponse:
    """A plain page that explains what happened and what to do."""
    return HTMLResponse(
        MESSAGE_PAGE.format(title=html.escape(title), text=html.escape(text)),
        status_code=status,
        headers=_headers(),
    )


def _redirect_source(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"}:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def _destination(uri: str) -> str:
    parts = urlsplit(uri)
    return parts.netloc or f"{parts.scheme}: app"


def redirect_with(target: str, **params: str | None) -> RedirectResponse:
    """A 303 back to the client's redirect URI with the given query parameters."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    joiner = "&" if urlsplit(target).query else "?"
    return RedirectResponse(
        f"{target}{joiner}{query}", status_code=303, headers={"Cache-Control": "no-store"}
    )


def routes(ref: StateRef, settings: Settings) -> list[BaseRoute]:
    """``GET`` shows the page, ``POST`` signs in and answers the client with a code (or a refusal)."""
    issuer = settings.public_base_url
    secure_cookie = settings.public_base_url.startswith("https://")
    action = f"{issuer}/oauth/signin"

    def render(
        pending: oauth_store.PendingAuthorization,
        csrf: str,
        *,
        error: str = "",
        email: str = "",
        workspaces: list[tuple[str, str]] | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        params = pending.params
        client = params.get("client_name") or pending.client_id
        if pending.client_id.startswith(("https://", "http://")):
            client = (
                f"{client} ({urlsplit(pending.client_id).netloc})"
                if params.get("client_name")
                else pending.client_id
            )
        workspace_html = ""
        if workspaces:
            options = "".join(
                f'<option value="{html.escape(wid)}">{html.escape(name)}</option>' for wid, name in workspaces
            )
            workspace_html = (
                '<label for="workspace">Workspace</label>'
                f'<select id="workspace" name="workspace">{options}</select>'
            )
        write_html = ""
        if SCOPE_WRITE in params.get("scopes", []):
            write_html = (
                '<label><input type="checkbox" name="allow_write" value="1" checked> '
                "Add and change contacts, log touches and schedule follow-ups</label>"
            )
        page = PAGE.format(
            client=html.escape(str(client)),
            destination=html.escape(_destination(params["redirect_uri"])),
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            action=html.escape(action),
            request_id=html.escape(pending.id),
            csrf=html.escape(csrf),
            email=html.escape(email),
            workspace=workspace_html,
            write_scope=write_html,
        )
        response = HTMLResponse(
            page, status_code=status, headers=_headers(f" {_redirect_source(params['redirect_uri'])}")
        )
        response.set_cookie(
            CSRF_COOKIE,
            csrf,
            max_age=15 * 60,
            httponly=True,
            samesite="strict",
            secure=secure_cookie,
            path="/",
        )
        return response

    async def fresh_form(pending: oauth_store.PendingAuthorization, **kwargs: Any) -> HTMLResponse:
        state = ref.value
        assert state is not None
        csrf = tokens.new_secret()
        async with state.db.transaction(all_workspaces=True) as session:
            await oauth_store.set_csrf(session, request_id=pending.id, csrf_hash=tokens.digest(csrf))
        return render(pending, csrf, **kwargs)

    async def load(request_id: str) -> oauth_store.PendingAuthorization | None:
        state = ref.value
        assert state is not None
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            return await oauth_store.load_authorization(session, state.clock, request_id)

    expired = (
        "This sign-in link has expired or was already used",
        "Go back to your app and connect to lead-mcp again.",
    )

    async def show(request: Request) -> Response:
        pending = await load(request.query_params.get("request", ""))
        if pending is None:
            return message(*expired, status=400)
        return await fresh_form(pending)

    async def submit(request: Request) -> Response:
        state = ref.value
        assert state is not None
        form = await request.form()
        field = {k: v for k, v in form.items() if isinstance(v, str)}
        pending = await load(field.get("request", ""))
        if pending is None:
            return message(*expired, status=400)
        csrf = field.get("csrf", "")
        if (
            not csrf
            or csrf != request.cookies.get(CSRF_COOKIE)
            or not tokens.same_digest(csrf, pending.csrf_hash)
        ):
            return message("This form has expired", "Reload the sign-in page and try again.", status=403)
        params = pending.params
        target = params["redirect_uri"]
        if field.get("decision") != "allow":
            async with state.db.transaction(all_workspaces=True) as session:
                await oauth_store.end_authorization(session, request_id=pending.id)
            return redirect_with(
                target,
                error="access_denied",
                error_description="the user denied access",
                state=params.get("state"),
                iss=issuer,
            )

        email = field.get("email", "").strip()[:320]
        address = request.client.host if request.client else "unknown"
        email_key = f"signin:email:{email.lower()}"
        async with state.db.transaction(all_workspaces=True) as session:
            tries = await ratelimit.hit(
                session, state.clock, key=f"signin:ip:{address}", window_seconds=WINDOW_SECONDS
            )
            failures = await ratelimit.hits(
                session, state.clock, key=email_key, window_seconds=WINDOW_SECONDS
            )
        if tries > MAX_TRIES_PER_ADDRESS or failures >= MAX_FAILURES_PER_EMAIL:
            return await fresh_form(
                pending, email=email, error="Too many attempts. Wait 15 minutes, then try again.", status=429
            )

        async with state.db.transaction(all_workspaces=True, write=False) as session:
            seats = await accounts.authenticate(session, email=email, password=field.get("password", ""))
        if not seats:
            async with state.db.transaction(all_workspaces=True) as session:
                await ratelimit.hit(session, state.clock, key=email_key, window_seconds=WINDOW_SECONDS)
            return await fresh_form(
                pending, email=email, error="That email and password do not match.", status=401
            )
        chosen = field.get("workspace")
        if chosen:
            seats = [s for s in seats if s.workspace_id == chosen]
        if len(seats) != 1:
            async with state.db.transaction(all_workspaces=True, write=False) as session:
                named = [
                    (s.workspace_id, (await accounts.get_workspace(session, s.workspace_id)).name)
                    for s in seats
                ]
            return await fresh_form(
                pending,
                email=email,
                workspaces=named,
                error="You have seats in several workspaces: choose one and enter your password again.",
            )
        user = seats[0]
        scopes = [s for s in params["scopes"] if s != SCOPE_WRITE or field.get("allow_write") == "1"]
        async with state.db.transaction(all_workspaces=True) as session:
            if not await oauth_store.end_authorization(session, request_id=pending.id):
                return message(*expired, status=400)
            code = await oauth_store.issue_code(
                session, state.clock, pending=pending, user=user, scopes=scopes
            )
        log.info("seat %s signed in for client %s with %s", user.id, pending.client_id, " ".join(scopes))
        return redirect_with(target, code=code, state=params.get("state"), iss=issuer)

    return [
        Route("/oauth/signin", show, methods=["GET"]),
        Route(
            "/oauth/signin",
            RequestBodyLimitMiddleware(request_response(submit), MAX_FORM_BYTES),
            methods=["POST"],
        ),
    ]
