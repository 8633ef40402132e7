"""The album map's layout on the real catalog and the real trek's GPS: what is framed, where names go, which
area presets are offered. Photo positions come from exiftool, distances from this file's own haversine."""

from __future__ import annotations

import itertools
import json
import math
import subprocess

import pytest
import yaml

from peaklens.records import BBox, GeoPoint
from peaklens.ui import map_layout as layout
from peaklens.ui.rail import GEO_PRESETS
from tests.conftest import REPO, TREK_JPEGS

#: ColorfulCups.jpg of the sample album: the demo's one photo with GPS, in Denmark
DENMARK = GeoPoint(56.16, 10.21)


def km(a: GeoPoint, b: GeoPoint) -> float:
    la1, la2 = math.radians(a.lat), math.radians(b.lat)
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def catalog() -> list[tuple[GeoPoint, str, int | None]]:
    peaks = yaml.safe_load((REPO / "peaklens" / "data" / "peaks.yaml").read_text(encoding="utf-8"))
    return [(GeoPoint(p["lat"], p["lon"]), p["names"][0], p.get("elev_m")) for p in peaks]


@pytest.fixture(scope="module")
def trek() -> list[GeoPoint]:
    tags = json.loads(
        subprocess.run(
            ["exiftool", "-n", "-j", "-GPSLatitude", "-GPSLongitude", *map(str, TREK_JPEGS)],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    return [GeoPoint(t["GPSLatitude"], t["GPSLongitude"]) for t in tags if "GPSLatitude" in t]


def screen_aspect(box: BBox) -> float:
    mid = math.radians((box.top + box.bottom) / 2)
    return (box.right - box.left) * math.cos(mid) / (box.top - box.bottom)


def test_the_trek_is_framed_with_the_peaks_near_it_and_no_far_one(
    trek: list[GeoPoint], catalog: list[tuple[GeoPoint, str, int | None]]
) -> None:
    marks = layout.marks_near(catalog, trek)
    box = layout.frame(trek, marks)
    assert all(box.contains(p) for p in trek)
    near = [name for point, name, _ in catalog if min(km(point, p) for p in trek) <= layout.NEAR_KM]
    assert len(near) >= 10
    assert all(box.contains(point) for point, name, _ in catalog if name in near)
    assert screen_aspect(box) == pytest.approx(layout.MAP_WIDTH_PX / layout.PLOT_HEIGHT_PX, rel=1e-6)
    # the frame is the trek's size, not the catalog's world: under 1.5 degrees across
    assert box.right - box.left < 1.5


def test_a_photo_in_denmark_is_framed_alone_without_the_himalaya(
    catalog: list[tuple[GeoPoint, str, int | None]],
) -> None:
    marks = layout.marks_near(catalog, [DENMARK])
    box = layout.frame([DENMARK], marks)
    assert box.contains(DENMARK)
    assert not any(box.contains(point) for point, _, _ in catalog)
    assert box.top - box.bottom == pytest.approx(layout.MIN_SPAN_DEG * (1 + 2 * layout.PAD), rel=0.2)
    assert layout.place_names(marks, box) == []


def test_a_stray_photo_does_not_shrink_the_trek_to_a_dot(trek: list[GeoPoint]) -> None:
    box = layout.frame([*trek, DENMARK])
    assert all(box.contains(p) for p in trek) and not box.contains(DENMARK)


def test_the_area_box_is_always_inside_the_frame(trek: list[GeoPoint]) -> None:
    drawn = BBox(28.3, 86.3, 27.5, 86.6)
    box = layout.frame(trek, box=drawn)
    assert box.top >= drawn.top and box.left <= drawn.left and box.bottom <= drawn.bottom
    assert box.right >= drawn.right


def test_peak_names_on_the_trek_map_overlap_nothing_and_stay_inside(
    trek: list[GeoPoint], catalog: list[tuple[GeoPoint, str, int | None]]
) -> None:
    marks = layout.marks_near(catalog, trek)
    box = layout.frame(trek, marks)
    dots = [(p, 10.0) for p in trek]
    placed = layout.place_names(marks, box, dots)
    inside = [name for point, name, _ in catalog if box.contains(point)]
    assert sorted(p.mark.name for p in placed) == sorted(inside)  # every peak in the frame gets its ▲
    named = [p for p in placed if p.position is not None]
    assert len(named) >= 8
    boxes = [p.box for p in named]
    assert all(b is not None and b.inside(layout.MAP_WIDTH_PX, layout.PLOT_HEIGHT_PX) for b in boxes)
    for a, b in itertools.combinations(boxes, 2):
        assert a is not None and b is not None and not a.overlaps(b)
    for b in boxes:  # no name over a photo dot or a peak's ▲
        assert b is not None
        for point in [m.mark.point for m in placed] + trek:
            x, y = layout.to_pixels(point, box, layout.MAP_WIDTH_PX, layout.PLOT_HEIGHT_PX)
            assert not (b.left < x < b.right and b.top < y < b.bottom)
    assert "Mount Everest" in [p.mark.name for p in named]


def test_the_higher_nearer_peak_gets_the_name_where_two_compete() -> None:
    # a panel with room for one name only, left of two ▲ standing on the same spot
    width, height = 150, 40
    extent = layout.fit_shape(BBox(28.0, 86.0, 27.0, 87.0), width, height)
    spot = GeoPoint(
        (extent.top + extent.bottom) / 2, extent.left + (extent.right - extent.left) * 100 / width
    )
    low = layout.PeakMark(spot, "Low Far Peak", 6000, 20.0)
    high = layout.PeakMark(spot, "Tall Near Pk", 5500, 2.0)  # 500 m lower but 18 km nearer
    placed = {p.mark.name: p for p in layout.place_names([low, high], extent, (), width, height)}
    assert placed["Tall Near Pk"].position == "middle left"
    assert placed["Low Far Peak"].position is None  # left to the hover
    assert placed["Low Far Peak"].mark.hover == "Low Far Peak · 6 000 m"


@pytest.mark.parametrize(
    ("lat", "forbidden"),
    [(0.999, "top"), (0.001, "bottom")],  # a peak at the top edge is named below its ▲, at the bottom above
)
def test_a_name_at_the_edge_is_never_clipped(lat: float, forbidden: str) -> None:
    extent = layout.fit_shape(BBox(1.0, 0.0, 0.0, 1.0))
    extent = BBox(1.0, extent.left, 0.0, extent.right)
    mark = layout.PeakMark(GeoPoint(lat, 0.5), "Edge Peak", 6000, 1.0)
    (placed,) = layout.place_names([mark], extent)
    assert placed.position is not None and not placed.position.startswith(forbidden)
    assert placed.box is not None and placed.box.inside(layout.MAP_WIDTH_PX, layout.PLOT_HEIGHT_PX)
    corner = layout.PeakMark(GeoPoint(0.5, extent.right - 1e-6), "Right Edge Peak", 6000, 1.0)
    (at_right,) = layout.place_names([corner], extent)
    assert at_right.position is not None and "right" not in at_right.position


def test_area_presets_are_offered_only_where_the_album_has_photos(trek: list[GeoPoint]) -> None:
    assert list(layout.presets_with_photos(GEO_PRESETS, [DENMARK])) == ["Anywhere"]
    assert list(layout.presets_with_photos(GEO_PRESETS, [])) == ["Anywhere"]
    offered = layout.presets_with_photos(GEO_PRESETS, trek)
    expected = [
        name for name, box in GEO_PRESETS.items() if box is None or any(box.contains(p) for p in trek)
    ]
    assert list(offered) == expected and "Khumbu valley" in offered
