"""The geo prior: distances, bearings, the horizon and the camera's view cone, on real Khumbu coordinates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peaklens.catalog import load_catalog
from peaklens.geo import (
    PRIOR_FLOOR,
    Camera,
    combine,
    geo_prior,
    haversine_km,
    horizontal_fov_deg,
    initial_bearing_deg,
    signed_angle_deg,
    view_of,
)
from peaklens.records import GeoPoint

TENGBOCHE = GeoPoint(27.8361, 86.7644)
AMA_DABLAM = GeoPoint(27.862, 86.861)
PEAKS = {p.id: p for p in load_catalog()[0]}


def _views(camera: Camera) -> dict[str, float]:
    views = geo_prior(camera, [(p.id, p.latlon, p.elev_m) for p in PEAKS.values()])
    return {v.peak_id: v.prior for v in views if v is not None}


def test_tengboche_to_ama_dablam() -> None:
    assert haversine_km(TENGBOCHE, AMA_DABLAM) == pytest.approx(9.9, abs=0.2)
    assert initial_bearing_deg(TENGBOCHE, AMA_DABLAM) == pytest.approx(73, abs=2)
    assert initial_bearing_deg(AMA_DABLAM, TENGBOCHE) == pytest.approx(253, abs=2)


def test_bearings_wrap_around_north() -> None:
    assert initial_bearing_deg(GeoPoint(0, 0), GeoPoint(1, 0)) == pytest.approx(0, abs=1e-9)
    assert initial_bearing_deg(GeoPoint(0, 0), GeoPoint(1, -1e-6)) == pytest.approx(360, abs=1e-3)
    assert signed_angle_deg(350, 10) == pytest.approx(20)
    assert signed_angle_deg(10, 350) == pytest.approx(-20)
    assert signed_angle_deg(0, 180) == 180


def test_field_of_view_depends_on_how_the_photo_is_framed() -> None:
    landscape = horizontal_fov_deg(26, None, 4032, 3024)
    portrait = horizontal_fov_deg(26, None, 3024, 4032)
    assert landscape == pytest.approx(69.4, abs=0.5) and portrait == pytest.approx(49.6, abs=0.5)
    assert 50 < (horizontal_fov_deg(None, 6.86, 4032, 3024) or 0) < 80  # assumed phone crop factor
    assert horizontal_fov_deg(None, None, 10, 10) is None


def test_facing_ama_dablam_from_tengboche_favours_it_over_peaks_behind_the_camera() -> None:
    priors = _views(Camera(TENGBOCHE, 3860, heading_deg=100, hfov_deg=65))
    assert priors["ama-dablam"] == 1.0
    for behind in ("kongde-ri", "khumbila", "kyajo-ri", "gokyo-ri"):
        assert priors[behind] == pytest.approx(PRIOR_FLOOR, abs=0.01), behind


def test_without_a_heading_every_visible_peak_is_equally_likely() -> None:
    priors = _views(Camera(TENGBOCHE, 3860))
    assert set(priors.values()) == {1.0}


def test_far_away_or_below_the_horizon_is_the_floor() -> None:
    london = Camera(GeoPoint(51.5, -0.12), 20)
    assert set(_views(london).values()) == {PRIOR_FLOOR}
    low = view_of(Camera(GeoPoint(27.0, 86.8), 8800), "bump", GeoPoint(27.9, 86.8), 500)
    assert not low.visible and low.prior == PRIOR_FLOOR  # 100 km away, 8 km lower, under the curve


def test_combine_with_weight_zero_is_the_visual_ranking_and_keeps_ties_in_prior() -> None:
    visual = np.array([0.10, 0.12, 0.08])
    priors = np.array([1.0, PRIOR_FLOOR, 1.0])
    assert np.array_equal(combine(visual, priors, 0.0), visual)
    fused = combine(visual, priors, 0.5)
    assert list(np.argsort(-fused)) == [0, 2, 1]  # the look-alike behind the camera drops
    same_prior = combine(visual, np.ones(3), 0.5)
    assert list(np.argsort(-same_prior)) == list(np.argsort(-visual))


@given(
    st.floats(-85, 85),
    st.floats(-180, 180),
    st.floats(-85, 85),
    st.floats(-180, 180),
)
def test_distance_and_bearing_properties(lat1: float, lon1: float, lat2: float, lon2: float) -> None:
    a, b = GeoPoint(lat1, lon1), GeoPoint(lat2, lon2)
    assert haversine_km(a, b) == pytest.approx(haversine_km(b, a), abs=1e-6)
    assert 0 <= haversine_km(a, b) <= math.pi * 6371.01
    assert 0 <= initial_bearing_deg(a, b) < 360


@given(
    st.floats(0, 360), st.floats(27.5, 28.2), st.floats(86.5, 87.2), st.one_of(st.none(), st.floats(10, 120))
)
def test_prior_is_always_in_floor_to_one(heading: float, lat: float, lon: float, hfov: float | None) -> None:
    for prior in _views(Camera(GeoPoint(lat, lon), 4000, heading, hfov)).values():
        assert PRIOR_FLOOR <= prior <= 1.0
