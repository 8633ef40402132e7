"""The album map: photos (clustered), search results, catalog peaks and the area filter's box, in plotly.

Why plotly (``st.plotly_chart`` with ``on_select="rerun"``): plotly.js ships inside Streamlit, so the map draws
offline; its box selection hands the drawn rectangle back to Python as coordinates (a map trace only hands back
the points inside, and pydeck cannot draw a box at all); text and triangle markers are SVG (deck.gl's text layer
lacked the "▲" glyph). The map is a lon/lat plane with the aspect of the latitude; OpenStreetMap tiles are laid
under it as images: the browser draws them when it is online and shows a plain background when it is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from peaklens.library import parse_bbox
from peaklens.records import BBox, GeoPoint
from peaklens.ui import map_layout as layout

TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
MAX_TILES = 16
#: grid cells across the map within which photos are drawn as one counted dot
CLUSTER_CELLS = 28
PHOTO_COLOUR = "#1e9e3c"
RESULT_COLOUR = "#1f5fd1"
PEAK_COLOUR = "#c62828"
BOX_COLOUR = "#1f5fd1"


@dataclass(frozen=True)
class Cluster:
    lat: float
    lon: float
    count: int
    label: str


def union(a: BBox, b: BBox) -> BBox:
    return BBox(max(a.top, b.top), min(a.left, b.left), min(a.bottom, b.bottom), max(a.right, b.right))


def clusters(
    points: Sequence[tuple[GeoPoint, str]], extent: BBox, cells: int = CLUSTER_CELLS
) -> list[Cluster]:
    """Points falling in one grid cell of the map become one dot with a count (dense treks stay readable)."""
    size = max(extent.right - extent.left, extent.top - extent.bottom, 1e-6) / cells
    groups: dict[tuple[int, int], list[tuple[GeoPoint, str]]] = {}
    for point, label in points:
        cell = (math.floor((point.lon - extent.left) / size), math.floor((point.lat - extent.bottom) / size))
        groups.setdefault(cell, []).append((point, label))
    found = []
    for members in groups.values():
        lat = sum(p.lat for p, _ in members) / len(members)
        lon = sum(p.lon for p, _ in members) / len(members)
        label = members[0][1] if len(members) == 1 else f"{len(members)} photos"
        found.append(Cluster(lat, lon, len(members), label))
    return sorted(found, key=lambda c: (c.lat, c.lon))


def _tile_xy(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    n = 2**zoom
    lat_r = math.radians(max(-85.0, min(85.0, lat)))
    return (lon + 180.0) / 360.0 * n, (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n


def _tile_lat(y: int, zoom: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**zoom))))


def tile_images(extent: BBox, max_tiles: int = MAX_TILES) -> list[dict[str, Any]]:
    """OpenStreetMap tiles covering ``extent`` as plotly layout images (stretched into their lon/lat box)."""
    for zoom in range(14, 3, -1):
        x0, y0 = _tile_xy(extent.top, extent.left, zoom)
        x1, y1 = _tile_xy(extent.bottom, extent.right, zoom)
        xs, ys = range(int(x0), int(x1) + 1), range(int(y0), int(y1) + 1)
        if len(xs) * len(ys) <= max_tiles:
            break
    images = []
    for x in xs:
        for y in ys:
            west = x / 2**zoom * 360.0 - 180.0
            east = (x + 1) / 2**zoom * 360.0 - 180.0
            north, south = _tile_lat(y, zoom), _tile_lat(y + 1, zoom)
            images.append(
                {
                    "source": TILE_URL.format(z=zoom, x=x, y=y),
                    "xref": "x",
                    "yref": "y",
                    "x": west,
                    "y": north,
                    "sizex": east - west,
                    "sizey": north - south,
                    "sizing": "stretch",
                    "xanchor": "left",
                    "yanchor": "top",
                    "layer": "below",
                    "opacity": 0.85,
                }
            )
    return images


def cluster_size(count: int) -> float:
    """A cluster dot's diameter in pixels: bigger for more photos."""
    return 10 + 6 * math.log2(count)


def _cluster_trace(name: str, groups: list[Cluster], colour: str) -> go.Scatter:
    return go.Scatter(
        name=name,
        x=[c.lon for c in groups],
        y=[c.lat for c in groups],
        mode="markers+text",
        text=[str(c.count) if c.count > 1 else "" for c in groups],
        textfont={"color": "white", "size": 10},
        hovertext=[c.label for c in groups],
        hoverinfo="text",
        marker={
            "size": [cluster_size(c.count) for c in groups],
            "color": colour,
            "line": {"color": "white", "width": 1},
            "opacity": 0.9,
        },
    )


def build_figure(
    photos: Sequence[tuple[GeoPoint, str]],
    results: Sequence[tuple[GeoPoint, str]],
    peaks: Sequence[layout.PeakMark],
    extent: BBox,
    box: BBox | None,
) -> go.Figure:
    """Album photos (green, clustered), the current results (blue), peaks (red ▲, names where they fit, every
    name and height on hover), the box; at the fixed size the names were placed for."""
    album_groups = clusters(photos, extent)
    result_groups = clusters(results, extent) if results else []
    dots = [(GeoPoint(c.lat, c.lon), cluster_size(c.count)) for c in album_groups + result_groups]
    placed = layout.place_names(peaks, extent, dots)
    figure = go.Figure()
    figure.add_trace(_cluster_trace("Album photos", album_groups, PHOTO_COLOUR))
    if results:
        figure.add_trace(_cluster_trace("Shown photos", result_groups, RESULT_COLOUR))
    figure.add_trace(
        go.Scatter(
            name="Peaks",
            x=[p.mark.point.lon for p in placed],
            y=[p.mark.point.lat for p in placed],
            mode="markers+text",
            text=[p.mark.name if p.position else "" for p in placed],
            textposition=[p.position or "top center" for p in placed],
            textfont={"color": PEAK_COLOUR, "size": layout.NAME_FONT_PX},
            hovertext=[p.mark.hover for p in placed],
            hoverinfo="text",
            marker={
                "symbol": "triangle-up",
                "size": layout.MARKER_PX,
                "color": PEAK_COLOUR,
                "line": {"color": "white", "width": 1},
            },
        )
    )
    if box is not None:
        figure.add_shape(
            type="rect",
            x0=box.left,
            x1=box.right,
            y0=box.bottom,
            y1=box.top,
            line={"color": BOX_COLOUR, "width": 2, "dash": "dash"},
            fillcolor="rgba(31, 95, 209, 0.08)",
        )
    mid_lat = (extent.top + extent.bottom) / 2
    figure.update_layout(
        images=tile_images(extent),
        dragmode="select",
        margin={"l": 0, "r": 0, "t": layout.LEGEND_BAND_PX, "b": 0},
        width=layout.MAP_WIDTH_PX,
        height=layout.MAP_HEIGHT_PX,
        autosize=False,
        plot_bgcolor="#eef1f4",
        showlegend=True,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0.0, "bgcolor": "rgba(0,0,0,0)"},
        newselection={"line": {"color": BOX_COLOUR, "width": 2}},
    )
    figure.update_xaxes(range=[extent.left, extent.right], visible=False, constrain="domain")
    figure.update_yaxes(
        range=[extent.bottom, extent.top],
        visible=False,
        scaleanchor="x",
        scaleratio=1 / max(0.05, math.cos(math.radians(mid_lat))),
        constrain="domain",
    )
    return figure


def box_from_selection(selection: Any) -> BBox | None:
    """The rectangle a user drew (plotly box selection) as a BBox, validated like a typed ``--bbox``."""
    boxes = list(getattr(selection, "box", None) or (selection or {}).get("box", []) or [])
    if not boxes:
        return None
    drawn = boxes[-1]
    xs, ys = drawn.get("x") or [], drawn.get("y") or []
    if len(xs) < 2 or len(ys) < 2:
        return None
    top, bottom = max(ys), min(ys)
    left, right = max(-180.0, min(xs)), min(180.0, max(xs))
    return parse_bbox(f"{min(90.0, top)},{left},{max(-90.0, bottom)},{right}")


CHART_CONFIG = {
    "displaylogo": False,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["lasso2d", "autoScale2d", "toImage"],
}


# --- the panel ------------------------------------------------------------------------------------------
MAP_KEY = "map"
MAP_EXTENT = "map::extent"
_APPLIED = "map::applied"


def _selected() -> None:
    """A box drawn on the map becomes the area filter (once per drawing)."""
    import streamlit as st

    from peaklens.ui.rail import AREA_BOX

    state = st.session_state.get(MAP_KEY)
    selection = getattr(state, "selection", None) or (state or {}).get("selection")
    box = box_from_selection(selection)
    if box is not None and box != st.session_state.get(_APPLIED):
        st.session_state[_APPLIED] = box
        st.session_state[AREA_BOX] = box


def _use_view() -> None:
    import streamlit as st

    from peaklens.ui.rail import AREA_BOX

    st.session_state[AREA_BOX] = st.session_state.get(MAP_EXTENT)


def map_panel(
    photos: Sequence[tuple[GeoPoint, str]],
    results: Sequence[tuple[GeoPoint, str]],
    framed: Sequence[GeoPoint],
    peaks: Sequence[tuple[GeoPoint, str, int | None]],
    box: BBox | None,
) -> None:
    """The map of the album framed on ``framed`` (the photos being shown) and the peaks near them."""
    import streamlit as st

    marks = layout.marks_near(peaks, framed)
    extent = layout.frame(framed, marks, box)
    st.session_state[MAP_EXTENT] = extent
    st.caption(
        "Drag on the map to draw a box: only photos inside it are searched. "
        "Green: album photos (numbers are clusters), blue: photos shown below, red ▲: peaks "
        "(hover for every name and height)."
    )
    st.plotly_chart(
        build_figure(photos, results, marks, extent, box),
        key=MAP_KEY,
        on_select=_selected,
        selection_mode=("box",),
        config=CHART_CONFIG,
        width="content",
    )
    st.button("Use this map area", key="map::use_view", on_click=_use_view)
