"""Predicting the peaks in photos: one matrix product per batch against the catalog prototypes.

No store round trip per photo: the prototypes are loaded once and every photo of a batch is scored at once.
A photo with GPS also gets the geo prior (``peaklens.geo``): peaks behind the camera, out of sight or hidden by
terrain (with a DEM) are down-weighted by ``geo_weight``, and its frame geometry (``peaklens.frame``) says which
peaks stand inside the frame and where; photos without GPS get the purely visual ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from peaklens.dem import Dem
from peaklens.exif import PhotoMeta
from peaklens.frame import FramePeak, FrameView, frame_view
from peaklens.geo import Camera, combine, horizontal_fov_deg
from peaklens.records import PeakDoc

#: a stored heading correction of one photo: (offset in degrees, its source "registered" | "user")
HeadingCorrection = tuple[float | None, str | None]


@dataclass
class PeakPrediction:
    """The top-k peaks of one photo; ``scores`` are the visual cosine scores (1 + cos) / 2, like the engine's.

    For photos with GPS: ``in_frame`` names the catalog peaks geometry puts inside the frame, left to right
    (terrain-checked when a DEM covers the photo); ``extra["peak_views"]`` holds each predicted peak's frame
    geometry (``FramePeak.to_json`` plus its ``prior``) and ``extra["frame"]`` the camera used (altitude,
    heading and its source, field of view, "terrain": "checked" | "not checked").
    """

    names: list[str]
    scores: list[float]
    extra: dict[str, object] = field(default_factory=dict)
    in_frame: list[str] = field(default_factory=list)


def camera_of(meta: PhotoMeta, width: int, height: int) -> Camera | None:
    """The camera a photo's EXIF describes, or None without GPS."""
    if meta.gps is None:
        return None
    hfov = horizontal_fov_deg(meta.focal_length_35mm, meta.focal_length_mm, width, height)
    aspect = height / width if width > 0 and height > 0 else None
    return Camera(meta.gps, meta.altitude_m, meta.heading_deg, hfov, aspect=aspect)


def peak_json(peak: FramePeak) -> dict[str, object]:
    return {**peak.to_json(), "prior": round(peak.prior, 4)}


def frame_json(view: FrameView) -> dict[str, object]:
    """The camera side of a frame view (its peaks go to ``peak_views``)."""
    return {k: v for k, v in view.to_json().items() if k != "peaks"}


class PeakPredictor:
    """Ranks catalog peaks for batches of photo vectors; with a DEM, hidden peaks drop to the prior's floor."""

    def __init__(
        self,
        peaks: list[PeakDoc],
        top_k: int,
        geo_weight: float = 0.0,
        dem: Dem | None = None,
        calibration: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.peaks = peaks
        self.top_k = max(1, min(top_k, len(peaks))) if peaks else 0
        self.geo_weight = geo_weight
        self.dem = dem
        self.names = [p.name for p in peaks]
        self.matrix = np.stack([p.vector for p in peaks]).astype(np.float32) if peaks else None
        given = calibration or {}
        #: per peak (scale, shift) of blended prototypes (``catalog.calibrate_prototypes``); identity otherwise
        self.scale = np.array([given.get(p.id, (1.0, 0.0))[0] for p in peaks], dtype=np.float32)
        self.shift = np.array([given.get(p.id, (1.0, 0.0))[1] for p in peaks], dtype=np.float32)

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        """(photos, peaks) scores: cosines (vectors and prototypes are unit length), a blended prototype's
        mapped onto its text prototype's scale on the album so that every peak competes on one scale."""
        if self.matrix is None:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        return (np.asarray(vectors, dtype=np.float32) @ self.matrix.T) * self.scale + self.shift

    def rank(self, scores: np.ndarray) -> list[int]:
        """Peak indices best first; ties keep catalog order (stable), so runs are reproducible."""
        return [int(i) for i in np.argsort(-scores, kind="stable")[: self.top_k]]

    def frame(self, camera: Camera, correction: HeadingCorrection | None = None) -> FrameView:
        offset, source = correction or (None, None)
        return frame_view(camera, self.peaks, self.dem, heading_offset_deg=offset, heading_source=source)

    def views(self, camera: Camera, correction: HeadingCorrection | None = None) -> list[FramePeak | None]:
        """Each catalog peak's place in the photo, in catalog order (None for a peak without coordinates)."""
        placed = {p.peak_id: p for p in self.frame(camera, correction).peaks}
        return [placed.get(p.id) for p in self.peaks]

    def fused(
        self, row: np.ndarray, camera: Camera | None, correction: HeadingCorrection | None = None
    ) -> tuple[np.ndarray, list[FramePeak | None]]:
        """Ranking scores for one photo (visual, or visual + geo prior) and the views used."""
        if camera is None or self.geo_weight <= 0:
            return row, []
        views = self.views(camera, correction)
        priors = np.array([1.0 if v is None else v.prior for v in views])
        return combine(row, priors, self.geo_weight), views

    def predict(
        self,
        vectors: np.ndarray,
        cameras: Sequence[Camera | None] | None = None,
        corrections: Sequence[HeadingCorrection | None] | None = None,
    ) -> list[PeakPrediction]:
        """``corrections`` are the photos' stored heading corrections (registration against the terrain or a user's drag)."""
        cos = self.cosines(vectors)
        cameras = cameras or [None] * len(cos)
        corrections = corrections or [None] * len(cos)
        predictions = []
        for row, camera, correction in zip(cos, cameras, corrections, strict=True):
            view = None if camera is None else self.frame(camera, correction)
            if view is not None and self.geo_weight > 0:
                placed = {p.peak_id: p for p in view.peaks}
                priors = np.array([placed[p.id].prior if p.id in placed else 1.0 for p in self.peaks])
                ranking = combine(row, priors, self.geo_weight)
            else:
                ranking = row
            order = self.rank(ranking)
            prediction = PeakPrediction(
                [self.names[i] for i in order], [float((1 + row[i]) / 2) for i in order]
            )
            if view is not None:
                placed = {p.peak_id: p for p in view.peaks}
                prediction.in_frame = [p.name for p in view.in_frame()]
                prediction.extra["frame"] = frame_json(view)
                prediction.extra["peak_views"] = {
                    self.names[i]: peak_json(placed[self.peaks[i].id])
                    for i in order
                    if self.peaks[i].id in placed
                }
            predictions.append(prediction)
        return predictions
