"""The link-preview picture of a card without a photo: initials on the theme's colours, as a PNG.

Served at ``/c/{slug}/og.png`` and named by the page's ``og:image`` so a shared link shows
something that looks like the person's card rather than a blank box. It is drawn with
Pillow's bundled font (no system font needed); a name the font cannot write (outside the
Latin scripts) gets a person silhouette instead of initials, and its text is left out.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from lead_mcp.domain import CardTheme

SIZE = (1200, 630)
# The hero gradient of each theme (the same colours as --hero-a/b/c in card.css).
HERO = {
    CardTheme.CLASSIC: ("#4338ca", "#7c3aed", "#db2777"),
    CardTheme.MIDNIGHT: ("#0b1226", "#1e3a8a", "#0e7490"),
    CardTheme.FOREST: ("#064e3b", "#047857", "#65a30d"),
    CardTheme.SUNSET: ("#f59e0b", "#f97316", "#e11d48"),
    CardTheme.MONO: ("#111111", "#2b2b2b", "#4a4a4a"),
}
_LATIN_LIMIT = 0x250  # Basic Latin to Latin Extended-B: what the bundled font writes


def _writable(text: str) -> bool:
    return bool(text) and all(ord(c) < _LATIN_LIMIT for c in text)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _gradient(colors: tuple[str, str, str]) -> Image.Image:
    """A left-to-right blend of three colours, tilted a little by a vertical shade."""
    a, b, c = (_rgb(x) for x in colors)
    ramp = Image.linear_gradient("L").rotate(-90).resize(SIZE)  # 255 on the left, 0 on the right
    left = Image.new("RGB", SIZE, a)
    middle = Image.new("RGB", SIZE, b)
    right = Image.new("RGB", SIZE, c)
    first = Image.composite(left, middle, ramp.point(lambda v: min(255, max(0, (v - 128) * 2))))
    image = Image.composite(first, right, ramp.point(lambda v: min(255, v * 2)))
    shade = Image.linear_gradient("L").resize(SIZE).point(lambda v: v // 5)  # darker towards the bottom
    return Image.composite(Image.new("RGB", SIZE, (0, 0, 0)), image, shade)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=size)
    while size > 24 and draw.textlength(text, font=font) > width:
        size -= 4
        font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont)
    return font


@lru_cache(maxsize=64)
def preview_png(initials: str, name: str, role: str, theme: CardTheme) -> bytes:
    """A 1200x630 PNG: a white disc with the initials over the theme gradient, the name and role below."""
    hero = HERO[theme]
    image = _gradient(hero)
    draw = ImageDraw.Draw(image)
    width, _ = SIZE
    cx, cy, radius = width // 2, 235, 150
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255))
    ink = _rgb(hero[0]) if theme is not CardTheme.SUNSET else _rgb(hero[2])
    if _writable(initials) and initials != "?":
        font = ImageFont.load_default(size=136)
        draw.text((cx, cy + 4), initials, font=font, fill=ink, anchor="mm")
    else:  # a person silhouette: head and shoulders
        draw.ellipse((cx - 48, cy - 92, cx + 48, cy + 4), fill=ink)
        draw.chord((cx - 92, cy + 20, cx + 92, cy + 200), 180, 360, fill=ink)
    if _writable(name):
        font = _fit(draw, name, 64, width - 120)
        draw.text((cx, 470), name, font=font, fill=(255, 255, 255), anchor="mm")
        if role and _writable(role):
            small = _fit(draw, role, 36, width - 160)
            draw.text((cx, 540), role, font=small, fill=(255, 255, 255, 220), anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
