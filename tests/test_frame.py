"""Frame geometry: where each peak stands across the displayed photo, by hand-computed rectilinear geometry.

Expected x values come from the pinhole model written out in sensor millimetres: a 35 mm-equivalent focal
length f sees a frame ``across`` mm wide (the 43.27 mm diagonal's share along the displayed width), and a
point ``a`` degrees off axis lands ``f·tan(a)`` mm from the centre.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from peaklens.dem import Dem, Tile
from peaklens.enrich import camera_of
from peaklens.errors import BadInput
from peaklens.frame import aim_at, frame_view, heading_offset_for, pitch_for, project
from peaklens.geo import PRIOR_FLOOR, Camera
from peaklens.imaging import open_photo
from peaklens.records import GeoPoint, PeakDoc
from tests.fixtures_images import write_photo

DIAGONAL_MM = math.sqrt(36**2 + 24**2)  # 43.27 mm
ORIGIN = GeoPoint(0.0, 0.0)
# due north of the origin: bearing exactly 0°; due east: exactly 90°
NORTH = PeakDoc("north", ["North Peak"], np.zeros(2, dtype=np.float32), GeoPoint(0.1, 0.0), 500)
EAST = PeakDoc("east", ["East Peak"], np.zeros(2, dtype=np.float32), GeoPoint(0.0, 0.2), 500)


def _hand_x(off_axis_deg: float, focal_35mm: float, width: int, height: int) -> float:
    across_mm = DIAGONAL_MM * width / math.hypot(width, height)
    return 0.5 + focal_35mm * math.tan(math.radians(off_axis_deg)) / across_mm


@pytest.mark.parametrize(
    ("size", "orientation", "displayed"),
    [((96, 72), None, (96, 72)), ((72, 96), None, (72, 96)), ((96, 72), 6, (72, 96))],
    ids=["landscape", "portrait", "exif-orientation-6"],
)
def test_x_follows_the_displayed_frame(
    tmp_path: Path, size: tuple[int, int], orientation: int | None, displayed: tuple[int, int]
) -> None:
    path = write_photo(
        tmp_path / "p.jpg",
        gps=(0.0, 1.0),  # (0, 0) is what cameras write without a fix: refused by the EXIF reader
        altitude=100,
        heading=350.0,
        focal35=26,
        size=size,
        orientation=orientation,
    )
    photo = open_photo(path)
    assert (photo.width, photo.height) == displayed
    camera = camera_of(photo.meta, photo.width, photo.height)
    assert camera is not None
    due_north = PeakDoc("north", ["North Peak"], NORTH.vector, GeoPoint(0.1, 1.0), 500)
    view = frame_view(camera, [due_north])
    (north,) = view.peaks
    assert north.off_axis_deg == pytest.approx(10.0, abs=1e-6)  # heading 350°, peak at 0°
    expected = _hand_x(10.0, 26, *displayed)
    assert north.x == pytest.approx(expected, abs=1e-4)
    assert expected == pytest.approx(0.6325 if displayed[0] > displayed[1] else 0.6766, abs=1e-3)
    assert north.in_frame and north.occluded is None and not view.terrain_checked


def test_the_compass_margin_keeps_the_prior_but_never_puts_a_peak_in_frame() -> None:
    camera = Camera(ORIGIN, 100, heading_deg=340.0, hfov_deg=30.0)  # North Peak 20° right, half frame 15°
    (north,) = frame_view(camera, [NORTH]).peaks
    assert north.x == pytest.approx(0.5 + math.tan(math.radians(20)) / (2 * math.tan(math.radians(15))))
    assert north.x is not None and north.x > 1
    assert not north.in_frame and north.prior == 1.0


def test_peaks_behind_the_camera_have_no_x_and_in_frame_is_ordered_left_to_right() -> None:
    camera = Camera(ORIGIN, 100, heading_deg=45.0, hfov_deg=100.0)  # North 45° left, East 45° right
    view = frame_view(camera, [EAST, NORTH])
    assert [p.name for p in view.in_frame()] == ["North Peak", "East Peak"]
    half = math.tan(math.radians(45)) / (2 * math.tan(math.radians(50)))
    assert [p.x for p in view.in_frame()] == pytest.approx([0.5 - half, 0.5 + half])
    assert [p.peak_id for p in view.peaks] == ["north", "east"]  # nearest first (11 km, 22 km)
    behind = frame_view(Camera(ORIGIN, 100, heading_deg=200.0, hfov_deg=60.0), [NORTH]).peaks[0]
    assert behind.x is None and not behind.in_frame and behind.x_span is None


def test_without_a_heading_nothing_is_in_frame() -> None:
    view = frame_view(Camera(ORIGIN, 100), [NORTH, EAST])
    assert view.heading_source is None and view.heading_deg is None
    assert all(p.x is None and not p.in_frame and p.off_axis_deg is None for p in view.peaks)
    assert view.peaks[0].elevation_angle_deg == pytest.approx(math.degrees(math.atan2(400, 11_120)), abs=0.1)


def test_compass_labels_carry_the_heading_uncertainty_as_a_span() -> None:
    camera = Camera(ORIGIN, 100, heading_deg=350.0, hfov_deg=60.0)
    view = frame_view(camera, [NORTH])
    north = view.peaks[0]
    t = 2 * math.tan(math.radians(30))
    assert view.heading_uncertainty_deg == 8.0
    assert north.x_span == pytest.approx(
        (0.5 + math.tan(math.radians(2)) / t, 0.5 + math.tan(math.radians(18)) / t)
    )
    user = frame_view(camera, [NORTH], heading_offset_deg=2.0, heading_source="user").peaks[0]
    assert user.x_span is None  # a corrected heading is a point


def test_dragging_one_label_moves_every_label_by_the_same_heading_correction() -> None:
    camera = Camera(ORIGIN, 100, heading_deg=30.0, hfov_deg=100.0)  # North 30° left, East 60° right
    view = frame_view(camera, [NORTH, EAST])
    offset = heading_offset_for(view, "north", 0.5)  # the user puts North Peak at the centre
    assert offset == pytest.approx(-30.0)
    moved = frame_view(camera, [NORTH, EAST], heading_offset_deg=offset, heading_source="user")
    assert moved.heading_deg == pytest.approx(0.0) and moved.heading_source == "user"
    by_id = {p.peak_id: p for p in moved.peaks}
    assert by_id["north"].x == pytest.approx(0.5)
    assert by_id["east"].off_axis_deg == pytest.approx(90.0)  # East Peak is now at the right angle
    assert not by_id["east"].in_frame
    with pytest.raises(BadInput):
        heading_offset_for(view, "nowhere", 0.5)
    with pytest.raises(BadInput):
        heading_offset_for(frame_view(Camera(ORIGIN, 100), [NORTH]), "north", 0.5)


def test_an_occluded_peak_is_never_in_frame_and_its_prior_is_the_floor() -> None:
    # a 1000 m wall 5 km north of a camera at 100 m, between it and North Peak (500 m, 11 km away)
    lats = np.linspace(0.5, -0.5, 1001)
    heights = np.zeros((1001, 1001), dtype=np.int16)
    heights[np.abs(lats - 0.045) < 0.002, :] = 1000
    dem = Dem([Tile("wall", heights, 0.5, -0.5, 0.001, 0.001, -32768.0, (-0.5, -0.5, 0.5, 0.5))])
    view = frame_view(Camera(ORIGIN, 100, heading_deg=0.0, hfov_deg=60.0), [NORTH], dem)
    (north,) = view.peaks
    assert view.terrain_checked and north.occluded is True
    assert north.x == pytest.approx(0.5) and not north.in_frame and north.prior == PRIOR_FLOOR
    assert view.to_json()["terrain"] == "checked"


def test_the_dem_gives_the_camera_altitude_when_gps_has_none_or_is_underground() -> None:
    dem = Dem(
        [
            Tile(
                "flat",
                np.full((11, 11), 3000, dtype=np.int16),
                0.5,
                -0.5,
                0.1,
                0.1,
                None,
                (-0.5, -0.5, 0.5, 0.5),
            )
        ]
    )
    assert frame_view(Camera(ORIGIN), [], dem).altitude_m == pytest.approx(3001.7)
    low = frame_view(Camera(ORIGIN, 2900.0), [], dem)
    assert (low.altitude_m, low.altitude_source) == (pytest.approx(3001.7), "dem")
    high = frame_view(Camera(ORIGIN, 3100.0), [], dem)
    assert (high.altitude_m, high.altitude_source) == (3100.0, "gps")


def test_json_has_the_agreed_fields() -> None:
    view = frame_view(Camera(ORIGIN, 100, heading_deg=350.0, hfov_deg=60.0), [NORTH])
    data = view.to_json()
    assert data["terrain"] == "not checked" and data["heading_source"] == "compass"
    peak = data["peaks"][0]  # type: ignore[index]
    assert set(peak) == {
        "peak_id", "name", "elev_m", "distance_km", "bearing_deg", "off_axis_deg", "elevation_angle_deg",
        "x", "y", "x_span", "in_frame", "occluded",
    }  # fmt: skip
    assert peak["occluded"] is None and peak["in_frame"] is True
    assert peak["y"] is None and data["label_height"] == "unknown"  # no registered pitch: height unknown


@pytest.mark.parametrize(("x", "y"), [(0.5, 0.5), (0.1, 0.2), (0.93, 0.85), (0.0, 0.0)])
def test_a_click_on_an_unrolled_camera_agrees_with_the_closed_forms(x: float, y: float) -> None:
    """Level camera, x only: the off-axis angle of a rectilinear x. Pitched, x and y: the pitch that puts the
    summit at y for the off-axis angle found (a pitched camera's x depends on the elevation too, so that angle
    is no longer the level one)."""
    off, pitch = aim_at(0.0, 40.0, 0.75, 0.0, 0.0, x)
    assert off == pytest.approx(
        math.degrees(math.atan((x - 0.5) * 2 * math.tan(math.radians(20.0)))), abs=1e-7
    )
    assert pitch == 0.0
    off, pitch = aim_at(25.0, 40.0, 0.75, 3.0, 0.0, x, y)
    assert pitch == pytest.approx(pitch_for(off, 25.0, 40.0, 0.75, y), abs=1e-6)


@pytest.mark.parametrize(("roll", "x", "y"), [(4.0, 0.2, 0.3), (-6.0, 0.9, 0.1), (2.0, 0.5, 0.95)])
def test_a_click_on_a_rolled_camera_puts_the_summit_where_clicked(roll: float, x: float, y: float) -> None:
    """A registered roll couples x and y: the closed forms miss by up to a hundredth of the frame at the
    edges, the joint solution puts the summit on the click."""
    off, pitch = aim_at(12.0, 60.0, 0.75, 5.0, roll, x, y)
    px, py = project(off, 12.0, 60.0, 0.75, pitch, roll)
    assert px == pytest.approx(x, abs=1e-7) and py == pytest.approx(y, abs=1e-7)
    # x alone keeps the pitch
    off_x, kept = aim_at(12.0, 60.0, 0.75, 5.0, roll, x)
    assert kept == 5.0
    assert project(off_x, 12.0, 60.0, 0.75, 5.0, roll)[0] == pytest.approx(x, abs=1e-7)
