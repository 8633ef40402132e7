"""Peak prediction scores a whole batch against the prototypes at once."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from peaklens.embed.base import l2_normalise
from peaklens.enrich import PeakPredictor, camera_of
from peaklens.exif import PhotoMeta
from peaklens.geo import Camera, initial_bearing_deg
from peaklens.records import GeoPoint, PeakDoc


def _peak(peak_id: str, name: str, vector: list[float]) -> PeakDoc:
    return PeakDoc(peak_id, [name], l2_normalise(np.array(vector, dtype=np.float32)))


PEAKS = [
    _peak("ama-dablam", "Ama Dablam", [1, 0, 0, 0]),
    _peak("pumori", "Pumori", [0, 1, 0, 0]),
    _peak("lhotse", "Lhotse", [0, 0, 1, 0]),
    _peak("nuptse", "Nuptse", [0, 0, 0, 1]),
]


def test_batch_prediction_ranks_the_nearest_prototypes_first_with_engine_scores() -> None:
    photos = l2_normalise(np.array([[0.9, 0.1, 0.3, 0.0], [0.0, 0.2, 0.1, 1.0]], dtype=np.float32))
    first, second = PeakPredictor(PEAKS, top_k=3).predict(photos)
    assert first.names == ["Ama Dablam", "Lhotse", "Pumori"]
    assert second.names == ["Nuptse", "Pumori", "Lhotse"]
    assert abs(first.scores[0] - (1 + float(photos[0] @ PEAKS[0].vector)) / 2) < 1e-6
    assert first.scores == sorted(first.scores, reverse=True)


def test_top_k_is_capped_by_the_catalog_and_ties_keep_catalog_order() -> None:
    tie = l2_normalise(np.array([[1.0, 1.0, 1.0, 1.0]], dtype=np.float32))
    (prediction,) = PeakPredictor(PEAKS, top_k=10).predict(tie)
    assert prediction.names == ["Ama Dablam", "Pumori", "Lhotse", "Nuptse"]


def test_empty_catalog_predicts_nothing() -> None:
    (prediction,) = PeakPredictor([], top_k=3).predict(np.ones((1, 4), dtype=np.float32))
    assert prediction.names == [] and prediction.scores == []


# --- the geo prior, with real EXIF written by the tests ---------------------------------------------------
def _look_alikes(vector: np.ndarray) -> list[PeakDoc]:
    """Two prototypes identical to the photo's vector: Kongde Ri (west of Tengboche) first in catalog order."""
    from peaklens.records import GeoPoint

    return [
        PeakDoc("kongde-ri", ["Kongde Ri"], vector, GeoPoint(27.787, 86.640), 6187),
        PeakDoc("ama-dablam", ["Ama Dablam"], vector, GeoPoint(27.862, 86.861), 6812),
    ]


@pytest.mark.parametrize("suffix", [".jpg", ".heic"])
def test_a_photo_at_tengboche_facing_ama_dablam_beats_a_look_alike_behind_the_camera(
    tmp_path: Path, suffix: str
) -> None:
    from datetime import datetime

    from peaklens.enrich import camera_of
    from peaklens.imaging import open_photo
    from tests.fixtures_images import write_photo

    path = write_photo(
        tmp_path / f"tengboche{suffix}",
        gps=(27.8361, 86.7644),
        altitude=3860,
        heading=105.0,
        focal35=26,
        shot_time=datetime(2023, 10, 24, 7, 12),
        offset="+05:45",
        size=(96, 64),
    )
    photo = open_photo(path)
    camera = camera_of(photo.meta, photo.width, photo.height)
    assert camera is not None and camera.heading_deg == pytest.approx(105.0)
    vector = l2_normalise(np.ones(4, dtype=np.float32))
    peaks = _look_alikes(vector)

    (visual_only,) = PeakPredictor(peaks, top_k=2, geo_weight=0.5).predict(vector[None, :], [None])
    assert visual_only.names == ["Kongde Ri", "Ama Dablam"]  # identical scores: catalog order
    assert "peak_views" not in visual_only.extra

    (with_geo,) = PeakPredictor(peaks, top_k=2, geo_weight=0.5).predict(vector[None, :], [camera])
    assert with_geo.names == ["Ama Dablam", "Kongde Ri"]
    assert with_geo.scores == visual_only.scores  # stored scores stay visual
    views = with_geo.extra["peak_views"]
    assert isinstance(views, dict)
    assert views["Ama Dablam"]["distance_km"] == pytest.approx(9.9, abs=0.3)
    assert views["Ama Dablam"]["bearing_deg"] == pytest.approx(73, abs=2)
    assert views["Kongde Ri"]["in_frame"] is False and views["Kongde Ri"]["prior"] < 0.1
    assert views["Ama Dablam"]["occluded"] is None  # no DEM: terrain not checked
    # heading 105°, Ama Dablam at 73°: 32° left of centre, inside the 26 mm lens's 34.7° half frame (3:2)
    assert with_geo.in_frame == ["Ama Dablam"]
    assert with_geo.extra["frame"]["terrain"] == "not checked"  # type: ignore[index]
    assert with_geo.extra["frame"]["heading_source"] == "compass"  # type: ignore[index]

    (weight_zero,) = PeakPredictor(peaks, top_k=2, geo_weight=0.0).predict(vector[None, :], [camera])
    assert weight_zero.names == ["Kongde Ri", "Ama Dablam"]


def test_a_photo_without_gps_gets_the_pure_visual_ranking(tmp_path: Path) -> None:
    from peaklens.enrich import camera_of
    from peaklens.imaging import open_photo
    from tests.fixtures_images import write_photo

    photo = open_photo(write_photo(tmp_path / "nogps.jpg", heading=105.0))
    assert camera_of(photo.meta, photo.width, photo.height) is None
    vector = l2_normalise(np.ones(4, dtype=np.float32))
    (prediction,) = PeakPredictor(_look_alikes(vector), top_k=2, geo_weight=1.0).predict(
        vector[None, :], [None]
    )
    assert prediction.names == ["Kongde Ri", "Ama Dablam"]


# --- frame geometry and terrain -----------------------------------------------------------------------------
def _east_and_north(vector: np.ndarray) -> list[PeakDoc]:
    from peaklens.records import GeoPoint

    return [
        PeakDoc("north", ["North Peak"], vector, GeoPoint(27.6, 86.5), 5000),  # 11 km due north
        PeakDoc("east", ["East Peak"], vector, GeoPoint(27.5, 86.62), 5000),  # 11.8 km east
        PeakDoc("nowhere", ["Nowhere"], vector),
    ]


def test_in_frame_lists_the_peaks_inside_the_frame_left_to_right() -> None:
    from peaklens.geo import Camera
    from peaklens.records import GeoPoint

    vector = l2_normalise(np.ones(4, dtype=np.float32))
    camera = Camera(GeoPoint(27.5, 86.5), 3000.0, heading_deg=45.0, hfov_deg=100.0)
    (prediction,) = PeakPredictor(_east_and_north(vector), top_k=3, geo_weight=0.5).predict(
        vector[None, :], [camera]
    )
    assert prediction.in_frame == ["North Peak", "East Peak"]
    views = prediction.extra["peak_views"]
    assert isinstance(views, dict) and set(views) == {"North Peak", "East Peak"}
    # 45° left of centre in a 100° frame: x = 0.5 - tan 45° / (2 tan 50°)
    assert views["North Peak"]["x"] == pytest.approx(0.5 - 1 / (2 * 1.19175), abs=1e-3)


def test_a_dem_hides_a_peak_behind_a_ridge_and_demotes_it(tmp_path: Path) -> None:
    from peaklens.dem import add_tiles, load_dem
    from peaklens.geo import Camera
    from peaklens.records import GeoPoint

    lats = np.linspace(28, 27, 1201)
    heights = np.full((1201, 1201), 2900, dtype=">i2")
    heights[np.abs(lats - 27.55) < 0.005, :700] = (
        5500  # a wall across the line to North Peak only (86.0–86.58° E)
    )
    (tmp_path / "N27E086.hgt").write_bytes(heights.tobytes())
    add_tiles(tmp_path / "data", [tmp_path / "N27E086.hgt"])
    dem = load_dem(tmp_path / "data")
    vector = l2_normalise(np.ones(4, dtype=np.float32))
    camera = Camera(GeoPoint(27.5, 86.5), 3000.0, heading_deg=45.0, hfov_deg=100.0)
    predictor = PeakPredictor(_east_and_north(vector), top_k=2, geo_weight=0.5, dem=dem)
    (prediction,) = predictor.predict(vector[None, :], [camera])
    assert prediction.in_frame == ["East Peak"]
    assert prediction.names == ["East Peak", "Nowhere"]  # North Peak (hidden) falls behind
    assert prediction.extra["frame"]["terrain"] == "checked"  # type: ignore[index]
    everything = predictor.views(camera)
    assert [v.occluded if v else None for v in everything] == [True, False, None]


def test_a_stored_heading_correction_moves_the_frame() -> None:
    from peaklens.geo import Camera
    from peaklens.records import GeoPoint

    vector = l2_normalise(np.ones(4, dtype=np.float32))
    camera = Camera(GeoPoint(27.5, 86.5), 3000.0, heading_deg=45.0, hfov_deg=60.0)
    predictor = PeakPredictor(_east_and_north(vector), top_k=3, geo_weight=0.5)
    (compass,) = predictor.predict(vector[None, :], [camera])
    (user,) = predictor.predict(vector[None, :], [camera], [(-45.0, "user")])
    assert compass.in_frame == []  # both 45° off axis, half frame 30°
    assert user.in_frame == ["North Peak"]
    assert user.extra["frame"]["heading_deg"] == pytest.approx(0.0)  # type: ignore[index]
    assert user.extra["frame"]["heading_source"] == "user"  # type: ignore[index]


# --- pinned by mutation testing (was test_mutation_pins_enrich.py): Peak-prediction details that mutation testing showed no other test holds (docs/TESTING.md).
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
