"""Predicting the peaks in photos: one matrix product per batch against the catalog prototypes.

No store round trip per photo: the prototypes are loaded once and every photo of a batch is scored at once.
A photo with GPS also gets the geo prior (``peaklens.geo``): peaks behind the camera or out of sight are
down-weighted by ``geo_weight``; photos without GPS get the purely visual ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from peaklens.exif import PhotoMeta
from peaklens.geo import Camera, PeakView, combine, geo_prior, horizontal_fov_deg
from peaklens.records import PeakDoc


@dataclass
class PeakPrediction:
    """The top-k peaks of one photo; ``scores`` are the visual cosine scores (1 + cos) / 2, like the engine's.

    ``extra["peak_views"]`` holds, for photos with GPS, each predicted peak's distance, bearing and prior.
    """

    names: list[str]
    scores: list[float]
    extra: dict[str, object] = field(default_factory=dict)


def camera_of(meta: PhotoMeta, width: int, height: int) -> Camera | None:
    """The camera a photo's EXIF describes, or None without GPS."""
    if meta.gps is None:
        return None
    hfov = horizontal_fov_deg(meta.focal_length_35mm, meta.focal_length_mm, width, height)
    return Camera(meta.gps, meta.altitude_m, meta.heading_deg, hfov)


def view_json(view: PeakView) -> dict[str, object]:
    return {
        "distance_km": round(view.distance_km, 2),
        "bearing_deg": round(view.bearing_deg, 1),
        "off_axis_deg": None if view.off_axis_deg is None else round(view.off_axis_deg, 1),
        "in_view": view.in_view,
        "prior": round(view.prior, 4),
    }


class PeakPredictor:
    """Ranks catalog peaks for batches of photo vectors."""

    def __init__(self, peaks: list[PeakDoc], top_k: int, geo_weight: float = 0.0) -> None:
        self.peaks = peaks
        self.top_k = max(1, min(top_k, len(peaks))) if peaks else 0
        self.geo_weight = geo_weight
        self.names = [p.name for p in peaks]
        self.matrix = np.stack([p.vector for p in peaks]).astype(np.float32) if peaks else None
        self._geo_input = [(p.id, p.latlon, float(p.elev_m) if p.elev_m is not None else None) for p in peaks]

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        """(photos, peaks) cosine matrix; vectors and prototypes are unit length."""
        if self.matrix is None:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        return np.asarray(vectors, dtype=np.float32) @ self.matrix.T

    def rank(self, scores: np.ndarray) -> list[int]:
        """Peak indices best first; ties keep catalog order (stable), so runs are reproducible."""
        return [int(i) for i in np.argsort(-scores, kind="stable")[: self.top_k]]

    def views(self, camera: Camera) -> list[PeakView | None]:
        return geo_prior(camera, self._geo_input)

    def fused(self, row: np.ndarray, camera: Camera | None) -> tuple[np.ndarray, list[PeakView | None]]:
        """Ranking scores for one photo (visual, or visual + geo prior) and the views used."""
        if camera is None or self.geo_weight <= 0:
            return row, []
        views = self.views(camera)
        priors = np.array([1.0 if v is None else v.prior for v in views])
        return combine(row, priors, self.geo_weight), views

    def predict(
        self, vectors: np.ndarray, cameras: Sequence[Camera | None] | None = None
    ) -> list[PeakPrediction]:
        cos = self.cosines(vectors)
        cameras = cameras or [None] * len(cos)
        predictions = []
        for row, camera in zip(cos, cameras, strict=True):
            ranking, views = self.fused(row, camera)
            order = self.rank(ranking)
            prediction = PeakPrediction(
                [self.names[i] for i in order], [float((1 + row[i]) / 2) for i in order]
            )
            if camera is not None:
                every = views or self.views(camera)
                prediction.extra["peak_views"] = {
                    self.names[i]: view_json(view) for i in order if (view := every[i]) is not None
                }
            predictions.append(prediction)
        return predictions
