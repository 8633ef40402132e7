"""The lightbox says when a photo's place came from a GPX track rather than the camera."""

from __future__ import annotations

from datetime import datetime

from peaklens.records import GeoPoint, PhotoHit
from peaklens.ui.viewer import details


def _hit(**fields: object) -> PhotoHit:
    return PhotoHit(
        id="a", path="a.jpg", score=1.0, predicted_peaks=[], peak_scores=[], gps=GeoPoint(27.85141, 86.78319),
        shot_time=datetime(2023, 10, 31, 9, 35), altitude_m=3851.0, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_place_from_the_track_says_so() -> None:
    assert "27.85141, 86.78319 · 3851 m (from the GPX track)" in details(_hit(gps_source="gpx"))


def test_a_place_from_the_camera_is_shown_plain() -> None:
    text = details(_hit(gps_source="exif"))
    assert "27.85141, 86.78319 · 3851 m" in text and "GPX" not in text
