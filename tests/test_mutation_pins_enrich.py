"""Peak-prediction details that mutation testing showed no other test holds (docs/TESTING.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peaklens.enrich import PeakPredictor, camera_of
from peaklens.exif import PhotoMeta
from peaklens.geo import Camera, initial_bearing_deg
from peaklens.records import GeoPoint, PeakDoc

TENGBOCHE = GeoPoint(27.8361, 86.7644)
AMA_DABLAM = GeoPoint(27.862, 86.861)
KANGTEGA = GeoPoint(27.7906, 86.8103)


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _peaks() -> list[PeakDoc]:
    eye = np.eye(4, dtype=np.float32)
    return [
        PeakDoc("ama-dablam", ["Ama Dablam"], eye[0], AMA_DABLAM, 6812),
        PeakDoc("mount-everest", ["Mount Everest"], eye[1], GeoPoint(27.9881, 86.9250), 8849),
        PeakDoc("kangtega", ["Kangtega"], eye[2], KANGTEGA, 6782),
        PeakDoc("nowhere", ["Nowhere"], eye[3]),  # no coordinates
    ]


def test_camera_of_carries_position_altitude_heading_and_the_field_of_view() -> None:
    meta = PhotoMeta(
        gps=TENGBOCHE, altitude_m=3860.0, heading_deg=75.0, focal_length_35mm=24.0, focal_length_mm=6.86
    )
    camera = camera_of(meta, 4032, 3024)
    across = math.hypot(36, 24) * 4 / 5  # a 4:3 landscape takes 4/5 of the 43.3 mm diagonal
    assert camera is not None and (camera.position, camera.altitude_m, camera.heading_deg) == (
        TENGBOCHE,
        3860.0,
        75.0,
    )
    assert camera.hfov_deg == pytest.approx(math.degrees(2 * math.atan(across / 48)))
    assert camera_of(PhotoMeta(), 10, 10) is None


def test_cosines_are_float32_of_shape_photos_by_peaks_even_for_an_empty_catalog() -> None:
    vectors = np.array([[1.0, 0, 0, 0], [0.6, 0.8, 0, 0]], dtype=np.float64)
    cos = PeakPredictor(_peaks(), 3).cosines(vectors)
    assert cos.dtype == np.float32 and cos.shape == (2, 4)
    np.testing.assert_allclose(cos[1], [0.6, 0.8, 0.0, 0.0], atol=1e-7)
    empty = PeakPredictor([], 3).cosines(vectors)
    assert empty.dtype == np.float32 and empty.shape == (2, 0)
    assert PeakPredictor([], 3).predict(vectors.astype(np.float32))[0].names == []


def test_top_k_is_at_least_one_and_at_most_the_catalog() -> None:
    vector = np.array([[1.0, 0.5, 0.2, 0.1]], dtype=np.float32)
    assert PeakPredictor(_peaks(), 1).predict(vector)[0].names == ["Ama Dablam"]
    assert PeakPredictor(_peaks(), 0).predict(vector)[0].names == ["Ama Dablam"]
    assert len(PeakPredictor(_peaks(), 9).predict(vector)[0].names) == 4


def test_ties_keep_catalog_order_among_many_peaks() -> None:
    same = unit(np.ones(4))
    peaks = [PeakDoc(f"p{i}", [f"P{i}"], same) for i in range(30)]
    peaks[7] = PeakDoc("best", ["Best"], unit(np.array([1.0, 1.0, 1.0, 1.2])))
    photo = unit(np.array([1.0, 1.0, 1.0, 1.2]))[None, :]
    assert PeakPredictor(peaks, 5).predict(photo)[0].names == ["Best", "P0", "P1", "P2", "P3"]


def _camera_towards(target: GeoPoint, turn_deg: float = 0.0) -> Camera:
    return Camera(TENGBOCHE, 3860.0, (initial_bearing_deg(TENGBOCHE, target) + turn_deg) % 360, 60.0)


def test_the_geo_prior_takes_part_only_with_a_weight_and_a_camera() -> None:
    photo = np.array([[0.30, 0.32, 0.25, 0.0]], dtype=np.float32)  # Everest a little ahead visually
    camera = _camera_towards(KANGTEGA)  # ... but the camera faces Kangtega: Everest 100° off, Ama Dablam 68°
    assert PeakPredictor(_peaks(), 2).predict(photo, [camera])[0].names == ["Mount Everest", "Ama Dablam"]
    assert PeakPredictor(_peaks(), 2, 1.0).predict(photo, [camera])[0].names == ["Ama Dablam", "Kangtega"]
    weighted = PeakPredictor(_peaks(), 4, geo_weight=1.0)
    row = weighted.cosines(photo)[0]
    fused, views = weighted.fused(row, camera)
    priors = [1.0 if v is None else v.prior for v in views]
    expected = row + 1.0 * 0.05 * np.log(np.clip(priors, 0.05, 1.0))
    np.testing.assert_allclose(fused, expected, atol=1e-12)
    assert priors[2] == 1.0 and views[3] is None
    corrected, corrected_views = weighted.fused(row, camera, (-70.0, "user"))  # now facing Ama Dablam
    assert [v.prior if v else None for v in corrected_views] == [
        v.prior if v else None for v in weighted.views(camera, (-70.0, "user"))
    ]
    assert corrected[0] == pytest.approx(row[0]) and corrected_views[0] is not None
    assert weighted.fused(row, None) == (row, [])
    assert PeakPredictor(_peaks(), 4, geo_weight=0.0).fused(row, camera) == (row, [])
    with pytest.raises(ValueError):
        weighted.predict(np.vstack([photo, photo]), [camera])  # one camera for two photos


def test_json_priors_have_four_decimals_and_the_frame_json_no_peaks() -> None:
    camera = _camera_towards(AMA_DABLAM, turn_deg=60.0)  # Ama Dablam in the Gaussian fall-off
    predictor = PeakPredictor(_peaks(), 4, geo_weight=1.0)
    photo = np.array([[0.4, 0.3, 0.2, 0.1]], dtype=np.float32)
    (prediction,) = predictor.predict(photo, [camera])
    prior = next(v for v in predictor.views(camera) if v is not None and v.peak_id == "ama-dablam").prior
    assert round(prior, 5) != round(prior, 4)  # the check below can tell 4 decimals from 5
    views = prediction.extra["peak_views"]
    assert isinstance(views, dict) and views["Ama Dablam"]["prior"] == round(prior, 4)
    frame = prediction.extra["frame"]
    assert isinstance(frame, dict) and "peaks" not in frame


def test_views_apply_the_heading_correction() -> None:
    predictor = PeakPredictor(_peaks(), 4)
    camera = _camera_towards(AMA_DABLAM)
    plain = predictor.views(camera)[0]
    corrected = predictor.views(camera, (20.0, "user"))[0]
    assert plain is not None and corrected is not None
    assert plain.off_axis_deg == pytest.approx(0.0, abs=1e-9)
    assert corrected.off_axis_deg == pytest.approx(-20.0, abs=1e-9)
