"""The geo prior: distances, bearings, the horizon and the camera's view cone, on real Khumbu coordinates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peaklens.catalog import load_catalog
from peaklens.geo import (
    CONE_MARGIN_DEG,
    DEFAULT_HFOV_DEG,
    EARTH_RADIUS_KM,
    GEO_SCALE,
    MAX_RANGE_KM,
    PRIOR_FLOOR,
    REFRACTION_K,
    Camera,
    PeakView,
    _cone_prior,
    beyond_horizon,
    combine,
    describe,
    effective_radius_m,
    elevation_angle_deg,
    elevation_angles_deg,
    field_of_view_deg,
    geo_prior,
    haversine_km,
    horizontal_fov_deg,
    initial_bearing_deg,
    nearest_km,
    signed_angle_deg,
    view_of,
)
from peaklens.records import GeoPoint

TENGBOCHE = GeoPoint(27.8361, 86.7644)
TENGBOCHE_ALT = 3860.0
AMA_DABLAM = GeoPoint(27.862, 86.861)
PEAKS = {p.id: p for p in load_catalog()[0]}
CATALOG = [(p.id, p.latlon, None if p.elev_m is None else float(p.elev_m)) for p in PEAKS.values()]


def _views(camera: Camera) -> dict[str, PeakView]:
    return {v.peak_id: v for v in geo_prior(camera, CATALOG) if v is not None}


# --- distance and bearing ------------------------------------------------------------------------------------
def test_tengboche_to_ama_dablam_is_ten_km_east_north_east() -> None:
    assert haversine_km(TENGBOCHE, AMA_DABLAM) == pytest.approx(9.92, abs=0.05)
    assert initial_bearing_deg(TENGBOCHE, AMA_DABLAM) == pytest.approx(73.1, abs=0.5)
    assert initial_bearing_deg(AMA_DABLAM, TENGBOCHE) == pytest.approx(253.1, abs=0.5)


def test_distances_against_the_sphere() -> None:
    one_degree = 2 * math.pi * EARTH_RADIUS_KM / 360
    assert haversine_km(GeoPoint(0, 0), GeoPoint(0, 1)) == pytest.approx(one_degree, rel=1e-9)
    assert haversine_km(GeoPoint(90, 0), GeoPoint(-90, 0)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert haversine_km(TENGBOCHE, TENGBOCHE) == 0.0


@pytest.mark.parametrize(
    ("to", "bearing"),
    [((1, 0), 0.0), ((0, 1), 90.0), ((-1, 0), 180.0), ((0, -1), 270.0)],
)
def test_cardinal_bearings(to: tuple[float, float], bearing: float) -> None:
    assert initial_bearing_deg(GeoPoint(0, 0), GeoPoint(*to)) == pytest.approx(bearing, abs=1e-9)


def test_nearest_km_is_the_distance_to_the_nearest_other_point() -> None:
    points = [TENGBOCHE, AMA_DABLAM, GeoPoint(0, 179.9), GeoPoint(55.7, 12.6)]
    others = [AMA_DABLAM, GeoPoint(0, -179.9), GeoPoint(27.9, 86.7)]
    expected = [min(haversine_km(p, o) for o in others) for p in points]
    assert nearest_km(points, others) == pytest.approx(expected, rel=1e-9)
    assert nearest_km(points, others)[1] == 0.0
    assert nearest_km(points, []) == [math.inf] * len(points)
    assert nearest_km([], others) == []


def test_bearings_wrap_around_north_and_the_antimeridian() -> None:
    just_west_of_north = initial_bearing_deg(GeoPoint(0, 0), GeoPoint(1, -1e-6))
    assert 359.99 < just_west_of_north < 360.0
    assert initial_bearing_deg(GeoPoint(0, 179.5), GeoPoint(0, -179.5)) == pytest.approx(90.0)
    assert haversine_km(GeoPoint(0, 179.5), GeoPoint(0, -179.5)) == pytest.approx(111.2, abs=0.1)
    assert signed_angle_deg(350, 10) == pytest.approx(20)
    assert signed_angle_deg(10, 350) == pytest.approx(-20)
    assert signed_angle_deg(0, 180) == 180
    assert signed_angle_deg(180, 0) == 180


def test_a_heading_just_west_of_north_sees_a_peak_just_east_of_it() -> None:
    camera = Camera(GeoPoint(27.90, 86.83), 4300, heading_deg=355.0, hfov_deg=30.0)
    view = view_of(camera, "north", GeoPoint(27.99, 86.84), 6000)
    assert view.bearing_deg < 10 and view.off_axis_deg == pytest.approx(view.bearing_deg + 5, abs=1e-9)
    assert view.in_view and view.prior == 1.0


# --- field of view -------------------------------------------------------------------------------------------
def test_field_of_view_depends_on_how_the_photo_is_framed() -> None:
    assert horizontal_fov_deg(50, None, 6000, 4000) == pytest.approx(39.6, abs=0.05)  # 3:2 = 36 mm across
    landscape = horizontal_fov_deg(26, None, 4032, 3024)
    portrait = horizontal_fov_deg(26, None, 3024, 4032)
    assert landscape == pytest.approx(67.3, abs=0.2)  # 4:3 keeps the 43.3 mm diagonal: 34.6 mm across
    assert portrait == pytest.approx(53.1, abs=0.2)  # ... and 26.0 mm across when upright
    assert horizontal_fov_deg(120, None, 768, 1024) == pytest.approx(12.4, abs=0.1)  # the trek's 5x lens


@pytest.mark.parametrize(
    ("focal_35mm", "focal_mm"), [(None, 6.86), (None, None), (0, 6.86), (-24, None), (math.nan, None)]
)
def test_without_a_35mm_equivalent_there_is_no_field_of_view(
    focal_35mm: float | None, focal_mm: float | None
) -> None:
    assert horizontal_fov_deg(focal_35mm, focal_mm, 4032, 3024) is None


def test_unknown_photo_size_counts_as_3_by_2() -> None:
    assert horizontal_fov_deg(50, None, 0, 0) == horizontal_fov_deg(50, None, 3, 2)


# --- horizon and elevation -----------------------------------------------------------------------------------
def test_elevation_angle_includes_curvature_and_refraction() -> None:
    ama = view_of(Camera(TENGBOCHE, TENGBOCHE_ALT), "ama-dablam", AMA_DABLAM, 6812)
    assert ama.elevation_angle_deg == pytest.approx(
        math.degrees(math.atan2(6812 - 3860 - 6.7, 9924)), abs=0.02
    )
    drop_deg = math.degrees(100 / (2 * EARTH_RADIUS_KM / (1 - REFRACTION_K)))
    assert elevation_angle_deg(100, 5000, 5000) == pytest.approx(-drop_deg, rel=1e-3)  # same height, 100 km
    assert elevation_angle_deg(10, 4000, None) == pytest.approx(elevation_angle_deg(10, 4000, 4000))


def test_a_low_hill_beyond_the_sea_level_horizon_is_hidden_and_a_near_one_is_not() -> None:
    beach = Camera(GeoPoint(0, 0), 0)
    far = view_of(beach, "hill", GeoPoint(0.54, 0), 100)  # 60 km; a 100 m hill shows to ~38 km
    near = view_of(beach, "hill", GeoPoint(0.30, 0), 100)  # 33 km
    assert not far.visible and far.prior == PRIOR_FLOOR and not far.in_view
    assert near.visible and near.prior == 1.0


def test_far_away_peaks_are_the_floor() -> None:
    london = _views(Camera(GeoPoint(51.5, -0.12), 20))
    assert {v.prior for v in london.values()} == {PRIOR_FLOOR}
    assert not any(v.visible for v in london.values())
    kathmandu = GeoPoint(27.7172, 85.3240)  # Everest is 160 km away and visible from the valley rim
    assert _views(Camera(kathmandu, 2000))["mount-everest"].visible
    beyond = view_of(Camera(GeoPoint(27.0, 80.0), 5000), "far", GeoPoint(27.0, 83.1), 8000)
    assert beyond.distance_km > MAX_RANGE_KM and not beyond.visible and beyond.prior == PRIOR_FLOOR


def test_a_peak_without_coordinates_has_no_view() -> None:
    views = geo_prior(Camera(TENGBOCHE, TENGBOCHE_ALT), [("a", None, 6000.0), ("b", AMA_DABLAM, None)])
    assert views[0] is None and views[1] is not None and views[1].visible


# --- the prior -----------------------------------------------------------------------------------------------
def test_facing_ama_dablam_from_tengboche_favours_it_over_peaks_behind_the_camera() -> None:
    views = _views(Camera(TENGBOCHE, TENGBOCHE_ALT, heading_deg=110, hfov_deg=65))
    ama = views["ama-dablam"]
    assert ama.prior == 1.0 and ama.off_axis_deg == pytest.approx(-36.9, abs=0.5)
    # 36.9° off axis with a 32.5° half frame: the margin keeps the prior at 1, but it is not "in view"
    assert not ama.in_view
    # Khumbila (290°), Kyajo Ri (312°), Kongde Ri (246°), Gokyo Ri (330°) and Cho Oyu (340°) are behind
    for behind in ("khumbila", "kyajo-ri", "kongde-ri", "gokyo-ri", "cho-oyu"):
        assert views[behind].prior == pytest.approx(PRIOR_FLOOR, abs=0.01), behind
        assert not views[behind].in_view
    # Pumori (17°) is 93° off axis: well down, not yet the floor
    assert PRIOR_FLOOR < views["pumori"].prior < 0.2 < ama.prior


def test_the_prior_falls_smoothly_with_the_angle_off_axis() -> None:
    camera = Camera(TENGBOCHE, TENGBOCHE_ALT, heading_deg=0.0, hfov_deg=40.0)
    edge = 40.0 / 2 + CONE_MARGIN_DEG
    priors = []
    for angle in [0, 10, edge, edge + 0.01, 45, 60, 90, 120, 180]:
        target = GeoPoint(
            TENGBOCHE.lat + 0.1 * math.cos(math.radians(angle)),
            TENGBOCHE.lon + 0.1 * math.sin(math.radians(angle)) / math.cos(math.radians(TENGBOCHE.lat)),
        )
        priors.append(view_of(camera, "p", target, 6000).prior)
    assert priors[:3] == [1.0, 1.0, 1.0]
    assert priors[3] == pytest.approx(1.0, abs=1e-4)  # no step at the edge of the cone
    assert all(a >= b for a, b in itertools.pairwise(priors))
    assert priors[-1] == pytest.approx(PRIOR_FLOOR, abs=1e-6)


def test_without_a_heading_every_visible_peak_is_equally_likely() -> None:
    views = _views(Camera(TENGBOCHE, TENGBOCHE_ALT))
    assert {v.prior for v in views.values()} == {1.0}
    assert all(v.off_axis_deg is None and v.in_view for v in views.values())


def test_unknown_field_of_view_uses_a_phone_default() -> None:
    unknown = _views(Camera(TENGBOCHE, TENGBOCHE_ALT, heading_deg=110))
    assert unknown == _views(Camera(TENGBOCHE, TENGBOCHE_ALT, heading_deg=110, hfov_deg=DEFAULT_HFOV_DEG))
    assert unknown["ama-dablam"].prior == 1.0
    assert unknown["khumbila"].prior == pytest.approx(PRIOR_FLOOR)


def test_describe_is_the_ui_line() -> None:
    view = view_of(Camera(TENGBOCHE, TENGBOCHE_ALT), "ama-dablam", AMA_DABLAM, 6812)
    assert describe("Ama Dablam", view) == "Ama Dablam · 9.9 km · bearing 73°"


def test_in_view_is_strictly_inside_the_field_of_view_without_the_margin() -> None:
    camera = Camera(TENGBOCHE, TENGBOCHE_ALT, heading_deg=73.1 - 17.0, hfov_deg=25.2)  # the case
    ama = view_of(camera, "ama-dablam", AMA_DABLAM, 6812)
    assert ama.off_axis_deg == pytest.approx(17.0, abs=0.1)  # 17° off axis, half frame 12.6°
    assert ama.prior == 1.0 and not ama.in_view
    inside = view_of(Camera(TENGBOCHE, TENGBOCHE_ALT, 73.1 - 12.0, 25.2), "ama-dablam", AMA_DABLAM, 6812)
    assert inside.in_view


def test_a_peak_hidden_by_terrain_is_at_the_floor_and_not_in_view() -> None:
    camera = Camera(TENGBOCHE, TENGBOCHE_ALT, heading_deg=73.0, hfov_deg=40.0)
    hidden = view_of(camera, "ama-dablam", AMA_DABLAM, 6812, occluded=True)
    assert hidden.prior == PRIOR_FLOOR and not hidden.in_view and hidden.occluded is True
    seen = view_of(camera, "ama-dablam", AMA_DABLAM, 6812, occluded=False)
    assert seen.prior == 1.0 and seen.in_view and seen.occluded is False
    unchecked = view_of(camera, "ama-dablam", AMA_DABLAM, 6812)
    assert unchecked.occluded is None and unchecked.in_view


# --- fusing the prior with the visual score -----------------------------------------------------------------
def test_weight_zero_is_exactly_the_visual_score() -> None:
    visual = np.array([0.10, 0.12, 0.08], dtype=np.float32)
    fused = combine(visual, np.array([1.0, PRIOR_FLOOR, 0.3]), 0.0)
    assert np.array_equal(fused, visual.astype(np.float64))


def test_a_look_alike_behind_the_camera_needs_a_large_visual_lead() -> None:
    visual = np.array([0.10, 0.12, 0.08])
    priors = np.array([1.0, PRIOR_FLOOR, 1.0])
    fused = combine(visual, priors, 0.5)
    assert list(np.argsort(-fused, kind="stable")) == [0, 2, 1]
    assert fused[1] - visual[1] == pytest.approx(0.5 * GEO_SCALE * math.log(PRIOR_FLOOR))  # -0.075
    assert list(np.argsort(-combine(np.array([0.10, 0.18]), priors[:2], 0.5))) == [1, 0]  # 0.08 lead: kept


def test_equal_priors_keep_the_visual_order() -> None:
    visual = np.array([0.11, 0.02, 0.09, 0.15, 0.09])
    for prior in (1.0, 0.4, PRIOR_FLOOR):
        fused = combine(visual, np.full(5, prior), 0.7)
        assert list(np.argsort(-fused, kind="stable")) == list(np.argsort(-visual, kind="stable"))


def test_combine_rejects_nonsense_and_treats_nan_priors_as_no_opinion() -> None:
    with pytest.raises(ValueError):
        combine(np.zeros(2), np.ones(2), -0.1)
    with pytest.raises(ValueError):
        combine(np.zeros(2), np.ones(3), 0.5)
    assert np.array_equal(combine(np.array([0.1, 0.2]), np.array([math.nan, 1.0]), 0.5), [0.1, 0.2])


# --- properties ----------------------------------------------------------------------------------------------
_lat = st.floats(-89.9, 89.9)
_lon = st.floats(-180, 180)


@given(_lat, _lon, _lat, _lon)
def test_distance_and_bearing_properties(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    a, b = GeoPoint(lat1, lon1), GeoPoint(lat2, lon2)
    assert haversine_km(a, b) == pytest.approx(haversine_km(b, a), abs=1e-6)
    assert 0 <= haversine_km(a, b) <= math.pi * EARTH_RADIUS_KM + 1e-6
    assert 0 <= initial_bearing_deg(a, b) < 360


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_signed_angle_is_in_half_open_range(a: float, b: float) -> None:
    assert -180 < signed_angle_deg(a, b) <= 180


@given(
    _lat,
    _lon,
    st.one_of(st.none(), st.floats(-500, 9000)),
    st.one_of(st.none(), st.floats(0, 360)),
    st.one_of(st.none(), st.floats(1, 180)),
    _lat,
    _lon,
    st.one_of(st.none(), st.floats(-500, 9000)),
)
def test_prior_is_always_in_floor_to_one(
    lat: float,
    lon: float,
    alt: float | None,
    heading: float | None,
    hfov: float | None,
    plat: float,
    plon: float,
    elev: float | None,
) -> None:
    view = view_of(Camera(GeoPoint(lat, lon), alt, heading, hfov), "p", GeoPoint(plat, plon), elev)
    assert 0 < PRIOR_FLOOR <= view.prior <= 1.0
    assert 0 <= view.bearing_deg < 360
    if view.off_axis_deg is not None:
        half = hfov / 2 if hfov else DEFAULT_HFOV_DEG / 2
        assert view.in_view == (view.visible and abs(view.off_axis_deg) < half)
        assert not view.in_view or view.prior == 1.0
        assert -180 < view.off_axis_deg <= 180


@given(
    st.lists(st.tuples(st.floats(-1, 1), st.floats(0.01, 1)), min_size=2, max_size=12),
    st.floats(0, 1),
    st.integers(0, 11),
    st.floats(0.001, 0.5),
)
def test_fused_score_is_monotone_in_the_visual_score(
    pairs: list[tuple[float, float]], weight: float, index: int, boost: float
) -> None:
    visual = np.array([v for v, _ in pairs])
    priors = np.array([p for _, p in pairs])
    index %= len(pairs)
    before = combine(visual, priors, weight)
    raised = visual.copy()
    raised[index] += boost
    after = combine(raised, priors, weight)
    assert after[index] > before[index]
    assert np.array_equal(np.delete(after, index), np.delete(before, index))


# --- pinned by mutation testing (was test_mutation_pins_geo.py): Geometry details that mutation testing showed no other test holds (docs/TESTING.md), against textbook
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
