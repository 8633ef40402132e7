"""Geometry details that mutation testing showed no other test holds (docs/TESTING.md), against textbook
values: spherical bearings, the horizon distance R·acos(R / (R + h)), the small-angle elevation
atan(Δh / d) - d / 2R, and the cone prior's Gaussian written out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peaklens.geo import (
    Camera,
    _cone_prior,
    beyond_horizon,
    combine,
    effective_radius_m,
    elevation_angle_deg,
    elevation_angles_deg,
    field_of_view_deg,
    geo_prior,
    horizontal_fov_deg,
    initial_bearing_deg,
    signed_angle_deg,
    view_of,
)
from peaklens.records import GeoPoint

#: 6371.0088 km mean radius over (1 - 0.13) refraction
R_EFF_M = 7_322_998.62


def test_effective_radius_folds_in_standard_refraction() -> None:
    assert effective_radius_m() == pytest.approx(R_EFF_M, abs=0.01)


def test_bearing_across_a_quarter_of_the_globe() -> None:
    # from 45°N 0° to 45°N 90°E: atan2(sin 90° cos 45°, cos 45° sin 45° - sin 45° cos 45° cos 90°) = atan(√2)
    assert initial_bearing_deg(GeoPoint(45, 0), GeoPoint(45, 90)) == pytest.approx(54.735610317, abs=1e-8)


def test_a_bearing_a_hair_west_of_north_is_zero_not_360() -> None:
    bearing = initial_bearing_deg(GeoPoint(27.0, 0.0), GeoPoint(28.0, -1e-17))  # -tiny % 360 rounds to 360.0
    assert bearing == 0.0


def test_elevation_matches_the_small_angle_formula_and_unknown_altitude_is_sea_level() -> None:
    # 1000 m higher at 10 km: atan(0.1) = 5.71059°, minus the bulge d / 2R = 0.03912°
    assert elevation_angle_deg(10.0, 0.0, 1000.0) == pytest.approx(5.67147, abs=1e-3)
    assert elevation_angle_deg(10.0, None, 1000.0) == elevation_angle_deg(10.0, 0.0, 1000.0)
    assert elevation_angle_deg(10.0, 500.0, None) == elevation_angle_deg(10.0, 500.0, 500.0)


def test_elevation_of_arrays_equals_the_single_point_formula() -> None:
    distances = np.array([0.5, 10.0, 80.0])
    heights = np.array([4000.0, 6812.0, 8848.0])
    got = elevation_angles_deg(distances, 3800.0, heights)
    expected = [elevation_angle_deg(d, 3800.0, h) for d, h in zip(distances, heights, strict=True)]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got.dtype == np.float64
    assert got[1] == pytest.approx(
        math.degrees(math.atan(3012 / 10_000)) - math.degrees(10_000 / (2 * R_EFF_M)), abs=0.02
    )


def _horizon_km(height_m: float) -> float:
    return R_EFF_M * math.acos(R_EFF_M / (R_EFF_M + height_m)) / 1000.0


def test_the_horizon_of_everest_from_sea_level() -> None:
    reach = _horizon_km(8848.0)  # ≈ 360 km
    for camera in (None, 0.0, -20.0):  # unknown and below-sea-level altitudes count as sea level
        assert not beyond_horizon(reach * 0.9995, camera, 8848.0)
        assert beyond_horizon(reach * 1.0005, camera, 8848.0)
    # and from Everest down to a shore below sea level, which counts as sea level
    assert not beyond_horizon(reach * 0.9995, 8848.0, -100.0)
    assert beyond_horizon(reach * 1.0005, 8848.0, -100.0)


def _gaussian(outside: float) -> float:
    return 0.05 + 0.95 * math.exp(-0.5 * (outside / 20.0) ** 2)


@pytest.mark.parametrize("outside", [0.5, 20.0, 40.0])
def test_the_prior_falls_as_a_gaussian_past_the_margin(outside: float) -> None:
    hfov = 60.0
    edge = hfov / 2 + 12.0
    assert _cone_prior(edge + outside, hfov) == pytest.approx(_gaussian(outside), rel=1e-12)
    assert _cone_prior(-(edge + outside), hfov) == pytest.approx(_gaussian(outside), rel=1e-12)
    assert _cone_prior(edge, hfov) == 1.0


@pytest.mark.parametrize(
    ("width", "height", "across_mm"),
    [
        (0, 100, 36.0),  # no usable size: a 3:2 landscape
        (100, 0, 36.0),
        (1, 1, math.hypot(36, 24) / math.sqrt(2)),  # a square takes the diagonal's share along its width
    ],
)
def test_field_of_view_from_the_35mm_focal_length(width: int, height: int, across_mm: float) -> None:
    expected = math.degrees(2 * math.atan(across_mm / (2 * 24.0)))
    assert horizontal_fov_deg(24.0, None, width, height) == pytest.approx(expected, rel=1e-12)


def test_a_one_millimetre_equivalent_focal_length_is_still_a_lens() -> None:
    assert horizontal_fov_deg(1.0, None, 3, 2) == pytest.approx(math.degrees(2 * math.atan(18.0)), rel=1e-12)


@pytest.mark.parametrize(
    ("hfov", "used"), [(0.5, 0.5), (360.0, 360.0), (360.5, 65.0), (-10.0, 65.0), (None, 65.0)]
)
def test_field_of_view_keeps_any_angle_up_to_a_full_turn(hfov: float | None, used: float) -> None:
    assert field_of_view_deg(Camera(GeoPoint(27.8, 86.7), hfov_deg=hfov)) == used


def test_a_peak_exactly_on_the_frame_edge_is_not_in_view() -> None:
    camera_at = GeoPoint(27.8361, 86.7644)
    peak_at = GeoPoint(27.862, 86.861)
    heading = 40.0
    edge = abs(signed_angle_deg(heading, initial_bearing_deg(camera_at, peak_at)))
    on_edge = view_of(Camera(camera_at, 3860.0, heading, 2 * edge), "ama", peak_at, 6812.0)
    assert on_edge.off_axis_deg is not None and abs(on_edge.off_axis_deg) == edge and not on_edge.in_view
    inside = view_of(Camera(camera_at, 3860.0, heading, 2 * edge + 0.1), "ama", peak_at, 6812.0)
    assert inside.in_view


def test_geo_prior_uses_each_peaks_elevation() -> None:
    camera = Camera(GeoPoint(27.8361, 86.7644), 3860.0, None, None)
    (view, missing) = geo_prior(camera, [("ama", GeoPoint(27.862, 86.861), 6812.0), ("x", None, 1000.0)])
    assert missing is None and view is not None
    assert view.elevation_angle_deg == elevation_angle_deg(view.distance_km, 3860.0, 6812.0)
    # about 10 km away and 2952 m higher: atan(0.3) ≈ 16.5°
    assert view.elevation_angle_deg == pytest.approx(
        math.degrees(math.atan(2952 / (view.distance_km * 1000))), abs=0.1
    )


@pytest.mark.parametrize(
    ("prior", "weight", "expected"),
    [
        (0.05, 1.0, 0.3 + 0.05 * math.log(0.05)),  # ≈ 0.15: the floor costs 0.15 in cosine at weight 1
        (0.0, 1.0, 0.3 + 0.05 * math.log(0.05)),  # below the floor counts as the floor
        (1.5, 1.0, 0.3),  # above 1 counts as 1: a prior never lifts a peak
        (float("nan"), 2.0, 0.3),  # no opinion
        (0.5, 2.0, 0.3 + 2.0 * 0.05 * math.log(0.5)),
    ],
)
def test_combine_by_hand(prior: float, weight: float, expected: float) -> None:
    fused = combine(np.array([0.3], dtype=np.float32), np.array([prior]), weight)
    assert fused.dtype == np.float64
    assert fused[0] == pytest.approx(expected, abs=1e-7)


def test_combine_with_weight_zero_is_the_visual_score_as_float64() -> None:
    fused = combine(np.array([0.3, 0.1], dtype=np.float32), np.array([0.05, 1.0]), 0.0)
    assert fused.dtype == np.float64 and fused.tolist() == pytest.approx([0.3, 0.1])


def test_combine_refuses_bad_input_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"^geo_weight must be a finite number >= 0, not -1\.0$"):
        combine(np.array([0.3]), np.array([1.0]), -1.0)
    with pytest.raises(ValueError, match=r"^visual scores of shape \(2,\) but priors of shape \(1,\)$"):
        combine(np.array([0.3, 0.2]), np.array([1.0]), 1.0)
