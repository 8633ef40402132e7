"""Peak prediction scores a whole batch against the prototypes at once."""

from __future__ import annotations

import numpy as np

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
