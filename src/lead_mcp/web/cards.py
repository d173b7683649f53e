"""Public card routes: the page, its vCard, QR codes, NFC record, photo, and the lead form.

    GET  /c/{slug}            the card page (counts a view; ?src=qr / ?src=nfc count scans and taps)
    GET  /c/{slug}.vcf        vCard 3.0 download ("Save contact")
    GET  /c/{slug}/qr.svg     QR code (SVG), encoding /c/{slug}?src=qr
    GET  /c/{slug}/qr.png     QR code (PNG)
    GET  /c/{slug}/nfc.ndef   NDEF message with one URI record (/c/{slug}?src=nfc) for NFC tags
    GET  /c/{slug}/photo      the card's photo
    GET  /c/{slug}/og.png     link-preview picture (initials on the theme) for a card without a photo
    POST /c/{slug}/lead       the lead form -> 303 to /c/{slug}/thanks
    GET  /c/{slug}/thanks     thank-you page

Unknown or malformed slugs answer 404, unpublished cards 410, former slugs
redirect (301) to the current one, other methods 405; every answer, redirects
included, carries the security headers. The form is guarded, in this order: a
request-size limit checked before the body is read (and while it is read), an
Origin / Sec-Fetch-Site check against cross-site posts, a per-address rate
limit counted in the database, a honeypot field, and a signed token that
enforces a minimum fill time and is good for one send (its nonce is claimed
in the database, so a replay is refused on every replica).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from lead_mcp.config import Settings
from lead_mcp.errors import Conflict, InvalidInput
from lead_mcp.integrations import qr
from lead_mcp.mcp.server import StateRef
from lead_mcp.mcp.state import AppState
from lead_mcp.services import cards, normalize, ratelimit
from lead_mcp.services.cards import CardEvent, LeadForm, Lookup, PublicCard
from lead_mcp.services.scope import Scope
from lead_mcp.services.server_secrets import get_or_create_secret
from lead_mcp.web import form_token, og_image
from lead_mcp.web.card_page import FormView, initials, render_card, render_notice, security_headers
from lead_mcp.web.form_token import TokenCheck

log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]

FORM_SECRET_NAME = "card_form"  # noqa: S105 - the name under which the secret is stored
# The honeypot's name: one no browser autofill or password manager fills (they do fill "website").
HONEYPOT = "leave_blank"
FORM_FIELDS = frozenset({"token", HONEYPOT, "name", "email", "phone", "message", "consent"})
CLAIM_PREFIX = "card-token"  # rate_limits keys of claimed form-token nonces
FILE_CACHE = "public, max-age=300"
ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
DRAIN_LIMIT = 8 * 1024 * 1024  # bytes of a refused post read and discarded before answering


class CardSite:
    """The card routes of one app; holds the form secret once it has been read from the store."""

    def __init__(self, ref: StateRef, settings: Settings) -> None:
        self.ref = ref
        self.settings = settings
        self._secret: str | None = settings.form_secret.get_secret_value() if settings.form_secret else None

    # ------------------------------------------------------------ plumbing

    def _state(self) -> AppState:
        state = self.ref.value
        if state is None:
            raise RuntimeError("the app has not started")
        return state

    async def _form_secret(self, state: AppState) -> str:
        if self._secret is None:
            async with state.db.transaction(all_workspaces=True, write=True) as session:
                self._secret = await get_or_create_secret(session, state.clock, FORM_SECRET_NAME)
        return self._secret

    def _scope(self, state: AppState, card: PublicCard) -> Scope:
        return Scope(
            workspace_id=card.workspace_id, settings=self.settings, clock=state.clock, user_id=card.user_id
        )

    async def _lookup(self, slug: str, *, with_photo: bool = False) -> tuple[Lookup, PublicCard | None]:
        state = self._state()
        async with state.db.transaction(all_workspaces=True, write=False) as session:
            return await cards.find_public_card(session, slug, with_photo=with_photo)

    async def _count(self, card: PublicCard, *events: CardEvent) -> None:
        state = self._state()
        scope = self._scope(state, card)
        try:
            async with state.db.transaction(workspace_id=card.workspace_id, write=True) as session:
                await cards.count(session, scope, card.id, *events)
        except OperationalError:  # a busy store must not cost the visitor the page
            log.warning("card analytics: store busy, %s not counted", ",".join(events))

    @staticmethod
    def _html(body: str, status: int = 200, *, cache: str = "no-store") -> HTMLResponse:
        response = HTMLResponse(body, status_code=status, headers=security_headers(html=True))
        response.headers["Cache-Control"] = cache
        return response

    @staticmethod
    def _redirect(target: str, status: int) -> RedirectResponse:
        return RedirectResponse(target, status_code=status, headers=security_headers(html=False))

    @staticmethod
    def _file(body: bytes | str, media_type: str, *, filename: str | None = None) -> Response:
        response = Response(body, media_type=media_type, headers=security_headers(html=False))
        response.headers["Cache-Control"] = FILE_CACHE
        if filename:
            response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def _notice(self, **kwargs: Any) -> str:
        """A notice page (see ``render_notice``) with this server's footer setting."""
        return render_notice(footer=self.settings.card_footer, **kwargs)

    def _not_found(self) -> HTMLResponse:
        return self._html(
            self._notice(
                heading="No card here",
                message="There is no card at this address. Check the link, or ask the person for a new one.",
                badge="search",
            ),
            404,
        )

    def _gone(self, card: PublicCard) -> HTMLResponse:
        first = _first_name(card)
        return self._html(
            self._notice(
                heading="This card is offline",
                message=f"{card.card.full_name} is not sharing this card any more.",
                theme=card.card.theme,
                badge="card-off",
                points=[
                    f"If you saved {first}'s contact before, it still works.",
                    f"Ask {first} for their new card or link.",
                ],
            ),
            410,
        )

    async def _resolve(
        self, request: Request, suffix: str = "", *, with_photo: bool = False
    ) -> tuple[PublicCard | None, Response | None]:
        """The published card a request names, or the response to send instead (404, 410, redirect)."""
        slug = request.path_params["slug"]
        status, card = await self._lookup(slug, with_photo=with_photo)
        if status is Lookup.MISSING or card is None:
            return None, self._not_found()
        if status is Lookup.GONE:
            return None, self._gone(card)
        if status is Lookup.MOVED and request.method in {"GET", "HEAD"}:
            target = f"/c/{card.card.slug}{suffix}"
            if request.url.query:
                target += f"?{request.url.query}"
            return None, self._redirect(target, 301)
        return card, None

    @staticmethod
    def _is_person(request: Request) -> bool:
        purpose = (request.headers.get("sec-purpose") or request.headers.get("purpose") or "").lower()
        return (
            request.method == "GET"
            and "prefetch" not in purpose
            and not cards.is_bot(request.headers.get("user-agent"))
        )

    def _page(self, card: PublicCard, form: FormView | None, status: int = 200) -> HTMLResponse:
        slug = card.card.slug
        base = cards.page_url(self.settings, slug)
        html = render_card(
            card.card,
            self.settings,
            vcf_href=f"/c/{slug}.vcf",
            photo_href=f"/c/{slug}/photo" if card.card.has_photo else None,
            og_image=f"{base}/photo" if card.card.has_photo else f"{base}/og.png",
            og_image_generated=not card.card.has_photo,
            qr_png_href=f"/c/{slug}/qr.png",
            form=form,
        )
        return self._html(html, status)

    async def _form_view(self, card: PublicCard, **kwargs: Any) -> FormView:
        state = self._state()
        secret = await self._form_secret(state)
        return FormView(
            action=f"/c/{card.card.slug}/lead",
            token=form_token.issue(secret, card.id, state.clock.now()),
            consent_text=cards.consent_text(self.settings, card.card.full_name),
            **kwargs,
        )

    # ------------------------------------------------------------ routes

    async def page(self, request: Request) -> Response:
        """The card page."""
        card, other = await self._resolve(request)
        if card is None:
            assert other is not None
            return other
        if self._is_person(request):
            events = [CardEvent.VIEW]
            source = request.query_params.get("src")
            if source == "qr":
                events.append(CardEvent.QR_SCAN)
            elif source == "nfc":
                events.append(CardEvent.NFC_TAP)
            await self._count(card, *events)
        return self._page(card, await self._form_view(card))

    async def vcard(self, request: Request) -> Response:
        """The card as a vCard 3.0 file."""
        card, other = await self._resolve(request, ".vcf", with_photo=True)
        if card is None:
            assert other is not None
            return other
        if self._is_person(request):
            await self._count(card, CardEvent.VCARD_DOWNLOAD)
        text = cards.card_vcard(card.card, self.settings, photo=card.photo, photo_type=card.photo_type)
        return self._file(text.encode("utf-8"), "text/vcard; charset=utf-8", filename=f"{card.card.slug}.vcf")

    async def qr_svg(self, request: Request) -> Response:
        """The QR code as SVG."""
        card, other = await self._resolve(request, "/qr.svg")
        if card is None:
            assert other is not None
            return other
        target = cards.page_url(self.settings, card.card.slug, "qr")
        return self._file(qr.svg(target, title=f"QR code: {card.card.full_name}"), "image/svg+xml")

    async def qr_png(self, request: Request) -> Response:
        """The QR code as PNG."""
        card, other = await self._resolve(request, "/qr.png")
        if card is None:
            assert other is not None
            return other
        return self._file(qr.png(cards.page_url(self.settings, card.card.slug, "qr")), "image/png")

    async def nfc(self, request: Request) -> Response:
        """An NDEF message (one URI record) to write onto an NFC tag."""
        card, other = await self._resolve(request, "/nfc.ndef")
        if card is None:
            assert other is not None
            return other
        message = qr.ndef_uri_message(cards.page_url(self.settings, card.card.slug, "nfc"))
        return self._file(message, "application/vnd.nfc.ndef", filename=f"{card.card.slug}.ndef")

    async def photo(self, request: Request) -> Response:
        """The card's photo."""
        card, other = await self._resolve(request, "/photo", with_photo=True)
        if card is None:
            assert other is not None
            return other
        if not card.photo or not card.photo_type:
            return self._not_found()
        return self._file(card.photo, card.photo_type)

    async def preview(self, request: Request) -> Response:
        """The link-preview picture (og:image) of a card without a photo."""
        card, other = await self._resolve(request, "/og.png")
        if card is None:
            assert other is not None
            return other
        shown = card.card
        role = " at ".join(p for p in (shown.title, shown.company) if p)
        png = await asyncio.to_thread(
            og_image.preview_png, initials(shown.full_name), shown.full_name, role, shown.theme
        )
        return self._file(png, "image/png")

    async def thanks(self, request: Request) -> Response:
        """The thank-you page after a form post."""
        card, other = await self._resolve(request, "/thanks")
        if card is None:
            assert other is not None
            return other
        first = _first_name(card)
        return self._html(
            self._notice(
                heading="Thank you!",
                message=f"{first} will get back to you soon.",
                theme=card.card.theme,
                success=True,
                points=[
                    f"{first} has your details and your message.",
                    f"Save {first}'s contact so you know who is calling or writing back.",
                ],
                owner=first,
                vcf_href=f"/c/{card.card.slug}.vcf",
                back_href=f"/c/{card.card.slug}",
            )
        )

    async def lead_get(self, request: Request) -> Response:
        """Someone reloaded the form's address: send them to the form."""
        slug = request.path_params["slug"]
        if not cards.is_valid_slug(slug):
            return self._not_found()
        return self._redirect(f"/c/{slug}#contact", 303)

    async def trailing_slash(self, request: Request) -> Response:
        """/c/{slug}/ -> /c/{slug}."""
        slug = request.path_params["slug"]
        if not cards.is_valid_slug(slug):
            return self._not_found()
        return self._redirect(f"/c/{slug}", 301)

    async def no_card(self, request: Request) -> Response:
        """Any other address under /c/: the card 404 page."""
        return self._not_found()

    def method_not_allowed(self, allowed: list[str]) -> HTMLResponse:
        """405 for a method a card route does not take (instead of falling through to /mcp's 404)."""
        response = self._html(
            self._notice(heading="Not here", message="This address does not take that kind of request."), 405
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response

    async def lead(self, request: Request) -> Response:
        """The lead form: checks, then a de-duplicated contact with a follow-up due today."""
        if not cards.is_valid_slug(request.path_params["slug"]):
            return self._not_found()
        limit = self.settings.card_form_max_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._too_large(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return self._html(
                self._notice(heading="Unsupported form", message="Send the form from the card page."), 415
            )
        if not self._same_site(request):
            return self._html(
                self._notice(heading="Not sent", message="This form can only be sent from its card page."),
                403,
            )
        body = await self._read_body(request, limit)
        if body is None:
            return await self._too_large(request)

        card, other = await self._resolve(request)
        if card is None:
            assert other is not None
            return other
        state = self._state()
        secret = await self._form_secret(state)
        limited = await self._rate_limited(request, state, secret)
        if limited is not None:
            return limited
        try:
            fields = parse_qs(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=len(FORM_FIELDS) + 5
            )
        except (UnicodeDecodeError, ValueError):
            return self._html(self._notice(heading="Not sent", message="The form could not be read."), 400)
        values = {name: (fields.get(name) or [""])[0] for name in FORM_FIELDS}
        shown = {k: values[k] for k in ("name", "email", "phone", "message", "consent")}

        if values[HONEYPOT].strip():  # the honeypot: people never see it, bots fill it
            await self._count(card, CardEvent.SPAM_BLOCKED)
            return self._redirect(f"/c/{card.card.slug}/thanks", 303)
        verdict = form_token.verify(
            secret,
            card.id,
            values["token"],
            state.clock.now(),
            min_age=timedelta(seconds=self.settings.card_form_min_seconds),
            max_age=timedelta(hours=self.settings.card_form_max_age_hours),
        )
        if verdict.check is TokenCheck.INVALID:
            await self._count(card, CardEvent.SPAM_BLOCKED)
            form = await self._form_view(
                card, values=shown, error="This form could not be checked; please send it again."
            )
            return self._page(card, form, 400)
        if verdict.check is TokenCheck.TOO_FAST:
            await self._count(card, CardEvent.SPAM_BLOCKED)
            form = await self._form_view(
                card, values=shown, error="That was quick! Please check your details and press Send again."
            )
            return self._page(card, form, 422)
        if verdict.check is TokenCheck.EXPIRED:
            form = await self._form_view(
                card, values=shown, error="This page was open for a long time; please press Send again."
            )
            return self._page(card, form, 400)

        errors = self._field_errors(values, card)
        if errors:
            form = await self._form_view(card, values=shown, errors=errors, error="Please check the form.")
            return self._page(card, form, 422)
        lead = LeadForm(
            name=values["name"],
            email=values["email"] or None,
            phone=values["phone"] or None,
            message=values["message"] or None,
            consent_text=cards.consent_text(self.settings, card.card.full_name),
        )
        scope = self._scope(state, card)
        try:
            async with state.db.transaction(workspace_id=card.workspace_id, write=True) as session:
                # Claimed in the lead's own transaction: a post that stores nothing does not use it up.
                first_use = await self._claim_token(session, state, verdict)
                if first_use:
                    await cards.submit_lead(session, scope, card=card, form=lead)
        except InvalidInput as exc:
            errors = {self._form_field(exc.field): self._explain(exc.field, values, card)}
            form = await self._form_view(card, values=shown, errors=errors, error="Please check the form.")
            return self._page(card, form, 422)
        except (Conflict, OperationalError):
            form = await self._form_view(
                card, values=shown, error="Something was busy; please press Send again."
            )
            return self._page(card, form, 503)
        if not first_use:
            form = await self._form_view(
                card,
                values=shown,
                error=f"This form was sent already, so {_first_name(card)} has that message. "
                "To send another one, press Send again.",
            )
            return self._page(card, form, 409)
        return self._redirect(f"/c/{card.card.slug}/thanks", 303)

    # ------------------------------------------------------------ form helpers

    async def _claim_token(self, session: AsyncSession, state: AppState, verdict: form_token.Verdict) -> bool:
        """True the first time a genuine token is used; False for a replay (on any replica)."""
        assert verdict.nonce is not None and verdict.issued_at is not None
        max_age = timedelta(hours=self.settings.card_form_max_age_hours)
        uses = await ratelimit.claim(
            session,
            key=f"{CLAIM_PREFIX}:{verdict.nonce}",
            issued_at=verdict.issued_at,
            forget_before=state.clock.now() - max_age - form_token.CLOCK_SKEW,
        )
        return uses == 1

    async def _too_large(self, request: Request) -> HTMLResponse:
        """413, decided from the size alone: the body is never parsed and nothing is stored.

        The rest of a moderately large body is read and thrown away first, so the browser gets
        to show the answer instead of a reset connection; past DRAIN_LIMIT the connection is cut.
        """
        drained = 0
        try:
            async for chunk in request.stream():
                drained += len(chunk)
                if drained > DRAIN_LIMIT:
                    break
        except (ClientDisconnect, RuntimeError):  # RuntimeError: the stream was partly read already
            pass
        response = self._html(
            self._notice(heading="Too long", message="That message is too long to send. Please shorten it."),
            413,
        )
        response.headers["Connection"] = "close"
        return response

    @staticmethod
    async def _read_body(request: Request, limit: int) -> bytes | None:
        """The body, or None as soon as it grows past ``limit`` (also without a Content-Length)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _same_site(self, request: Request) -> bool:
        """Refuse posts a browser sends from another site.

        Foreign: ``Sec-Fetch-Site: cross-site``, ``Origin: null`` (sandboxed frames, data: URLs,
        file pages) and any Origin that is not ours. No Origin at all (old browsers, scripts) is
        left to the form token.
        """
        if (request.headers.get("sec-fetch-site") or "").lower() == "cross-site":
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        if origin == "null":
            return False
        own = f"{request.url.scheme}://{request.url.netloc}"
        public = urlsplit(self.settings.public_base_url)
        return origin in {own, f"{public.scheme}://{public.netloc}"}

    async def _rate_limited(self, request: Request, state: AppState, secret: str) -> Response | None:
        address = request.client.host if request.client else None
        bucket = ratelimit.client_bucket(secret, "card-form", address)
        window = self.settings.card_form_rate_window_seconds
        now = state.clock.now()
        async with state.db.transaction(all_workspaces=True, write=True) as session:
            hits = await ratelimit.hit(session, state.clock, key=bucket, window_seconds=window)
        if hits <= self.settings.card_form_rate_limit:
            return None
        wait = ratelimit.retry_after(now, window)
        response = self._html(
            self._notice(
                badge="clock",
                heading="Too many messages",
                message=f"Too many messages came from your network. Please try again in {max(1, wait // 60)} "
                f"minute{'s' if wait >= 120 else ''}.",
            ),
            429,
        )
        response.headers["Retry-After"] = str(wait)
        return response

    @staticmethod
    def _form_field(field: str) -> str:
        return field if field in {"name", "email", "phone", "message"} else "name"

    @staticmethod
    def _explain(field: str, values: dict[str, str], card: PublicCard) -> str:
        first = _first_name(card)
        if field == "email" and not values["email"].strip():
            return f"Give an email or a phone number so {first} can reply."
        return {
            "name": "Please tell us your name.",
            "email": "That email address does not look right.",
            "phone": "That phone number does not look right; include the country code, "
            "e.g. +44 20 7946 0958.",
            "message": f"Your message is too long (at most {cards.MAX_FORM_MESSAGE:,} characters).",
        }.get(field, "Please check this field.")

    def _field_errors(self, values: dict[str, str], card: PublicCard) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not values["name"].strip():
            errors["name"] = self._explain("name", values, card)
        if not values["email"].strip() and not values["phone"].strip():
            errors["email"] = self._explain("email", values, card)
        if len(values["message"]) > cards.MAX_FORM_MESSAGE:
            errors["message"] = self._explain("message", values, card)
        if values["consent"] != "yes":
            errors["consent"] = "Please tick the box so your details may be stored."
        return errors


def _first_name(card: PublicCard) -> str:
    return normalize.split_name(card.card.full_name)[0] or card.card.full_name


def routes(ref: StateRef, settings: Settings) -> list[BaseRoute]:
    """The public card routes (registered through ROUTE_FACTORIES in web/app.py)."""
    site = CardSite(ref, settings)

    def route(path: str, get: Endpoint, post: Endpoint | None = None) -> Route:
        # Every method reaches the endpoint, so a wrong one gets 405 here rather than /mcp's 404.
        handlers = {"GET": get, "HEAD": get, **({"POST": post} if post else {})}
        allowed = list(handlers)

        async def endpoint(request: Request) -> Response:
            handler = handlers.get(request.method)
            if handler is None:
                return site.method_not_allowed(allowed)
            return await handler(request)

        return Route(path, endpoint, methods=list(ANY_METHOD))

    return [
        route("/c/{slug}.vcf", site.vcard),
        route("/c/{slug}/qr.svg", site.qr_svg),
        route("/c/{slug}/qr.png", site.qr_png),
        route("/c/{slug}/nfc.ndef", site.nfc),
        route("/c/{slug}/photo", site.photo),
        route("/c/{slug}/og.png", site.preview),
        route("/c/{slug}/lead", site.lead_get, post=site.lead),
        route("/c/{slug}/thanks", site.thanks),
        route("/c/{slug}/", site.trailing_slash),
        route("/c/{slug}", site.page),
        # Anything else under /c/ is a card that is not there (not /mcp's plain 404).
        Route("/c/{rest:path}", site.no_card, methods=list(ANY_METHOD)),
    ]
