"""The phone scan page: ``/scan/{token}`` shows a camera upload form; each photo becomes a saved lead.

No JavaScript: a plain multipart form with ``<input type=file accept=image/* capture=environment
multiple>``. The token in the path is the only credential (unguessable, short-lived, bound to
one workspace, stored hashed); the form also carries a token-derived field and cross-site posts
are refused by ``Sec-Fetch-Site``/``Origin``, so another site cannot submit photos on the user's
behalf. Uploads are capped in bytes and files before they are parsed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import logging
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from lead_mcp.config import Settings
from lead_mcp.domain import CardScan
from lead_mcp.errors import InvalidInput, LeadError, NotFound
from lead_mcp.mcp.server import StateRef
from lead_mcp.services import scanning
from lead_mcp.services.scope import Scope

log = logging.getLogger(__name__)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}
STYLE = """body{font-family:system-ui,sans-serif;max-width:34rem;margin:0 auto;padding:1rem;line-height:1.4}
h1{font-size:1.3rem}label.button{display:block;padding:1.2rem;margin:1rem 0;background:#1d4ed8;color:#fff;
text-align:center;border-radius:.6rem;font-size:1.1rem}input[type=file]{font-size:1rem;width:100%}
button{font-size:1.1rem;padding:.8rem 1.2rem;border-radius:.5rem;border:0;background:#16a34a;
color:#fff;width:100%}.card{border:1px solid #ddd;border-radius:.5rem;padding:.7rem;margin:.6rem 0}
.muted{color:#666;font-size:.9rem}
.err{color:#b91c1c}"""


def _form_token(token: str) -> str:
    return hmac.new(token.encode(), b"lead-mcp scan form", hashlib.sha256).hexdigest()[:32]


def _page(body: str, status: int = 200) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>Scan cards · lead-mcp</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS)


def _form(token: str) -> str:
    action = html.escape(f"/scan/{token}", quote=True)
    return (
        f"<form method=post action='{action}' enctype=multipart/form-data>"
        f"<input type=hidden name=form value='{_form_token(token)}'>"
        "<label class=button for=photos>Take or choose card photos</label>"
        "<input id=photos type=file name=photos accept='image/*' capture=environment multiple required>"
        "<p><button type=submit>Scan and save</button></p></form>"
        "<p class=muted>Each photo is read on your own lead-mcp server and saved as a lead "
        "with a follow-up due today.</p>"
    )


def _result_html(name: str, card: CardScan) -> str:
    f = card.fields
    rows = [
        ("Name", f.full_name),
        ("Title", f.title),
        ("Company", f.company),
        ("Email", ", ".join(f.emails)),
        ("Phone", ", ".join(f.phones)),
        ("Web", f.website),
        ("Address", f.address),
    ]
    items = "".join(f"<div><b>{k}:</b> {html.escape(v)}</div>" for k, v in rows if v)
    if card.already_scanned:
        status = "already scanned before"
    elif card.contact is None:
        status = html.escape(card.note or "not saved")
    else:
        status = "new lead saved" if card.created else "merged into an existing contact"
    return f"<div class=card><div class=muted>{html.escape(name)}: {status}</div>{items}</div>"


def _cross_site(request: Request, settings: Settings) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        return True
    origin = request.headers.get("origin")
    if origin and origin != "null":
        allowed = {urlsplit(settings.public_base_url).netloc, request.headers.get("host", "")}
        return urlsplit(origin).netloc not in allowed
    return False


def routes(ref: StateRef, settings: Settings) -> list[BaseRoute]:
    """GET and POST /scan/{token}."""
    max_files = settings.scan_upload_max_files
    max_body = settings.scan_max_bytes * max_files + 64_000

    async def _link(token: str) -> scanning.OpenLink:
        state = ref.value
        assert state is not None
        # A public route: the token, not a session, says which workspace this is.
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            return await scanning.open_scan_link(session, state.clock.now(), token)

    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            await _link(token)
        except NotFound as exc:
            return _page(f"<h1>Link not valid</h1><p class=err>{html.escape(str(exc))}</p>", 404)
        return _page("<h1>Scan business cards</h1>" + _form(token))

    async def upload(request: Request) -> Response:
        token = request.path_params["token"]
        state = ref.value
        assert state is not None
        try:
            link = await _link(token)
        except NotFound as exc:
            return _page(f"<h1>Link not valid</h1><p class=err>{html.escape(str(exc))}</p>", 404)
        if _cross_site(request, settings):
            return _page("<h1>Refused</h1><p class=err>Uploads must come from this page.</p>", 403)
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit() or int(declared) > max_body:
            return _page(
                f"<h1>Too large</h1><p class=err>Send at most {max_files} photos of up to "
                f"{settings.scan_max_bytes // 1_000_000} MB each.</p>" + _form(token),
                413,
            )
        try:
            form = await request.form(max_files=max_files, max_fields=5)
        except Exception:
            return _page(
                "<h1>Upload refused</h1><p class=err>The upload could not be read.</p>" + _form(token), 400
            )
        try:
            if not hmac.compare_digest(str(form.get("form", "")), _form_token(token)):
                return _page(
                    "<h1>Refused</h1><p class=err>This form did not come from the scan page.</p>", 403
                )
            photos = [p for p in form.getlist("photos") if isinstance(p, UploadFile)]
            if not photos:
                return _page(
                    "<h1>No photo</h1><p class=err>Choose at least one photo.</p>" + _form(token), 400
                )
            scope = Scope(
                workspace_id=link.workspace_id,
                settings=state.settings,
                clock=state.clock,
                user_id=link.user_id,
            )
            reader = scanning.shared_reader(state.extras, state.settings)
            transactions = functools.partial(state.db.transaction, workspace_id=link.workspace_id)
            results: list[str] = []
            for photo in photos:
                name = (photo.filename or "photo")[:200]
                data = await photo.read(settings.scan_max_bytes + 1)
                try:
                    if len(data) > settings.scan_max_bytes:
                        raise InvalidInput("photo", f"is larger than {settings.scan_max_bytes:,} bytes")
                    card = await scanning.scan_upload(
                        transactions,
                        scope,
                        reader=reader,
                        data=data,
                        name=name,
                        tags=link.tags,
                        met_at=link.met_at,
                    )
                    results.append(_result_html(name, card))
                except LeadError as exc:
                    text = str(exc).removeprefix("photo: ")
                    results.append(
                        f"<div class=card><div class=err>{html.escape(name)}: {html.escape(text)}</div></div>"
                    )
            async with state.db.transaction(workspace_id=link.workspace_id) as session:
                await scanning.count_upload(session, link.id, len(photos))
        finally:
            await form.close()
        return _page("<h1>Scanned</h1>" + "".join(results) + "<h1>Next cards</h1>" + _form(token))

    return [
        Route("/scan/{token}", show, methods=["GET", "HEAD"]),
        Route("/scan/{token}", upload, methods=["POST"]),
    ]


__all__ = ["routes"]
