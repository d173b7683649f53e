"""Card photos in, clean page images out: decoding with limits, orientation, card finding, deskew, polarity.

Everything here is Pillow + numpy and runs in a worker thread. The steps, in order:

1. :func:`decode` refuses anything that is not a PNG, JPEG or WebP within the byte and pixel
   limits (the pixel count is read from the header, so a decompression bomb is refused before
   a single row is decoded), then applies the EXIF orientation.
2. :func:`find_card` looks for a card lying on a table: the pixels that differ from the
   border colour form a solid convex blob; its four corners are mapped to an upright rectangle
   (this removes rotation and perspective in one resampling).
3. :func:`deskew` finds the remaining text angle with a projection-profile search (the angle at
   which the rows of ink are sharpest) and rotates by it.
4. :func:`split_polarity` groups the page into regions of even background; large regions
   whose text is lighter than their background (white names on dark bands) are cut out and
   redrawn as dark-on-white by colour distance, so the OCR reads dark text everywhere.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "WEBP": "image/webp"}
# OCR resolution: the card's long side is brought near this many pixels (text ~20-60 px tall).
TARGET_LONG_SIDE = 1400
MAX_WORK_LONG_SIDE = 2000
# Business cards are 1.4-1.9 times as wide as tall (ISO 85x55 mm 1.55, US 3.5x2 in 1.75);
# a "card" found outside this range is a part of one.
CARD_ASPECT = (1.3, 2.05)


class ImageRejected(ValueError):
    """The bytes are not an image this reader accepts; the message says why, without echoing content."""


@dataclass
class PreparedCard:
    """A card image ready for OCR, and what was done to get there."""

    page: Image.Image
    """Grayscale, upright; regions of light text are blanked (they are in ``patches``)."""
    patches: list[Patch]
    """Regions of light-on-dark text redrawn dark-on-light, with their offsets in ``page``."""
    color: Image.Image
    """The same geometry in colour (for engines that want RGB, and for keeping)."""
    card_found: bool
    skew_degrees: float
    source_size: tuple[int, int]


def sniff_format(data: bytes) -> str | None:
    """The image format by magic number (PNG, JPEG, WEBP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open image bytes within limits and apply EXIF orientation; raises ImageRejected."""
    if len(data) > max_bytes:
        raise ImageRejected(f"is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if not data:
        raise ImageRejected("is empty")
    if sniff_format(data) is None:
        raise ImageRejected("is not a PNG, JPEG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "WEBP"])
            if image.format not in ALLOWED_FORMATS:
                raise ImageRejected("is not a PNG, JPEG or WebP image")
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageRejected("has no pixels")
            if width * height > max_pixels:
                raise ImageRejected(
                    f"claims {width}x{height} pixels ({width * height:,}); the limit is {max_pixels:,} "
                    "(a decompression bomb or a very large photo)"
                )
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("is too many pixels (a decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("could not be decoded (damaged or not an image)") from None
    upright: Image.Image = ImageOps.exif_transpose(image) or image
    return _to_rgb(upright)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _scale_to(image: Image.Image, long_side: int) -> Image.Image:
    w, h = image.size
    scale = long_side / max(w, h)
    if abs(scale - 1) < 0.05:
        return image
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


# ---------------------------------------------------------------------------------------------
# Finding the card on a table


def _convex_hull(points: NDArray[np.int64]) -> NDArray[np.float64]:
    """Monotone-chain convex hull of (x, y) points, counter-clockwise."""
    pts = np.unique(points, axis=0)
    if len(pts) < 3:
        return pts.astype(float)
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]

    def half(seq: NDArray[np.int64]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for x, y in seq:
            while len(out) >= 2:
                (x1, y1), (x2, y2) = out[-2], out[-1]
                if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) <= 0:
                    out.pop()
                else:
                    break
            out.append((int(x), int(y)))
        return out

    lower = half(pts)
    upper = half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=float)


def _min_area_rect(hull: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """The smallest rectangle around a convex hull: (area, 4 corners)."""
    best_area = math.inf
    best = np.zeros((4, 2))
    n = len(hull)
    for i in range(n):
        edge = hull[(i + 1) % n] - hull[i]
        length = math.hypot(*edge)
        if length == 0:
            continue
        ux = edge / length
        uy = np.array([-ux[1], ux[0]])
        proj_x = hull @ ux
        proj_y = hull @ uy
        area = (proj_x.max() - proj_x.min()) * (proj_y.max() - proj_y.min())
        if area < best_area:
            best_area = area
            corners = [
                ux * a + uy * b
                for a, b in (
                    (proj_x.min(), proj_y.min()),
                    (proj_x.max(), proj_y.min()),
                    (proj_x.max(), proj_y.max()),
                    (proj_x.min(), proj_y.max()),
                )
            ]
            best = np.array(corners)
    return best_area, best


def _polygon_area(poly: NDArray[np.float64]) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _otsu(values: NDArray[np.float64], bins: int = 64) -> float:
    hist, edges = np.histogram(values, bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    total = weight[-1]
    mean = np.cumsum(hist * centers)
    best, threshold = -1.0, float(centers[0])
    for i in range(bins - 1):
        w0, w1 = weight[i], total - weight[i]
        if w0 == 0 or w1 == 0:
            continue
        m0 = mean[i] / w0
        m1 = (mean[-1] - mean[i]) / w1
        between = w0 * w1 * (m0 - m1) ** 2
        if between > best:
            best, threshold = between, float(edges[i + 1])
    return threshold


def find_card(image: Image.Image) -> NDArray[np.float64] | None:
    """Corners (tl, tr, br, bl) of a card lying on a plainer background, in image pixels; None if none."""
    small_side = 320
    scale = small_side / max(image.size)
    small = image.resize(
        (max(8, round(image.width * scale)), max(8, round(image.height * scale))), Image.Resampling.BILINEAR
    )
    arr = np.asarray(small.filter(ImageFilter.BoxBlur(1)), dtype=np.float64)
    h, w = arr.shape[:2]
    ring = max(2, round(min(h, w) * 0.03))
    border = np.concatenate(
        [
            arr[:ring].reshape(-1, 3),
            arr[-ring:].reshape(-1, 3),
            arr[:, :ring].reshape(-1, 3),
            arr[:, -ring:].reshape(-1, 3),
        ]
    )
    background = np.median(border, axis=0)
    distance = np.sqrt(((arr - background) ** 2).sum(axis=2))
    threshold = max(_otsu(distance.ravel()), 18.0)
    mask = distance > threshold
    # Erode once (a pixel and its 4 neighbours) so specks and thin shadows drop out.
    core = mask.copy()
    core[1:, :] &= mask[:-1, :]
    core[:-1, :] &= mask[1:, :]
    core[:, 1:] &= mask[:, :-1]
    core[:, :-1] &= mask[:, 1:]
    border_mask = np.concatenate(
        [core[:ring].ravel(), core[-ring:].ravel(), core[:, :ring].ravel(), core[:, -ring:].ravel()]
    )
    if border_mask.mean() > 0.08:
        return None  # the "background" touches the edges: no card-on-table picture
    ys, xs = np.nonzero(core)
    if len(xs) < 0.12 * h * w:
        return None
    hull = _convex_hull(np.stack([xs, ys], axis=1))
    if len(hull) < 4:
        return None
    hull_area = _polygon_area(hull)
    if hull_area > 0.97 * h * w or core.sum() < 0.80 * hull_area:
        return None  # not a solid convex blob
    rect_area, rect = _min_area_rect(hull)
    if hull_area < 0.85 * rect_area:
        return None  # not a quadrilateral
    # The hull vertex nearest each rectangle corner is the card's corner (handles perspective).
    corners = np.array([hull[np.argmin(((hull - c) ** 2).sum(axis=1))] for c in rect])
    if _polygon_area(corners) < 0.85 * hull_area:
        corners = rect
    corners = _order_corners(corners)
    tl, tr, br, bl = corners
    across = (math.dist(tl, tr) + math.dist(bl, br)) / 2
    down = (math.dist(tl, bl) + math.dist(tr, br)) / 2
    ratio = max(across, down) / max(1.0, min(across, down))
    if not CARD_ASPECT[0] <= ratio <= CARD_ASPECT[1]:
        return None  # not a card's shape: part of it (a dark band) matched the table
    return (corners + 0.5) / scale


def _order_corners(pts: NDArray[np.float64]) -> NDArray[np.float64]:
    """tl, tr, br, bl, choosing the labelling that needs the smallest rotation."""
    center = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - center[1], pts[:, 0] - center[0])
    ordered = pts[np.argsort(angles)]  # clockwise in image coordinates, starting anywhere
    best = ordered
    best_tilt = math.inf
    for shift in range(4):
        cand = np.roll(ordered, -shift, axis=0)
        top = cand[1] - cand[0]
        tilt = abs(math.atan2(top[1], top[0]))
        if top[0] > 0 and tilt < best_tilt:
            best, best_tilt = cand, tilt
    return best


def warp_card(image: Image.Image, corners: NDArray[np.float64]) -> Image.Image:
    """The quadrilateral ``corners`` (tl, tr, br, bl) resampled to an upright rectangle."""
    tl, tr, br, bl = corners
    width = (math.dist(tl, tr) + math.dist(bl, br)) / 2
    height = (math.dist(tl, bl) + math.dist(tr, br)) / 2
    # Image.QUAD takes the source corners in the order upper-left, lower-left, lower-right, upper-right.
    data = (*tl, *bl, *br, *tr)
    return image.transform(
        (max(1, round(width)), max(1, round(height))),
        Image.Transform.QUAD,
        tuple(float(v) for v in data),
        resample=Image.Resampling.BICUBIC,
    )


# ---------------------------------------------------------------------------------------------
# Deskew


def skew_angle(gray: Image.Image, *, limit: float = 12.0) -> float:
    """The rotation (degrees, counter-clockwise positive) that makes the text rows horizontal.

    The sharpness of a row profile is the sum of squared differences between neighbouring
    rows: aligned text lines switch sharply between ink and paper, while a large logo blob
    only changes slowly, so it cannot pull the angle.
    """
    small = gray.resize((max(2, gray.width // 2), max(2, gray.height // 2)), Image.Resampling.BILINEAR)
    arr = np.asarray(small, dtype=np.uint8)
    ys, xs = np.nonzero(arr < 140)
    if len(xs) < 200:
        return 0.0
    if len(xs) > 60_000:
        pick = np.random.default_rng(0).choice(len(xs), 60_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    xs_f = xs.astype(np.float64) - small.width / 2
    ys_f = ys.astype(np.float64) - small.height / 2
    bins = int(math.hypot(small.width, small.height)) + 2

    def sharpness(degrees: float) -> float:
        t = math.radians(degrees)
        rows = ys_f * math.cos(t) - xs_f * math.sin(t)
        hist = np.bincount((rows + bins / 2).astype(np.int64).clip(0, bins - 1), minlength=bins)
        return float(np.square(np.diff(hist.astype(np.float64))).sum())

    coarse = np.arange(-limit, limit + 0.01, 1.0)
    best = max(coarse, key=sharpness)
    fine = np.arange(best - 1.0, best + 1.01, 0.05)
    angle = float(max(fine, key=sharpness))
    # rows(θ) are level when the image is rotated (counter-clockwise) by θ
    return angle if 0.3 <= abs(angle) < limit - 0.5 else 0.0


# ---------------------------------------------------------------------------------------------
# Polarity: light text on dark bands


@dataclass
class Patch:
    """A region whose text was lighter than its background, redrawn as dark text on white."""

    offset: tuple[int, int]
    image: Image.Image


def split_polarity(rgb: Image.Image, gray: Image.Image, *, cell: int = 16) -> tuple[Image.Image, list[Patch]]:
    """The page with light-text regions blanked, and those regions as separate dark-on-light patches.

    The page is cut into cells; cells of even background level are grouped into regions (a
    coloured band, a sidebar, a dark card). A large region whose ink is lighter than its
    background is cut out (one cell inside its edge, so no edge artefacts) and redrawn with
    each pixel's darkness set by its colour distance from the region's background colour, so
    white and coloured text on a dark band both come out black on white.
    """
    arr = np.asarray(gray, dtype=np.float64)
    colors = np.asarray(rgb, dtype=np.float64)
    h, w = arr.shape
    gh, gw = max(1, h // cell), max(1, w // cell)
    # Local background: the median over several cells is the paper or band colour, not the ink.
    small = gray.resize((gw, gh), Image.Resampling.BOX).filter(ImageFilter.MedianFilter(7))
    bg = np.asarray(small, dtype=np.float64)
    labels = _regions(bg, tolerance=20.0)
    page = arr.copy()
    patches: list[Patch] = []
    sizes = np.bincount(labels.ravel())
    min_cells = max(8, int(0.015 * gh * gw))
    large = sizes >= min_cells
    levels = np.array([float(np.median(bg[labels == k])) if large[k] else 0.0 for k in range(len(sizes))])
    tiles = arr[: gh * cell, : gw * cell].reshape(gh, cell, gw, cell)
    cell_max, cell_min = tiles.max(axis=(1, 3)), tiles.min(axis=(1, 3))
    for label in np.nonzero(large)[0]:
        own = labels == label
        rows, cols = np.nonzero(own)
        box = np.zeros_like(own)
        box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
        # The region is its bounding box less the other large regions: text-dense cells inside count,
        # and so do cells of a neighbour that hold ink both lighter and darker than that neighbour
        # (light letters next to a band edge that the region growing handed to the band).
        others = large[labels] & ~own
        other_level = levels[labels]
        steal = others & (cell_max > other_level + 50) & (cell_min < other_level - 50)
        region = box & (~others | steal)
        inner = region.copy()  # erode by one cell
        inner[1:, :] &= region[:-1, :]
        inner[:-1, :] &= region[1:, :]
        inner[:, 1:] &= region[:, :-1]
        inner[:, :-1] &= region[:, 1:]
        if inner.sum() < min_cells // 2:
            continue
        rows, cols = np.nonzero(inner)
        y0, y1 = int(rows.min()) * cell, min(h, (int(rows.max()) + 1) * cell)
        x0, x1 = int(cols.min()) * cell, min(w, (int(cols.max()) + 1) * cell)
        cells = inner[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        mask = (
            np.asarray(
                Image.fromarray(cells.astype(np.uint8) * 255).resize(
                    (x1 - x0, y1 - y0), Image.Resampling.NEAREST
                )
            )
            > 0
        )
        level = float(np.median(bg[own]))
        crop = arr[y0:y1, x0:x1]
        inside = crop[mask]
        lighter = int((inside > level + 50).sum())
        darker = int((inside < level - 50).sum())
        if not (lighter > 100 and lighter > 1.5 * darker):
            continue
        crop_rgb = colors[y0:y1, x0:x1]
        paper = np.median(crop_rgb[mask], axis=0)
        distance = np.sqrt(np.square(crop_rgb - paper).sum(axis=2))
        distance[~mask] = 0.0
        top = max(80.0, float(np.percentile(distance[mask], 99.5)))
        drawn = 255.0 - np.clip(distance * (255.0 / top), 0, 255)
        patches.append(Patch(offset=(x0, y0), image=_flatten(drawn, cell)))
        # Blank the whole region on the page (not just its inner part): no dark rim for the OCR to chew on.
        full = (
            np.asarray(
                Image.fromarray(region.astype(np.uint8) * 255).resize(
                    (gw * cell, gh * cell), Image.Resampling.NEAREST
                )
            )
            > 0
        )
        page[: gh * cell, : gw * cell][full[:h, :w]] = 255.0
    # Flat-field the rest: each large region's paper becomes white (Tesseract skips text on a
    # mid-grey band next to white paper).
    paper_level = np.where(large[labels], levels[labels], 255.0).clip(60, 255)
    factor = np.asarray(
        Image.fromarray((255.0 / paper_level).astype(np.float32), mode="F").resize(
            (gw * cell, gh * cell), Image.Resampling.NEAREST
        )
    )
    page[: gh * cell, : gw * cell] *= factor[: min(h, gh * cell), : min(w, gw * cell)]
    return Image.fromarray(page.clip(0, 255).astype(np.uint8), mode="L"), patches


def _flatten(drawn: NDArray[np.float64], cell: int) -> Image.Image:
    """A redrawn patch with its paper brought to white everywhere.

    The redrawn band can keep a grey paper (a photo's table around it, uneven light), and
    Tesseract skips text on mid-grey next to white: each pixel is divided by its local paper level.
    """
    image = Image.fromarray(drawn.clip(0, 255).astype(np.uint8), mode="L")
    h, w = drawn.shape
    gw, gh = max(1, w // cell), max(1, h // cell)
    small = image.resize((gw, gh), Image.Resampling.BOX).filter(ImageFilter.MaxFilter(3))
    small = small.filter(ImageFilter.MedianFilter(5))
    paper = np.asarray(small.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64).clip(60, 255)
    flat = (drawn * (255.0 / paper)).clip(0, 255)
    return Image.fromarray(flat.astype(np.uint8), mode="L")


def _regions(bg: NDArray[np.float64], *, tolerance: float) -> NDArray[np.int64]:
    """Label 4-connected cells whose background levels differ by less than ``tolerance``."""
    h, w = bg.shape
    labels = np.full((h, w), -1, dtype=np.int64)
    flat = bg.ravel()
    lab = labels.ravel()
    current = 0
    for start in range(h * w):
        if lab[start] >= 0:
            continue
        lab[start] = current
        stack = [start]
        seed = flat[start]
        while stack:
            i = stack.pop()
            y, x = divmod(i, w)
            for j in (
                i - w if y > 0 else -1,
                i + w if y < h - 1 else -1,
                i - 1 if x > 0 else -1,
                i + 1 if x < w - 1 else -1,
            ):
                if (
                    j >= 0
                    and lab[j] < 0
                    and abs(flat[j] - flat[i]) < tolerance
                    and abs(flat[j] - seed) < 2 * tolerance
                ):
                    lab[j] = current
                    stack.append(j)
        current += 1
    return labels


# ---------------------------------------------------------------------------------------------
# The whole preparation


def prepare(image: Image.Image, *, turn: int = 0) -> PreparedCard:
    """Find, straighten and normalize a card photo for OCR (``turn``: quarter turns counter-clockwise)."""
    source_size = image.size
    work = image
    if max(work.size) > MAX_WORK_LONG_SIDE:
        work = _scale_to(work, MAX_WORK_LONG_SIDE)
    corners = find_card(work)
    card_found = corners is not None
    if corners is not None:
        work = warp_card(work, corners)
    if turn % 4:
        work = work.rotate(90 * (turn % 4), expand=True)
    if max(work.size) < 1000 or max(work.size) > 1800:
        work = _scale_to(work, TARGET_LONG_SIDE)
    gray = work.convert("L")
    angle = skew_angle(gray)
    if angle:
        fill = int(np.median(np.asarray(gray)))
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
        work = work.rotate(
            angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(fill, fill, fill)
        )
    page, patches = split_polarity(work, gray)
    return PreparedCard(
        page=page,
        patches=patches,
        color=work,
        card_found=card_found,
        skew_degrees=angle,
        source_size=source_size,
    )


# ---------------------------------------------------------------------------------------------
# A period the OCR dropped


def dot_after(page: Image.Image, box: tuple[int, int, int, int]) -> bool:
    """True when a lone full stop follows the word in ``box`` on ``page`` (dark text on light).

    Tesseract often drops the period closing a short word at the end of a line ("Inc.",
    "S.A."). The stop is a small solid blob on the baseline just right of the word, with
    paper between them and nothing else after it on the line.
    """
    x0, y0, x1, y1 = box
    h = y1 - y0
    if h < 8:
        return False
    left, right = x1 + 1, min(page.width, x1 + int(1.2 * h))
    top, bottom = max(0, y0 - int(0.1 * h)), min(page.height, y1 + int(0.15 * h))
    if right - left < 4 or bottom - top < 4:
        return False
    word = np.asarray(page.crop((x0, y0, x1, y1)), dtype=np.float64)
    if word.size == 0:
        return False
    ink, paper = float(np.percentile(word, 5)), float(np.percentile(word, 95))
    if paper - ink < 60:
        return False
    dark: NDArray[np.bool_] = (
        np.asarray(page.crop((left, top, right, bottom)), dtype=np.float64) < (ink + paper) / 2
    )
    inked: NDArray[np.bool_] = np.asarray(dark.any(axis=0))
    clear = np.nonzero(~inked)[0]
    if len(clear) == 0:
        return False
    # The blob: the first run of inked columns after a clear one (the word's own tail is skipped).
    cols = np.nonzero(inked[int(clear[0]) :])[0] + int(clear[0])
    if len(cols) == 0:
        return False
    start = int(cols[0])
    end = start
    while end + 1 < dark.shape[1] and dark[:, end + 1].any():
        end += 1
    blob = dark[:, start : end + 1]
    rows = np.nonzero(blob.any(axis=1))[0]
    width, height = end - start + 1, int(rows[-1] - rows[0] + 1)
    blob_bottom = top + int(rows[-1])
    blob_top = top + int(rows[0])
    return bool(
        start >= 1
        and start < 0.5 * h
        and 0.07 * h <= width <= 0.3 * h
        and 0.07 * h <= height <= 0.3 * h
        and blob_top > y1 - 0.4 * h
        and abs(blob_bottom - y1) <= 0.15 * h
        and blob.sum() >= 0.4 * width * height
        and not dark[:, end + 1 :].any()  # nothing after it: the stop ends the line
    )
