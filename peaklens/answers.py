"""What the use cases answer: one type per answer, the same on every path (CLI table, ``--json``, the UI).

Two scores everywhere, named alike: ``rank_score`` is the score the list is ordered by (the fused RRF score of
a query that names a peak, the look fused with the geo prior for an identified peak, else the look alone) and
``visual_score`` is the model's cosine score, (1 + cos) / 2. Every answer about a photo with GPS carries its
``frame``: the camera and where each catalog peak stands in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peaklens.frame import FramePeak, FrameView
from peaklens.records import PeakHit, PhotoHit
from peaklens.registration import Registration

__all__ = [
    "FramePeak",
    "FrameView",
    "Identification",
    "PeakAnswer",
    "PhotoAnswer",
    "Registration",
    "SearchAnswer",
    "SimilarAnswer",
]

#: the geometry every peak answer carries (None when the photo has no camera position)
PEAK_GEOMETRY = ("distance_km", "bearing_deg", "off_axis_deg", "elevation_angle_deg", "x", "y", "x_span")


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def frame_json(view: FrameView | None) -> dict[str, Any] | None:
    return None if view is None else view.to_json()


def camera_json(view: FrameView | None) -> dict[str, Any] | None:
    """The camera side of a frame (its peaks are listed with the answer's peaks)."""
    if view is None:
        return None
    shown = view.to_json()
    shown.pop("peaks", None)
    return shown


@dataclass(frozen=True)
class PhotoAnswer:
    """One photo of a result list."""

    hit: PhotoHit
    rank_score: float
    visual_score: float
    confidence: float | None = None
    explain: dict[str, float] = field(default_factory=dict)
    frame: FrameView | None = None

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        hit = self.hit
        data: dict[str, Any] = {
            "path": hit.path,
            "score": round(self.rank_score, 6),
            "visual_score": round(self.visual_score, 6),
            "confidence": _round(self.confidence),
            "predicted_peaks": list(hit.predicted_peaks),
            "peaks_in_frame": list(hit.peaks_in_frame or []),
            "gps": {"lat": hit.gps.lat, "lon": hit.gps.lon} if hit.gps else None,
            "gps_source": hit.gps_source,
            "altitude_m": hit.altitude_m,
            "heading_deg": hit.heading_deg,
            "heading_ref": hit.heading_ref,
            "declination_deg": _round(hit.declination_deg, 3),
            "shot_time": hit.shot_time.isoformat() if hit.shot_time else None,
            "frame": frame_json(self.frame),
        }
        if explain and self.explain:
            data["explain"] = {k: round(v, 6) for k, v in self.explain.items()}
        return data


@dataclass(frozen=True)
class SearchAnswer:
    """Photos best first, and what the confidence cut removed (so an empty answer can say why)."""

    photos: list[PhotoAnswer]
    dropped_below_confidence: int = 0
    min_confidence: float = 0.0


@dataclass(frozen=True)
class PeakAnswer:
    """One catalog peak proposed for a photo, with where it stands in that photo when the camera is known."""

    peak: PeakHit
    placed: FramePeak | None = None

    @property
    def rank_score(self) -> float:
        return self.peak.rank_score

    @property
    def visual_score(self) -> float:
        return self.peak.score

    @property
    def name(self) -> str:
        return self.peak.name

    def to_json(self) -> dict[str, Any]:
        geometry = self.placed.to_json() if self.placed is not None else {}
        data: dict[str, Any] = {
            "id": self.peak.id,
            "name": self.peak.name,
            "score": round(self.rank_score, 6),
            "visual_score": round(self.visual_score, 6),
            "elev_m": self.peak.elev_m,
        }
        for key in PEAK_GEOMETRY:
            data[key] = geometry.get(key)
        data["in_frame"] = geometry.get("in_frame")
        data["occluded"] = geometry.get("occluded")
        return data


@dataclass(frozen=True)
class Identification:
    """Which peaks a photo shows, best first, and the photo's frame (None without GPS or with --no-geo), with
    the registration against the terrain that placed it (None without terrain or compass)."""

    peaks: list[PeakAnswer]
    frame: FrameView | None = None
    registration: Registration | None = None
    #: the compass reference the photo recorded ("T" true, "M" magnetic) and the declination applied to it
    heading_ref: str | None = None
    declination_deg: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "camera": camera_json(self.frame),
            "heading_ref": self.heading_ref,
            "declination_deg": _round(self.declination_deg, 3),
            "registration": None if self.registration is None else self.registration.to_json(),
            "peaks": [p.to_json() for p in self.peaks],
        }


@dataclass(frozen=True)
class SimilarAnswer:
    """The photo's peak, then the user's photos of that peak, most similar first."""

    identification: Identification
    photos: list[PhotoAnswer]

    @property
    def peak(self) -> PeakAnswer:
        return self.identification.peaks[0]

    def to_json(self) -> dict[str, Any]:
        return {**self.identification.to_json(), "photos": [p.to_json() for p in self.photos]}
