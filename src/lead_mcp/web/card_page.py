"""Rendering of the public card pages: Jinja2 templates (autoescaped), the stylesheet, security headers.

The stylesheet is inlined (one request, fast on a phone) and allowed by its
SHA-256 hash in the Content-Security-Policy, so the policy needs no
``unsafe-inline`` and the pages run no script at all. Every value a user or a
visitor typed reaches the HTML through Jinja's autoescaping.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import phonenumbers
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from lead_mcp.config import Settings
from lead_mcp.domain import Card, CardTheme
from lead_mcp.integrations import qr
from lead_mcp.services import normalize
from lead_mcp.services.cards import page_url, phone_kind
from lead_mcp.web import og_image as og_image_module

THEME_COLORS = {
    CardTheme.CLASSIC: "#4338ca",
    CardTheme.MIDNIGHT: "#0b1226",
    CardTheme.FOREST: "#064e3b",
    CardTheme.SUNSET: "#f97316",
    CardTheme.MONO: "#111111",
}


@cache
def environment() -> Environment:
    """The template environment: HTML autoescaping always on, unknown variables are errors."""
    return Environment(
        loader=PackageLoader("lead_mcp.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> str:
    """The pages' CSS (inlined into every page)."""
    return files("lead_mcp.web").joinpath("templates/card.css").read_text(encoding="utf-8").strip()


@cache
def content_security_policy() -> str:
    """No scripts, no other hosts: own images, the inline stylesheet (by hash), same-origin posts."""
    digest = base64.b64encode(hashlib.sha256(stylesheet().encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; "
        f"style-src 'sha256-{digest}'; "
        "img-src 'self' data:; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def security_headers(*, html: bool) -> dict[str, str]:
    """Headers every card route sends (HTML gets the full policy; files get nosniff and no framing)."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-site",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }
    headers["Content-Security-Policy"] = (
        content_security_policy() if html else "default-src 'none'; frame-ancestors 'none'; sandbox"
    )
    return headers


def initials(name: str) -> str:
    """Up to two initials for the avatar ("Ana Souza" -> "AS")."""
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    if not words:
        return "?"
    picked = [words[0], words[-1]] if len(words) > 1 else [words[0]]
    return "".join(w[0] for w in picked).upper()


def phone_display(e164: str) -> str:
    """A phone number as people write it (+1 415-555-0100)."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def description(card: Card) -> str:
    """One line for link previews and search results."""
    role = " at ".join(p for p in (card.title, card.company) if p)
    if card.bio:
        bio = " ".join(card.bio.split())
        bio = bio if len(bio) <= 160 else bio[:157].rstrip() + "..."
        return f"{role}. {bio}" if role else bio
    return role or f"Contact card of {card.full_name}"


@dataclass
class FormView:
    """The lead form as one render shows it: token, kept values, errors."""

    action: str
    token: str
    consent_text: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def __post_init__(self) -> None:
        for name in ("name", "email", "phone", "message", "consent"):
            self.values.setdefault(name, "")
            self.errors.setdefault(name, "")


def render_card(
    card: Card,
    settings: Settings,
    *,
    vcf_href: str,
    photo_href: str | None,
    qr_png_href: str | None,
    form: FormView | None,
    canonical_url: str | None = None,
    qr_target: str | None = None,
    og_image: str | None = None,
    og_image_generated: bool = False,
    live_form_href: str | None = None,
    meta_csp: bool = False,
) -> str:
    """The card page's HTML (live at /c/{slug}, or the static export's index.html).

    ``og_image`` is the absolute URL of the link-preview picture: the photo, or (with
    ``og_image_generated``) the picture drawn by :mod:`lead_mcp.web.og_image`.
    """
    url = canonical_url or page_url(settings, card.slug)
    given, family = normalize.split_name(card.full_name)
    context: dict[str, Any] = {
        "card": card,
        "theme": card.theme.value,
        "theme_color": THEME_COLORS[card.theme],
        "css": Markup(stylesheet()),  # noqa: S704 - our own stylesheet, no user data
        "meta_csp": content_security_policy().replace("; frame-ancestors 'none'", "") if meta_csp else None,
        "role": " at ".join(p for p in (card.title, card.company) if p),
        "description": description(card),
        "page_url": url,
        "vcf_href": vcf_href,
        "photo_href": photo_href,
        "og_image": og_image,
        "og_image_size": og_image_module.SIZE if og_image and og_image_generated else None,
        "footer": settings.card_footer,
        "initials": initials(card.full_name),
        "given_name": given,
        "family_name": family,
        "website_href": f"https://{card.website}" if card.website else None,
        "phone_display": phone_display(card.phone) if card.phone else None,
        "phone_label": phone_kind(card.phone) if card.phone else None,
        "qr_svg": Markup(qr.svg_inline(qr_target or f"{url}?src=qr")),  # noqa: S704 - generated SVG
        "qr_png_href": qr_png_href,
        "form": form,
        "live_form_href": live_form_href,
    }
    return environment().get_template("card.html").render(context)


def render_notice(
    *,
    heading: str,
    message: str,
    theme: CardTheme = CardTheme.CLASSIC,
    success: bool = False,
    badge: str | None = None,
    points: list[str] | None = None,
    owner: str | None = None,
    vcf_href: str | None = None,
    back_href: str | None = None,
    footer: bool = True,
) -> str:
    """A short page: thank-you, not found, gone, too many requests.

    ``badge`` names an icon shown in a disc over the header (``check`` for success);
    ``points`` are short lines listed under the message.
    """
    context: dict[str, Any] = {
        "theme": theme.value,
        "theme_color": THEME_COLORS[theme],
        "css": Markup(stylesheet()),  # noqa: S704 - our own stylesheet, no user data
        "meta_csp": None,
        "heading": heading,
        "message": message,
        "success": success,
        "badge": badge or ("check" if success else None),
        "points": points or [],
        "footer": footer,
        "owner": owner,
        "vcf_href": vcf_href,
        "back_href": back_href,
    }
    return environment().get_template("notice.html").render(context)


def export_headers_file() -> str:
    """A ``_headers`` file (Netlify, Cloudflare Pages): the same security headers from a static host."""
    lines = ["/*"]
    for name, value in security_headers(html=True).items():
        lines.append(f"  {name}: {value}")
    return "\n".join(lines) + "\n"
