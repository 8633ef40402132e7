"""What the album map shows and where its words go, decided before anything is drawn (pure functions).

* The frame: the photos being shown and the catalog peaks near them (``NEAR_KM``), never the whole catalog;
  widened to the panel's shape so degrees map to pixels the same way across and down.
* Peak names: placed one by one, most important first (high and near the photos), each beside its ▲ where it
  overlaps no other name, no ▲, no photo dot and no edge; a name that fits nowhere is left to the hover.
* Area presets: only those holding at least one of the album's photos.

The map is drawn at a fixed size in pixels (``MAP_WIDTH_PX`` × ``MAP_HEIGHT_PX``), so the placement computed
here is the one the browser shows; the browser test checks the drawn names do not overlap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from peaklens.library import nearest_km
from peaklens.records import BBox, GeoPoint

MAP_WIDTH_PX = 860
MAP_HEIGHT_PX = 380
#: the plot area inside the figure: the legend sits in a band above it
LEGEND_BAND_PX = 26
PLOT_HEIGHT_PX = MAP_HEIGHT_PX - LEGEND_BAND_PX
#: peaks this close (km) to a photo shown widen the frame to include them
NEAR_KM = 30.0
#: photos farther than this (degrees) from the median photo do not widen the frame
OUTLIER_DEG = 2.0
#: the frame around a single photo: at least this many degrees of latitude
MIN_SPAN_DEG = 0.2
#: margin around what is framed, as a share of its span
PAD = 0.08
#: peak name font size and the share of it an average character takes (generous for a sans-serif face)
NAME_FONT_PX = 11
CHAR_EM = 0.62
MARKER_PX = 12
#: a metre of elevation counts as much as this many metres less of distance to the photos
NEAR_M_PER_KM = 40.0
#: positions of a name around its ▲, in the order tried
POSITIONS = (
    "top center",
    "bottom center",
    "middle right",
    "middle left",
    "top right",
    "top left",
    "bottom right",
    "bottom left",
)
DEFAULT_CENTRE = GeoPoint(27.93, 86.8)


@dataclass(frozen=True)
class PeakMark:
    """A catalog peak that may be drawn: where, its name, its height, and how far the nearest photo is."""

    point: GeoPoint
    name: str
    elev_m: int | None = None
    near_km: float = math.inf

    @property
    def hover(self) -> str:
        return self.name if self.elev_m is None else f"{self.name} · {self.elev_m:,} m".replace(",", " ")


@dataclass(frozen=True)
class Box:
    """A rectangle in plot pixels, y downwards."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.bottom <= other.top
            or other.bottom <= self.top
        )

    def inside(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.top >= 0 and self.right <= width and self.bottom <= height


@dataclass(frozen=True)
class Placed:
    """A peak drawn on the map; ``position`` says where its name is ("top center": above the ▲), None when the
    name is hover-only; ``box`` is where the name goes, in plot pixels."""

    mark: PeakMark
    position: str | None
    box: Box | None = None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _core(points: Sequence[GeoPoint]) -> list[GeoPoint]:
    """Where most photos are: a stray photo from another continent does not shrink the trek to a dot."""
    mid_lat, mid_lon = _median([p.lat for p in points]), _median([p.lon for p in points])
    near = [p for p in points if abs(p.lat - mid_lat) <= OUTLIER_DEG and abs(p.lon - mid_lon) <= OUTLIER_DEG]
    return near if len(near) * 2 > len(points) else list(points)


def marks_near(
    peaks: Iterable[tuple[GeoPoint, str, int | None]], photos: Sequence[GeoPoint]
) -> list[PeakMark]:
    """Every peak with its distance to the nearest photo shown."""
    listed = list(peaks)
    distances = nearest_km([point for point, _, _ in listed], photos)
    return [
        PeakMark(point, name, elev, km) for (point, name, elev), km in zip(listed, distances, strict=True)
    ]


def fit_shape(box: BBox, width_px: float = MAP_WIDTH_PX, height_px: float = PLOT_HEIGHT_PX) -> BBox:
    """``box`` widened (never narrowed) about its centre to the panel's shape, a degree of longitude being
    cos(latitude) of a degree of latitude on screen."""
    mid_lat = (box.top + box.bottom) / 2
    squeeze = max(0.05, math.cos(math.radians(mid_lat)))
    lat_span, lon_span = box.top - box.bottom, box.right - box.left
    want = width_px / height_px  # screen width : height
    if lon_span * squeeze / max(lat_span, 1e-9) < want:
        lon_span = want * lat_span / squeeze
    else:
        lat_span = lon_span * squeeze / want
    mid_lon = (box.left + box.right) / 2
    return BBox(
        mid_lat + lat_span / 2, mid_lon - lon_span / 2, mid_lat - lat_span / 2, mid_lon + lon_span / 2
    )


def frame(photos: Sequence[GeoPoint], peaks: Sequence[PeakMark] = (), box: BBox | None = None) -> BBox:
    """The map's frame: the photos shown, the peaks within ``NEAR_KM`` of them and the area box, with a margin
    and the panel's shape; around the Khumbu when nothing has a position."""
    points = _core(photos) if photos else []
    points += [m.point for m in peaks if m.near_km <= NEAR_KM]
    if box is not None:
        points += [GeoPoint(box.top, box.left), GeoPoint(box.bottom, box.right)]
    if not points:
        c = DEFAULT_CENTRE
        points = [GeoPoint(c.lat - 0.3, c.lon - 0.3), GeoPoint(c.lat + 0.3, c.lon + 0.3)]
    south, north = min(p.lat for p in points), max(p.lat for p in points)
    west, east = min(p.lon for p in points), max(p.lon for p in points)
    lat_pad = max((north - south) * PAD, (MIN_SPAN_DEG - (north - south)) / 2)
    lon_pad = max((east - west) * PAD, 0.0)
    shaped = fit_shape(BBox(north + lat_pad, west - lon_pad, south - lat_pad, east + lon_pad))
    return BBox(
        min(90.0, shaped.top), max(-180.0, shaped.left), max(-90.0, shaped.bottom), min(180.0, shaped.right)
    )


def to_pixels(point: GeoPoint, extent: BBox, width_px: float, height_px: float) -> tuple[float, float]:
    x = (point.lon - extent.left) / (extent.right - extent.left) * width_px
    y = (extent.top - point.lat) / (extent.top - extent.bottom) * height_px
    return x, y


def priority(mark: PeakMark) -> float:
    """High peaks near the photos first."""
    near = mark.near_km if math.isfinite(mark.near_km) else 1e4
    return (mark.elev_m or 0) - NEAR_M_PER_KM * near


def text_box(x: float, y: float, name: str, position: str, font_px: float = NAME_FONT_PX) -> Box:
    """Where ``name`` goes at ``position`` beside a marker at (x, y), with a pixel of air around it."""
    width = len(name) * font_px * CHAR_EM + 2
    height = font_px * 1.3 + 2
    gap = MARKER_PX / 2 + 1
    vertical, horizontal = position.split()
    if horizontal == "center":
        left = x - width / 2
    elif horizontal == "right":
        left = x + (gap if vertical == "middle" else gap * 0.5)
    else:
        left = x - width - (gap if vertical == "middle" else gap * 0.5)
    if vertical == "top":
        top = y - gap - height
    elif vertical == "bottom":
        top = y + gap
    else:
        top = y - height / 2
    return Box(left, top, left + width, top + height)


def dot_box(x: float, y: float, diameter: float) -> Box:
    r = diameter / 2
    return Box(x - r, y - r, x + r, y + r)


def place_names(
    marks: Sequence[PeakMark],
    extent: BBox,
    dots: Sequence[tuple[GeoPoint, float]] = (),
    width_px: float = MAP_WIDTH_PX,
    height_px: float = PLOT_HEIGHT_PX,
) -> list[Placed]:
    """The peaks inside ``extent``, most important first, each with the first position where its name overlaps
    no name placed before, no peak marker, no photo dot (``dots``: point and diameter in pixels) and stays
    inside the plot; None (hover only) where no position fits."""
    inside = sorted((m for m in marks if extent.contains(m.point)), key=priority, reverse=True)
    at = {id(m): to_pixels(m.point, extent, width_px, height_px) for m in inside}
    blocked = [dot_box(*at[id(m)], MARKER_PX) for m in inside]
    blocked += [dot_box(*to_pixels(p, extent, width_px, height_px), size) for p, size in dots]
    placed: list[Placed] = []
    for mark in inside:
        x, y = at[id(mark)]
        chosen: Placed = Placed(mark, None)
        for position in POSITIONS:
            box = text_box(x, y, mark.name, position)
            if box.inside(width_px, height_px) and not any(box.overlaps(b) for b in blocked):
                chosen = Placed(mark, position, box)
                blocked.append(box)
                break
        placed.append(chosen)
    return placed


def presets_with_photos(
    presets: Mapping[str, BBox | None], photos: Sequence[GeoPoint]
) -> dict[str, BBox | None]:
    """The presets that hold at least one photo (and "anywhere", the one without a box)."""
    return {name: box for name, box in presets.items() if box is None or any(box.contains(p) for p in photos)}
