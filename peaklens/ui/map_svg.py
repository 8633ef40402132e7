"""The album map as one SVG drawn here: tiles, photo clusters, peaks with the names ``map_layout`` placed, the box.

Why not plotly: plotly.js is a 4.7 MB script the browser must fetch, compile and run before the map appears; on
a busy 2-core machine that came 5-8 s after the grid (docs/UI.md). An SVG of a few kilobytes arrives with the
page's first paint, puts every name exactly where ``map_layout`` placed it, and the browser shows each ``<title>``
(a peak's name and height, a cluster's photos) on hover. The box drawn with the mouse is read by a few lines of
script (``peaklens.ui.map``). Every text in it is escaped: it is sent as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from peaklens.records import BBox, GeoPoint
from peaklens.ui import map_layout as layout

TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
MAX_TILES = 16
PHOTO_COLOUR = "#1e9e3c"
RESULT_COLOUR = "#1f5fd1"
PEAK_COLOUR = "#c62828"
BOX_COLOUR = "#1f5fd1"
BACKGROUND = "#eef1f4"
FONT = "'Source Sans Pro', 'Source Sans 3', sans-serif"


@dataclass(frozen=True)
class Dot:
    """A cluster of photos drawn as one dot: where, how many, what its hover says, its diameter in pixels."""

    point: GeoPoint
    count: int
    label: str

    @property
    def size(self) -> float:
        return 10 + 6 * math.log2(self.count)


@dataclass(frozen=True)
class Tile:
    url: str
    box: BBox


def _tile_xy(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    n = 2**zoom
    lat_r = math.radians(max(-85.0, min(85.0, lat)))
    return (lon + 180.0) / 360.0 * n, (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n


def _tile_lat(y: int, zoom: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**zoom))))


def tiles(extent: BBox, max_tiles: int = MAX_TILES) -> list[Tile]:
    """The OpenStreetMap tiles covering ``extent`` at the finest zoom that needs at most ``max_tiles``."""
    for zoom in range(14, 3, -1):
        x0, y0 = _tile_xy(extent.top, extent.left, zoom)
        x1, y1 = _tile_xy(extent.bottom, extent.right, zoom)
        xs, ys = range(int(x0), int(x1) + 1), range(int(y0), int(y1) + 1)
        if len(xs) * len(ys) <= max_tiles:
            break
    return [
        Tile(
            TILE_URL.format(z=zoom, x=x, y=y),
            BBox(
                _tile_lat(y, zoom),
                x / 2**zoom * 360.0 - 180.0,
                _tile_lat(y + 1, zoom),
                (x + 1) / 2**zoom * 360.0 - 180.0,
            ),
        )
        for x in xs
        for y in ys
    ]


def _px(point: GeoPoint, extent: BBox) -> tuple[float, float]:
    x, y = layout.to_pixels(point, extent, layout.MAP_WIDTH_PX, layout.PLOT_HEIGHT_PX)
    return x, y + layout.LEGEND_BAND_PX


def _dots(dots: Sequence[Dot], colour: str, kind: str, extent: BBox) -> list[str]:
    parts = []
    for dot in dots:
        x, y = _px(dot.point, extent)
        count = (
            f'<text x="{x:.1f}" y="{y + 3.5:.1f}" text-anchor="middle" font-size="10" fill="white">{dot.count}</text>'
            if dot.count > 1
            else ""
        )
        parts.append(
            f'<g class="{kind}"><title>{escape(dot.label)}</title><circle class="photo-dot" cx="{x:.1f}" '
            f'cy="{y:.1f}" r="{dot.size / 2:.1f}" fill="{colour}" fill-opacity="0.9" stroke="white"/>{count}</g>'
        )
    return parts


def _legend() -> str:
    items = [("Album photos", PHOTO_COLOUR, "circle"), ("Shown photos", RESULT_COLOUR, "circle"),
             ("Peaks", PEAK_COLOUR, "triangle")]  # fmt: skip
    parts, x = [], 6.0
    for name, colour, shape in items:
        mark = (
            f'<circle cx="{x + 6}" cy="13" r="6" fill="{colour}"/>'
            if shape == "circle"
            else f'<polygon points="{x},{18} {x + 12},{18} {x + 6},{7}" fill="{colour}"/>'
        )
        parts.append(f'{mark}<text x="{x + 17}" y="17" font-size="12" fill="#31333f">{name}</text>')
        x += 17 + len(name) * 7 + 18
    return '<g class="legend">' + "".join(parts) + "</g>"


def render(
    photos: Sequence[Dot],
    results: Sequence[Dot],
    placed: Sequence[layout.Placed],
    extent: BBox,
    box: BBox | None,
    tile_layer: Sequence[Tile] = (),
) -> str:
    """The map as an SVG document of ``layout.MAP_WIDTH_PX`` × ``layout.MAP_HEIGHT_PX`` pixels."""
    width, height, band = layout.MAP_WIDTH_PX, layout.MAP_HEIGHT_PX, layout.LEGEND_BAND_PX
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="peaklens-map" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" data-extent="{extent.top},{extent.left},'
        f'{extent.bottom},{extent.right}" data-plot="0,{band},{width},{height - band}">',
        f'<defs><clipPath id="plot-clip"><rect x="0" y="{band}" width="{width}" height="{height - band}"/>'
        "</clipPath></defs>",
        _legend(),
        f'<rect class="plot" x="0" y="{band}" width="{width}" height="{height - band}" fill="{BACKGROUND}"/>',
        '<g clip-path="url(#plot-clip)">',
    ]
    for tile in tile_layer:
        x0, y0 = _px(GeoPoint(tile.box.top, tile.box.left), extent)
        x1, y1 = _px(GeoPoint(tile.box.bottom, tile.box.right), extent)
        parts.append(
            f'<image href="{escape(tile.url)}" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
            f'height="{y1 - y0:.1f}" preserveAspectRatio="none" opacity="0.85"/>'
        )
    if box is not None:
        x0, y0 = _px(GeoPoint(box.top, box.left), extent)
        x1, y1 = _px(GeoPoint(box.bottom, box.right), extent)
        parts.append(
            f'<rect class="area-box" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
            f'fill="{BOX_COLOUR}" fill-opacity="0.08" stroke="{BOX_COLOUR}" stroke-width="2" '
            'stroke-dasharray="6 4"/>'
        )
    parts += _dots(photos, PHOTO_COLOUR, "album", extent)
    parts += _dots(results, RESULT_COLOUR, "shown", extent)
    half = layout.MARKER_PX / 2
    for peak in placed:
        x, y = _px(peak.mark.point, extent)
        parts.append(
            f'<g class="peak"><title>{escape(peak.mark.hover)}</title><polygon points="{x - half:.1f},'
            f'{y + half * 0.8:.1f} {x + half:.1f},{y + half * 0.8:.1f} {x:.1f},{y - half:.1f}" '
            f'fill="{PEAK_COLOUR}" stroke="white"/></g>'
        )
    for peak in placed:
        if peak.box is None:
            continue
        left, baseline = peak.box.left + 1, peak.box.bottom - 1 - layout.NAME_FONT_PX * 0.3 + band
        parts.append(
            f'<text class="peak-name" x="{left:.1f}" y="{baseline:.1f}" font-size="{layout.NAME_FONT_PX}" '
            f'fill="{PEAK_COLOUR}"><title>{escape(peak.mark.hover)}</title>{escape(peak.mark.name)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
