"""The album map panel: photos (clustered), the photos shown, catalog peaks and the area filter's box.

The map is one SVG (``peaklens.ui.map_svg``) framed and labelled by ``peaklens.ui.map_layout``, sent as HTML so
it is painted with the rest of the page. A small ``st.components.v2`` component (no visible element of its own)
lets the user drag a box on it: the box comes back as coordinates and becomes the area filter, and the map then
frames the photos inside it (drawing a box is how one looks closer). Its script listens on the document, so it
serves whichever map SVG the page shows now. OpenStreetMap tiles lie under the map as images: the browser draws
them when it is online and shows a plain background when it is not.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from peaklens.errors import BadInput
from peaklens.library import parse_bbox
from peaklens.records import BBox, GeoPoint
from peaklens.ui import map_layout as layout
from peaklens.ui import map_svg

#: grid cells across the map within which photos are drawn as one counted dot
CLUSTER_CELLS = 28
MAP_KEY = "map"

#: drag on a map's plot: a rectangle follows the mouse; on release its corners go back as [top, left, bottom,
#: right] in degrees (the SVG carries its extent and plot area in data attributes)
_JS = """
export default function(component) {
  const { setTriggerValue } = component;
  window.__peaklensMapTrigger = setTriggerValue;  // the newest instance answers
  if (window.__peaklensMapBound) return;
  window.__peaklensMapBound = true;
  const ns = 'http://www.w3.org/2000/svg';
  let drag = null;
  const at = (svg, e) => {
    const r = svg.getBoundingClientRect();
    const [px, py, pw, ph] = svg.dataset.plot.split(',').map(Number);
    const sx = svg.viewBox.baseVal.width / r.width, sy = svg.viewBox.baseVal.height / r.height;
    return [Math.min(px + pw, Math.max(px, (e.clientX - r.left) * sx)),
            Math.min(py + ph, Math.max(py, (e.clientY - r.top) * sy))];
  };
  document.addEventListener('pointerdown', (e) => {
    const svg = e.target.closest && e.target.closest('svg.peaklens-map');
    if (!svg) return;
    const [, py] = svg.dataset.plot.split(',').map(Number);
    const r = svg.getBoundingClientRect();
    if ((e.clientY - r.top) * svg.viewBox.baseVal.height / r.height < py) return;  // the legend
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('class', 'drawing');
    rect.setAttribute('fill', 'rgba(31, 95, 209, 0.08)');
    rect.setAttribute('stroke', '#1f5fd1');
    rect.setAttribute('stroke-width', '2');
    svg.appendChild(rect);
    drag = { svg, rect, start: at(svg, e) };
    e.preventDefault();
  });
  document.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const [x, y] = at(drag.svg, e), [x0, y0] = drag.start;
    drag.rect.setAttribute('x', Math.min(x, x0)); drag.rect.setAttribute('y', Math.min(y, y0));
    drag.rect.setAttribute('width', Math.abs(x - x0)); drag.rect.setAttribute('height', Math.abs(y - y0));
  });
  document.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const { svg, rect, start } = drag;
    drag = null;
    const [x, y] = at(svg, e);
    const [x0, x1] = [Math.min(x, start[0]), Math.max(x, start[0])];
    const [y0, y1] = [Math.min(y, start[1]), Math.max(y, start[1])];
    if (x1 - x0 < 4 || y1 - y0 < 4) { rect.remove(); return; }
    const [top, left, bottom, right] = svg.dataset.extent.split(',').map(Number);
    const [px, py, pw, ph] = svg.dataset.plot.split(',').map(Number);
    const lon = (v) => left + (v - px) / pw * (right - left);
    const lat = (v) => top - (v - py) / ph * (top - bottom);
    window.__peaklensMapTrigger('box', [lat(y0), lon(x0), lat(y1), lon(x1)]);
  });
}
"""
_CSS = """
svg.peaklens-map { cursor: crosshair; user-select: none; touch-action: none; display: block; }
svg.peaklens-map text { pointer-events: none; }
"""


def clusters(
    points: Sequence[tuple[GeoPoint, str]], extent: BBox, cells: int = CLUSTER_CELLS
) -> list[map_svg.Dot]:
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
        found.append(map_svg.Dot(GeoPoint(lat, lon), len(members), label))
    return sorted(found, key=lambda c: (c.point.lat, c.point.lon))


def map_svg_of(
    photos: Sequence[tuple[GeoPoint, str]],
    results: Sequence[tuple[GeoPoint, str]],
    marks: Sequence[layout.PeakMark],
    extent: BBox,
    box: BBox | None,
) -> str:
    """Album photos (green, clustered), the photos shown (blue), peaks (red ▲, names where they fit, every name
    and height on hover) and the area box, as SVG."""
    album_dots = clusters(photos, extent)
    shown_dots = clusters(results, extent) if results else []
    placed = layout.place_names(marks, extent, [(d.point, d.size) for d in album_dots + shown_dots])
    return map_svg.render(album_dots, shown_dots, placed, extent, box, map_svg.tiles(extent))


def box_from_drawn(corners: Any) -> BBox | None:
    """The rectangle a user drew ([top, left, bottom, right] in degrees) as a BBox, validated like ``--bbox``."""
    if not isinstance(corners, (list, tuple)) or len(corners) != 4:
        return None
    try:
        top, left, bottom, right = (float(v) for v in corners)
        return parse_bbox(f"{min(90.0, top)},{max(-180.0, left)},{max(-90.0, bottom)},{min(180.0, right)}")
    except (TypeError, ValueError, BadInput):
        return None


@functools.cache
def _component() -> Any:
    """The component, registered once per server process."""
    import streamlit as st

    return st.components.v2.component("peaklens.album_map", js=_JS, css=_CSS, isolate_styles=False)


def map_panel(
    photos: Sequence[tuple[GeoPoint, str]],
    results: Sequence[tuple[GeoPoint, str]],
    framed: Sequence[GeoPoint],
    peaks: Sequence[tuple[GeoPoint, str, int | None]],
    box: BBox | None,
) -> None:
    """The map of the album framed on ``framed`` (the photos being shown) and the peaks near them; a box drawn
    on it becomes the area filter (the page runs again with it)."""
    import streamlit as st

    from peaklens.ui.rail import AREA_BOX

    marks = layout.marks_near(peaks, framed)
    extent = layout.frame(framed, marks, box)
    st.caption(
        "Drag on the map to draw a box: only photos inside it are searched, and the map closes in on them. "
        "Green: album photos (numbers are clusters), blue: photos shown below, red ▲: peaks "
        "(hover for every name and height)."
    )
    # as HTML, drawn with the page (a component's own element came 1-3 s later); peaklens wrote every byte of it
    # and escaped every name and path in it
    st.markdown(
        map_svg_of(photos, results, marks, extent, box), unsafe_allow_html=True
    )  # drawn with the page, before any script runs
    result = _component()(key=MAP_KEY, on_box_change=lambda: None, width="content", height=1)
    drawn = box_from_drawn(getattr(result, "box", None))
    if drawn is not None and drawn != st.session_state.get(AREA_BOX):
        st.session_state[AREA_BOX] = drawn
        st.rerun()
