"""Peak labels drawn over a photo at the x positions ``peaklens.frame`` computed.

Only x is known (phones record no pitch), so each label hangs from the top edge on a leader line; labels that
would overlap step down a row. With a compass-only heading, a translucent band shows where the peak may really
be (the heading's uncertainty).
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from peaklens.frame import FramePeak, FrameView

LABEL_COLOUR = (255, 255, 255, 255)
BOX_COLOUR = (20, 20, 20, 175)
LINE_COLOUR = (255, 214, 0, 230)
SPAN_COLOUR = (255, 214, 0, 140)


def label_text(peak: FramePeak) -> tuple[str, str]:
    """Two lines: the name, then distance and elevation."""
    elevation = f" · {peak.elev_m:,} m".replace(",", " ") if peak.elev_m is not None else ""
    return peak.name, f"{peak.distance_km:.1f} km{elevation}"


def draw_labels(image: Image.Image, view: FrameView) -> Image.Image:
    """A copy of ``image`` with every in-frame peak labelled at its x (and its uncertainty span)."""
    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width = base.size[0]
    size = max(12, width // 60)
    font = ImageFont.load_default(size=size)
    small = ImageFont.load_default(size=max(10, int(size * 0.8)))
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
    leader_end = size / 2 + max(1, len(rows_end)) * row_height + size * 4
    for peak, x, _left, _top, bottom, *_ in boxes:
        if peak.x_span is not None:  # where the peak may be, given the compass's uncertainty
            lo, hi = peak.x_span
            draw.rectangle([lo * width, bottom, hi * width, bottom + size / 3], fill=SPAN_COLOUR)
        draw.line([x, bottom, x, leader_end], fill=LINE_COLOUR, width=max(2, size // 8))
    for _peak, _x, left, top, bottom, text_width, name, detail in boxes:
        draw.rounded_rectangle([left, top, left + text_width, bottom], radius=size // 3, fill=BOX_COLOUR)
        draw.text((left + size / 2, top + size / 6), name, font=font, fill=LABEL_COLOUR)
        draw.text((left + size / 2, top + size * 1.35), detail, font=small, fill=LABEL_COLOUR)
    return Image.alpha_composite(base, overlay).convert("RGB")


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
