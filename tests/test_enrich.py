"""Peak prediction scores a whole batch against the prototypes at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from peaklens.embed.base import l2_normalise
from peaklens.enrich import PeakPredictor
from peaklens.records import PeakDoc


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
    assert views["Kongde Ri"]["in_view"] is False

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
