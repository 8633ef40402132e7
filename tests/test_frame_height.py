"""Where a label stands vertically (y), the frame's edges and wide angles, and photos beyond the catalog's reach.

Expected values are worked out here with plain trigonometry (a rectilinear camera: x = f·tan(α) across,
y = f·tan(e − pitch)/cos(α) up for a level-ish camera, exact rotation where pitch matters) or from the distances
of the real catalog, never from peaklens.frame itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from peaklens.catalog import load_catalog
from peaklens.enrich import PeakPredictor
from peaklens.frame import frame_view, pitch_for, project
from peaklens.geo import Camera
from peaklens.records import GeoPoint, PeakDoc

ORIGIN = GeoPoint(0.0, 0.0)
KM_PER_DEG = 6371.0088 * math.pi / 180


def _peak_at(bearing_deg: float, km: float, elev_m: int, peak_id: str = "p") -> PeakDoc:
    """A peak ``km`` from ORIGIN along ``bearing_deg`` (flat-earth offsets: exact enough within 50 km)."""
    lat = km * math.cos(math.radians(bearing_deg)) / KM_PER_DEG
    lon = km * math.sin(math.radians(bearing_deg)) / KM_PER_DEG
    return PeakDoc(peak_id, [peak_id.title()], np.zeros(2, dtype=np.float32), GeoPoint(lat, lon), elev_m)


def test_a_level_camera_puts_the_label_at_the_summit_height() -> None:
    """Pitch 0, summit 1 km above the camera 20 km away, straight ahead: y = 0.5 − tan(e)/(2·tan(hfov/2)·aspect),
    e from the effective-radius earth (R / (1 − 0.13))."""
    peak = _peak_at(0.0, 20.0, 2000)
    view = frame_view(Camera(ORIGIN, 1000.0, 0.0, 60.0, pitch_deg=0.0, roll_deg=0.0, aspect=0.75), [peak])
    placed = view.by_id("p")
    assert placed is not None and placed.y is not None
    radius = 6371008.8 / (1 - 0.13)
    central = 20000.0 / radius
    e = math.atan2((radius + 2000) * math.cos(central) - (radius + 1000), (radius + 2000) * math.sin(central))
    assert placed.y == pytest.approx(0.5 - math.tan(e) / (2 * math.tan(math.radians(30)) * 0.75), abs=1e-4)
    assert placed.x == pytest.approx(0.5, abs=1e-4)
    assert view.to_json()["label_height"] == "projected"


def test_pitch_moves_the_label_down_and_a_click_recovers_the_pitch() -> None:
    """Pitched up 4°, a summit 2.5° up and 10° right: the exact rotation, worked by hand."""
    x, y = project(10.0, 2.5, 50.0, 0.75, 4.0, 0.0)
    a, e, p = math.radians(10), math.radians(2.5), math.radians(4)
    cam_y = math.sin(e) * math.cos(p) - math.cos(e) * math.cos(a) * math.sin(p)
    cam_z = math.sin(e) * math.sin(p) + math.cos(e) * math.cos(a) * math.cos(p)
    cam_x = math.cos(e) * math.sin(a)
    half = math.tan(math.radians(25))
    assert x == pytest.approx(0.5 + cam_x / cam_z / (2 * half), abs=1e-9)
    assert y == pytest.approx(0.5 - cam_y / cam_z / (2 * half * 0.75), abs=1e-9)
    assert y is not None and y > 0.5  # pitched above the summit: its label is below the centre
    assert pitch_for(10.0, 2.5, 50.0, 0.75, y) == pytest.approx(4.0, abs=1e-9)


def test_roll_tilts_the_labels_across_the_frame() -> None:
    """The camera rolled 3° clockwise: the horizon turns the other way in the picture, its right side rises —
    a point on the horizon 20° right sits higher than one 20° left, by hand."""
    _, right = project(20.0, 0.0, 60.0, 0.75, 0.0, 3.0)
    _, left = project(-20.0, 0.0, 60.0, 0.75, 0.0, 3.0)
    assert right is not None and left is not None
    half = math.tan(math.radians(30))
    u = math.tan(math.radians(20))  # horizon point: camera x/z before the roll
    expected = 0.5 - u * math.sin(math.radians(3)) / (2 * half * 0.75)
    assert right == pytest.approx(expected, abs=1e-9)
    assert left == pytest.approx(1.0 - expected, abs=1e-9)


def test_without_a_registered_pitch_the_height_is_unknown() -> None:
    view = frame_view(Camera(ORIGIN, 1000.0, 0.0, 60.0, aspect=0.75), [_peak_at(0.0, 20.0, 2000)])
    placed = view.by_id("p")
    assert placed is not None and placed.y is None and placed.x == pytest.approx(0.5, abs=1e-4)
    assert view.to_json()["label_height"] == "unknown"


def test_a_summit_above_the_top_of_the_frame_is_not_in_it() -> None:
    """Straight ahead but 20° up while the camera looks level with a 30° vertical field: y < 0."""
    peak = _peak_at(0.0, 5.0, 1000 + round(5000 * math.tan(math.radians(20))))
    view = frame_view(Camera(ORIGIN, 1000.0, 0.0, 40.0, pitch_deg=0.0, roll_deg=0.0, aspect=0.75), [peak])
    placed = view.by_id("p")
    assert placed is not None and placed.y is not None and placed.y < 0 and not placed.in_frame


@pytest.mark.parametrize(("heading", "inside"), [(330.001, True), (330.0, False), (329.999, False)])
def test_a_peak_exactly_on_the_frame_edge_is_not_in_frame(heading: float, inside: bool) -> None:
    """hfov 60°, a peak due north (bearing exactly 0) and the camera facing 330°: the peak is exactly on the
    right edge, 30° off axis, x = 1 (strict: on the edge is outside); a thousandth of a degree in, it is in."""
    peak = PeakDoc("p", ["P"], np.zeros(2, dtype=np.float32), GeoPoint(0.18, 0.0), 3000)
    view = frame_view(Camera(ORIGIN, 1000.0, heading, 60.0), [peak])
    placed = view.by_id("p")
    assert placed is not None and placed.x is not None
    off = (0.0 - heading + 180.0) % 360.0 - 180.0
    assert placed.off_axis_deg == pytest.approx(off, abs=1e-9)
    assert placed.x == pytest.approx(
        0.5 + math.tan(math.radians(off)) / (2 * math.tan(math.radians(30))), abs=1e-9
    )
    assert placed.in_frame is inside


def test_a_field_of_view_over_100_degrees() -> None:
    """hfov 104°: a peak 45° right is at x = 0.5 + tan 45° / (2·tan 52°), still inside."""
    peak = _peak_at(45.0, 20.0, 3000)
    view = frame_view(Camera(ORIGIN, 1000.0, 0.0, 104.0), [peak])
    placed = view.by_id("p")
    assert placed is not None and placed.off_axis_deg is not None
    off = placed.off_axis_deg
    assert off == pytest.approx(45.0, abs=0.01)
    assert placed.x == pytest.approx(
        0.5 + math.tan(math.radians(off)) / (2 * math.tan(math.radians(52))), abs=1e-9
    )
    assert placed.in_frame


def test_a_photo_beyond_the_catalogs_reach_has_no_frame_and_no_distances() -> None:
    """Issue 18 item 4: a photo taken in Denmark (56°N 10°E) is ~6,600 km from every Khumbu peak — beyond the
    prior's 250 km range: no peak placed, none in frame, no distance badge (no peak_views)."""
    catalog = [
        PeakDoc(p.id, p.names, np.ones(4, dtype=np.float32) / 2, p.latlon, p.elev_m)
        for p in load_catalog()[0]
    ]
    denmark = Camera(GeoPoint(56.0, 10.0), 20.0, 120.0, 60.0)
    view = frame_view(denmark, catalog)
    assert view.beyond_reach and view.peaks == [] and view.in_frame() == []
    predictor = PeakPredictor(catalog, 3, geo_weight=0.5)
    prediction = predictor.predict(np.ones((1, 4), dtype=np.float32) / 2, [denmark])[0]
    assert prediction.in_frame == [] and not prediction.extra.get("peak_views")
    # a camera within reach of the same catalog is placed as before
    namche = Camera(GeoPoint(27.8, 86.71), 3500.0, 60.0, 60.0)
    near = frame_view(namche, catalog)
    assert not near.beyond_reach and len(near.peaks) == sum(p.latlon is not None for p in catalog)
