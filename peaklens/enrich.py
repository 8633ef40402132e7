"""Predicting the peaks in photos: one matrix product per batch against the catalog prototypes.

No store round trip per photo: the prototypes are loaded once and every photo of a batch is scored at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from peaklens.records import PeakDoc


@dataclass
class PeakPrediction:
    """The top-k peaks of one photo; ``scores`` are cosine scores (1 + cos) / 2, like the engine's."""

    names: list[str]
    scores: list[float]
    extra: dict[str, object] = field(default_factory=dict)


class PeakPredictor:
    """Ranks catalog peaks for batches of photo vectors."""

    def __init__(self, peaks: list[PeakDoc], top_k: int) -> None:
        self.peaks = peaks
        self.top_k = max(1, min(top_k, len(peaks))) if peaks else 0
        self.names = [p.name for p in peaks]
        self.matrix = np.stack([p.vector for p in peaks]).astype(np.float32) if peaks else None

    def cosines(self, vectors: np.ndarray) -> np.ndarray:
        """(photos, peaks) cosine matrix; vectors and prototypes are unit length."""
        if self.matrix is None:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        return np.asarray(vectors, dtype=np.float32) @ self.matrix.T

    def rank(self, scores: np.ndarray) -> list[int]:
        """Peak indices best first; ties keep catalog order (stable), so runs are reproducible."""
        return [int(i) for i in np.argsort(-scores, kind="stable")[: self.top_k]]

    def predict(self, vectors: np.ndarray) -> list[PeakPrediction]:
        cos = self.cosines(vectors)
        predictions = []
        for row in cos:
            order = self.rank(row)
            predictions.append(
                PeakPrediction([self.names[i] for i in order], [float((1 + row[i]) / 2) for i in order])
            )
        return predictions
