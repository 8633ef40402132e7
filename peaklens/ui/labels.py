"""Peak labels drawn over a photo at the x positions ``peaklens.frame`` computed.

Each label hangs from the top edge on a leader line; labels that would overlap step down a row. Where the frame
knows a peak's height in the picture (``y``, a share of the displayed height from the top), the leader ends on
the summit; otherwise it stops a little below the labels. With a compass-only heading, a translucent band shows
where the peak may really be (the heading's uncertainty). Labels are sized for the width the photo is shown
at, so a name reads the same on a small upload and on a large photo.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from peaklens.answers import FramePeak, FrameView

LABEL_COLOUR = (255, 255, 255, 255)
BOX_COLOUR = (20, 20, 20, 175)
LINE_COLOUR = (255, 214, 0, 230)
SPAN_COLOUR = (255, 214, 0, 140)
#: a peak not drawn among the labels, shown where it would be (the one picked for a correction)
GHOST_LABEL_COLOUR = (255, 255, 255, 170)
GHOST_BOX_COLOUR = (20, 20, 20, 90)
GHOST_LINE_COLOUR = (255, 255, 255, 150)
#: a name's size on screen (CSS pixels), whatever the photo's size
NAME_SCREEN_PX = 15
#: the width a photo is shown at when the caller does not say (the lightbox)
DEFAULT_SHOWN_PX = 900
#: the width an uploaded photo is shown at (at most its column's), which its labels are sized for
UPLOAD_SHOWN_PX = 540


def font_px(image_width: int, shown_width: float) -> int:
    """The font size in the picture's pixels that shows as ``NAME_SCREEN_PX`` when the picture is drawn
    ``shown_width`` CSS pixels wide (never wider than itself: a small picture is not blown up)."""
    scale = image_width / max(1.0, min(float(shown_width), float(image_width)))
    return max(8, math.ceil(NAME_SCREEN_PX * scale))


def summit_y(peak: FramePeak) -> float | None:
    """The summit's height in the picture (share of the displayed height from the top), when the frame knows it."""
    y = getattr(peak, "y", None)
    return None if y is None else float(y)


def correction_choices(view: FrameView) -> list[FramePeak]:
    """The peaks a user may move, those labelled on the photo first (left to right), then the others near the
    field of view, nearest the frame first."""
    drawn = [p for p in view.in_frame() if p.x is not None]
    ids = {p.peak_id for p in drawn}
    near = [
        p for p in view.peaks if p.peak_id not in ids and p.x is not None and p.visible and -0.5 <= p.x <= 1.5
    ]
    near.sort(key=lambda p: abs(p.x - 0.5) if p.x is not None else math.inf)
    return drawn + near


def label_text(peak: FramePeak) -> tuple[str, str]:
    """Two lines: the name, then distance and elevation."""
    elevation = f" · {peak.elev_m:,} m".replace(",", " ") if peak.elev_m is not None else ""
    return peak.name, f"{peak.distance_km:.1f} km{elevation}"


def draw_labels(
    image: Image.Image,
    view: FrameView,
    *,
    shown_width: float = DEFAULT_SHOWN_PX,
    ghost: FramePeak | None = None,
) -> Image.Image:
    """A copy of ``image`` with every in-frame peak labelled at its x (and its uncertainty span); ``ghost``, a
    peak with no label of its own, is drawn dim where the heading puts it (at the edge, with an arrow, when
    that is outside the photo)."""
    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width, height = base.size
    size = font_px(width, shown_width)
    font = ImageFont.load_default(size=size)
    small = ImageFont.load_default(size=max(8, int(size * 0.8)))
    row_height = int(size * 2.9)
    rows_end: list[float] = []  # right edge of the last label placed in each row
    boxes = []
    for peak in view.in_frame():
        if peak.x is None:
            continue
        x = peak.x * width
        name, detail = label_text(peak)
        text_width = max(draw.textlength(name, font=font), draw.textlength(detail, font=small)) + size
        left = min(max(0.0, x - text_width / 2), width - text_width)
        row = next((i for i, end in enumerate(rows_end) if left > end + size / 2), len(rows_end))
        if row == len(rows_end):
            rows_end.append(0.0)
        rows_end[row] = left + text_width
        top = size / 2 + row * row_height
        boxes.append((peak, x, left, top, top + row_height - size / 3, text_width, name, detail))
    boxes = _below_high_summits(boxes, height, size, row_height)
    leader_end = size / 2 + max(1, len(rows_end)) * row_height + size * 4
    line_width = max(2, size // 8)
    for peak, x, _left, top, bottom, *_ in boxes:
        if peak.x_span is not None:  # where the peak may be, given the compass's uncertainty
            lo, hi = peak.x_span
            draw.rectangle([lo * width, bottom, hi * width, bottom + size / 3], fill=SPAN_COLOUR)
        y = summit_y(peak)
        if y is not None and y * height < top:  # a label hung below its summit: the leader goes up to it
            draw.line([x, y * height, x, top], fill=LINE_COLOUR, width=line_width)
            continue
        end = leader_end if y is None else min(float(height), max(bottom, y * height))
        draw.line([x, bottom, x, end], fill=LINE_COLOUR, width=line_width)
    for _peak, _x, left, top, bottom, text_width, name, detail in boxes:
        draw.rounded_rectangle([left, top, left + text_width, bottom], radius=size // 3, fill=BOX_COLOUR)
        draw.text((left + size / 2, top + size / 6), name, font=font, fill=LABEL_COLOUR)
        draw.text((left + size / 2, top + size * 1.35), detail, font=small, fill=LABEL_COLOUR)
    if ghost is not None and ghost.x is not None and ghost.peak_id not in {b[0].peak_id for b in boxes}:
        _draw_ghost(draw, ghost, width, height, size, font, small, leader_end, line_width)
    return Image.alpha_composite(base, overlay).convert("RGB")


def _below_high_summits(boxes: list[Any], height: int, size: int, row_height: int) -> list[Any]:
    """Labels whose summit stands in or above their own label row hang below the summit instead (a label at
    the top would hide the summit it names, and its leader would have nowhere to go), stepping down a row
    where they would overlap each other."""
    out = []
    placed: list[tuple[float, float, float]] = []  # left, right, top of the labels moved below
    for box in boxes:
        peak, x, left, _top, bottom, text_width, name, detail = box
        y = summit_y(peak)
        if y is None or y * height > bottom + size:
            out.append(box)
            continue
        below = y * height + size * 3
        while any(
            left < right + size / 2
            and other < left + text_width + size / 2
            and abs(other_top - below) < row_height
            for other, right, other_top in placed
        ):
            below += row_height
        below = min(below, height - row_height)
        placed.append((left, left + text_width, below))
        out.append((peak, x, left, below, below + row_height - size / 3, text_width, name, detail))
    return out


def _draw_ghost(
    draw: ImageDraw.ImageDraw,
    peak: FramePeak,
    width: int,
    height: int,
    size: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    small: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    leader_end: float,
    line_width: int,
) -> None:
    """A dim label below the others, where the heading would put the peak, so a click has something to aim at."""
    assert peak.x is not None
    name, detail = label_text(peak)
    if peak.x < 0:
        name = "← " + name
    elif peak.x > 1:
        name = name + " →"
    x = min(max(peak.x, 0.0), 1.0) * width
    text_width = max(draw.textlength(name, font=font), draw.textlength(detail, font=small)) + size
    left = min(max(0.0, x - text_width / 2), width - text_width)
    top = leader_end + size
    bottom = top + size * 2.9 - size / 3
    y = summit_y(peak)
    end = bottom + size * 4 if y is None else min(float(height), max(bottom, y * height))
    if 0 <= peak.x <= 1:
        draw.line([x, bottom, x, end], fill=GHOST_LINE_COLOUR, width=line_width)
    draw.rounded_rectangle([left, top, left + text_width, bottom], radius=size // 3, fill=GHOST_BOX_COLOUR)
    draw.text((left + size / 2, top + size / 6), name, font=font, fill=GHOST_LABEL_COLOUR)
    draw.text((left + size / 2, top + size * 1.35), detail, font=small, fill=GHOST_LABEL_COLOUR)


def heading_caption(view: FrameView) -> str:
    """Which heading placed the labels, and how sure it is."""
    if view.heading_deg is None:
        return "No compass heading: the peaks in frame cannot be placed."
    source = {
        "compass": "the phone's compass",
        "skyline": "a skyline fit",
        "registered": "registration against the terrain",
        "user": "your correction",
    }.get(view.heading_source or "", view.heading_source or "unknown")
    text = f"Heading {view.heading_deg:.0f}° from {source} (±{view.heading_uncertainty_deg:g}°)"
    if view.heading_offset_deg:
        text += f", compass corrected by {view.heading_offset_deg:+.1f}°"
    terrain = "terrain checked" if view.terrain_checked else "terrain not checked"
    return f"{text} · field of view {view.hfov_deg:.0f}° · {terrain}"
