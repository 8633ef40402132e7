"""The map's SVG as the browser receives it: names where the layout placed them, every peak and photo dot with
its hover text, the area box, the box a user draws read back as a validated BBox."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from peaklens.records import BBox, GeoPoint
from peaklens.ui import map_layout as layout
from peaklens.ui.map import box_from_drawn, clusters, map_svg_of

SVG = "{http://www.w3.org/2000/svg}"
KHUMBU = BBox(28.1, 86.55, 27.65, 87.1)


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_the_svg_draws_every_peak_with_its_hover_and_the_names_that_fit() -> None:
    photos = [(GeoPoint(27.80 + i * 0.01, 86.71), f"p{i}.jpg") for i in range(5)]
    peaks = [(GeoPoint(27.86, 86.86), "Ama Dablam", 6812), (GeoPoint(27.988, 86.925), "Mount Everest", 8849)]
    marks = layout.marks_near(peaks, [p for p, _ in photos])
    extent = layout.frame([p for p, _ in photos], marks)
    root = parsed(map_svg_of(photos, [], marks, extent, None))
    assert root.get("width") == str(layout.MAP_WIDTH_PX) and root.get("height") == str(layout.MAP_HEIGHT_PX)
    titles = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "peak" for t in g.iter(f"{SVG}title")]
    assert sorted(titles) == ["Ama Dablam · 6 812 m", "Mount Everest · 8 849 m"]
    names = [t for t in root.iter(f"{SVG}text") if t.get("class") == "peak-name"]
    assert sorted("".join(t.itertext()).split(" · ")[0] for t in names) == ["Ama Dablam", "Mount Everest"]
    dots = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "photo-dot"]
    assert len(dots) == len(clusters(photos, extent))
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("class") == "area-box"]


def test_the_area_box_is_drawn_where_it_is() -> None:
    box = BBox(27.9, 86.7, 27.8, 86.8)
    extent = layout.frame([GeoPoint(27.85, 86.75)], box=box)
    root = parsed(map_svg_of([(GeoPoint(27.85, 86.75), "a.jpg")], [], [], extent, box))
    (rect,) = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "area-box"]
    x0, y0 = layout.to_pixels(GeoPoint(box.top, box.left), extent, layout.MAP_WIDTH_PX, layout.PLOT_HEIGHT_PX)
    assert float(rect.get("x") or 0) == pytest.approx(x0, abs=0.1)
    assert float(rect.get("y") or 0) == pytest.approx(y0 + layout.LEGEND_BAND_PX, abs=0.1)


def test_a_drawn_box_is_read_back_validated() -> None:
    assert box_from_drawn([27.9, 86.7, 27.8, 86.8]) == BBox(27.9, 86.7, 27.8, 86.8)
    assert box_from_drawn([95.0, -190.0, 27.8, 86.8]) == BBox(
        90.0, -180.0, 27.8, 86.8
    )  # clamped to the globe
    assert box_from_drawn(None) is None
    assert box_from_drawn([1, 2, 3]) is None
    assert box_from_drawn(["a", 2, 3, 4]) is None
    assert box_from_drawn([27.8, 86.7, 27.9, 86.8]) is None  # top below bottom: not a box
