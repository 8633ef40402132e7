"""The searches users run, shared by the CLI and the UI: text → photos, photo → peaks → photos, facets.

Scores are the engine's cosine scores, (1 + cos) / 2, shown as they are. ``confidence`` is SigLIP's own
calibrated match probability, sigmoid(logit_scale · cos + logit_bias): it is meaningful for text↔image pairs
only, so image→image results carry none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from peaklens.config import Settings
from peaklens.embed.base import Embedder
from peaklens.embed.prompts import text_query_vector
from peaklens.errors import BadInput
from peaklens.records import PeakHit, PhotoHit, SearchFilters
from peaklens.store.base import PhotoStore

SortKey = Literal["score", "time"]
IDENTIFY_K = 3
IDENTIFY_CANDIDATES = 500
SIMILAR_K = 30


@dataclass
class Result:
    """One photo in a result list, with what the user needs to judge it."""

    hit: PhotoHit
    confidence: float | None = None
    explain: dict[str, float] = field(default_factory=dict)


@dataclass
class SimilarResult:
    peaks: list[PeakHit]
    photos: list[Result]


def match_probability(embedder: Embedder, cosine: float) -> float:
    """SigLIP's calibrated probability that a text and an image match."""
    logit = embedder.logit_scale * cosine + embedder.logit_bias
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


def sort_results(results: list[Result], sort: SortKey) -> list[Result]:
    if sort == "time":
        # undated photos last, then by score
        return sorted(
            results,
            key=lambda r: (
                r.hit.shot_time is None,
                r.hit.shot_time.timestamp() if r.hit.shot_time else 0.0,
                -r.hit.score,
            ),
        )
    return results


class Searcher:
    """Search over one store with one embedder; holds no state beyond cached peak names."""

    def __init__(self, settings: Settings, store: PhotoStore, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._peak_names: dict[str, str] | None = None

    # --- peaks ---------------------------------------------------------------------------------------
    def peak_aliases(self) -> dict[str, str]:
        """Every lower-cased name, alias and id → display name."""
        if self._peak_names is None:
            aliases: dict[str, str] = {}
            for peak in self.store.all_peaks():
                for alias in (*peak.names, peak.id):
                    aliases.setdefault(alias.casefold().strip(), peak.name)
            self._peak_names = aliases
        return self._peak_names

    def resolve_peak(self, name: str) -> str | None:
        return self.peak_aliases().get(name.casefold().strip())

    def query_names_peak(self, query: str) -> str | None:
        return self.resolve_peak(query)

    # --- text → photos -------------------------------------------------------------------------------
    def text(
        self,
        query: str,
        filters: SearchFilters | None = None,
        *,
        k: int | None = None,
        num_candidates: int | None = None,
        sort: SortKey = "score",
        min_confidence: float | None = None,
    ) -> list[Result]:
        query = query.strip()
        if not query:
            raise BadInput('Type something to search for, e.g. "prayer flags" or "Ama Dablam".')
        k = k or self.settings.k
        num_candidates = max(k, num_candidates or self.settings.num_candidates)
        peak = self.query_names_peak(query)
        vector = text_query_vector(
            self.embedder,
            peak or query,
            is_peak=peak is not None,
            anti_concept_weight=self.settings.anti_concept_weight,
        )
        hits = self.store.knn_photos(vector, k, num_candidates, filters)
        cut = self.settings.min_confidence if min_confidence is None else min_confidence
        results = []
        for hit in hits:
            confidence = match_probability(self.embedder, hit.cosine)
            if confidence >= cut:
                results.append(Result(hit, confidence, {"knn_score": hit.score}))
        return sort_results(results, sort)

    # --- photo → peaks → photos ----------------------------------------------------------------------
    def image_vector(self, image: Image.Image) -> np.ndarray:
        return self.embedder.embed_images([image])[0]

    def identify_vector(self, vector: np.ndarray, k: int = IDENTIFY_K) -> list[PeakHit]:
        return self.store.knn_peaks(vector, k, IDENTIFY_CANDIDATES)

    def identify(self, image: Image.Image, k: int = IDENTIFY_K) -> list[PeakHit]:
        if not self.store.all_peaks():
            raise BadInput("The peaks catalog is empty: run `peaklens catalog build` first.")
        return self.identify_vector(self.image_vector(image), k)

    def similar(
        self, image: Image.Image, k: int = SIMILAR_K, filters: SearchFilters | None = None
    ) -> SimilarResult:
        """The seed's two steps: identify the peak, then photos predicted to show it, by visual similarity."""
        vector = self.image_vector(image)
        peaks = self.identify_vector(vector)
        if not peaks:
            raise BadInput("The peaks catalog is empty: run `peaklens catalog build` first.")
        base = filters or SearchFilters()
        narrowed = SearchFilters(base.bbox, base.time_from, base.time_to, (peaks[0].name,))
        hits = self.store.knn_photos(vector, k, max(k, self.settings.num_candidates), narrowed)
        return SimilarResult(peaks, [Result(hit) for hit in hits])

    def looks_like(
        self, image: Image.Image, k: int = SIMILAR_K, filters: SearchFilters | None = None
    ) -> list[Result]:
        """Visually similar photos, whatever peak they show."""
        vector = self.image_vector(image)
        hits = self.store.knn_photos(vector, k, max(k, self.settings.num_candidates), filters)
        return [Result(hit) for hit in hits]

    # --- facets ----------------------------------------------------------------------------------------
    def facets(self, filters: SearchFilters | None = None) -> list[tuple[str, int]]:
        return self.store.peak_facets(filters)
