"""The searches users run, shared by the CLI and the UI: text → photos, photo → peaks → photos, facets.

Scores are the engine's cosine scores, (1 + cos) / 2, shown as they are. ``confidence`` is SigLIP's own
calibrated match probability, sigmoid(logit_scale · cos + logit_bias): it is meaningful for text↔image pairs
only, so image→image results carry none.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from peaklens.config import Settings
from peaklens.embed.base import Embedder
from peaklens.embed.prompts import text_query_vector
from peaklens.enrich import PeakPredictor
from peaklens.errors import BadInput
from peaklens.geo import Camera
from peaklens.names import NameMatch, PeakNameIndex
from peaklens.records import PeakHit, PhotoHit, SearchFilters
from peaklens.store.base import PhotoStore

SortKey = Literal["score", "time"]
IDENTIFY_K = 3
IDENTIFY_CANDIDATES = 500
SIMILAR_K = 30
QUERY_CACHE_SIZE = 256


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


RRF_K = 60


def fuse_rrf(knn: list[PhotoHit], by_peak: list[PhotoHit], k: int) -> list[Result]:
    """Reciprocal rank fusion: score(d) = Σ 1 / (RRF_K + rank in each list); ties by kNN score, then path.

    The displayed score stays the engine's kNN score; ``explain`` holds the parts.
    """
    parts: dict[str, dict[str, float]] = {}
    hits: dict[str, PhotoHit] = {}
    for name, ranked in (("knn_rank", knn), ("peak_rank", by_peak)):
        for rank, hit in enumerate(ranked, start=1):
            hits.setdefault(hit.id, hit)
            parts.setdefault(hit.id, {})[name] = float(rank)
    results = []
    for doc_id, ranks in parts.items():
        rrf = sum(1.0 / (RRF_K + rank) for rank in ranks.values())
        hit = hits[doc_id]
        results.append(Result(hit, None, {"knn_score": hit.score, **ranks, "rrf": rrf}))
    results.sort(key=lambda r: (-r.explain["rrf"], -r.hit.score, r.hit.path))
    return results[:k]


class Searcher:
    """Search over one store with one embedder; holds no state beyond cached peak names and query vectors."""

    def __init__(self, settings: Settings, store: PhotoStore, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._names: PeakNameIndex | None = None
        self._query_vectors: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()

    # --- peaks ---------------------------------------------------------------------------------------
    def names(self) -> PeakNameIndex:
        """Every catalog name and alias, for recognising peaks in queries and filters."""
        if self._names is None:
            self._names = PeakNameIndex((p.id, p.names) for p in self.store.all_peaks())
        return self._names

    def resolve_peak(self, name: str) -> str | None:
        return self.names().resolve(name)

    def query_names_peak(self, query: str) -> NameMatch | None:
        return self.names().match(query)

    # --- text → photos -------------------------------------------------------------------------------
    def query_plan(self, query: str, match: NameMatch | None) -> tuple[str, bool]:
        """(text to embed, use the peak prompts?): a query that is just a peak's name embeds as that peak
        with the peak prompts; anything else ("ama dablam at sunset", "prayer flags") as typed, neutrally."""
        if match is not None and self.resolve_peak(query) == match.name:
            return match.name, True
        return query, False

    def text_vector(self, query: str, match: NameMatch | None) -> np.ndarray:
        """The query's vector, remembered for the last ``QUERY_CACHE_SIZE`` queries: the UI reruns its whole
        script on every click, and the text tower (≈50–140 ms on a CPU) is most of a query's cost."""
        key = self.query_plan(query, match)
        vector = self._query_vectors.pop(key, None)
        if vector is None:
            text, is_peak = key
            vector = text_query_vector(
                self.embedder, text, is_peak=is_peak, anti_concept_weight=self.settings.anti_concept_weight
            )
        self._query_vectors[key] = vector
        while len(self._query_vectors) > QUERY_CACHE_SIZE:
            self._query_vectors.popitem(last=False)
        return vector

    def forget_query_vectors(self) -> None:
        """Drop remembered query vectors (benchmarks time the text tower with it)."""
        self._query_vectors.clear()

    def _photos_of_peak(
        self, vector: np.ndarray, peak: str, k: int, num_candidates: int, filters: SearchFilters | None
    ) -> list[PhotoHit]:
        """kNN among photos predicted to show ``peak`` and matching ``filters`` (both, not either)."""
        base = filters or SearchFilters()
        if not base.peaks:
            narrowed = SearchFilters(base.bbox, base.time_from, base.time_to, (peak,))
            return self.store.knn_photos(vector, k, num_candidates, narrowed)
        hits = self.store.knn_photos(vector, max(k, num_candidates), num_candidates, base)
        return [hit for hit in hits if peak in hit.predicted_peaks][:k]

    def text(
        self,
        query: str,
        filters: SearchFilters | None = None,
        *,
        k: int | None = None,
        num_candidates: int | None = None,
        sort: SortKey = "score",
        min_confidence: float | None = None,
        hybrid: bool = True,
    ) -> list[Result]:
        """Photos for a text query. A query naming a catalog peak fuses (RRF) the kNN list with the kNN list
        restricted to photos predicted to show that peak; any other query is plain kNN."""
        query = query.strip()
        if not query:
            raise BadInput('Type something to search for, e.g. "prayer flags" or "Ama Dablam".')
        k = k or self.settings.k
        num_candidates = max(k, num_candidates or self.settings.num_candidates)
        match = self.query_names_peak(query) if hybrid else None
        vector = self.text_vector(query, match)
        hits = self.store.knn_photos(vector, k, num_candidates, filters)
        results: list[Result]
        if match is None:
            results = [Result(hit, None, {"knn_score": hit.score}) for hit in hits]
        else:
            peak_hits = self._photos_of_peak(vector, match.name, k, num_candidates, filters)
            results = fuse_rrf(hits, peak_hits, k)
        cut = self.settings.min_confidence if min_confidence is None else min_confidence
        kept = []
        for result in results:
            result.confidence = match_probability(self.embedder, result.hit.cosine)
            if result.confidence >= cut:
                kept.append(result)
        return sort_results(kept, sort)

    # --- photo → peaks → photos ----------------------------------------------------------------------
    def image_vector(self, image: Image.Image) -> np.ndarray:
        return self.embedder.embed_images([image])[0]

    def identify_vector(
        self, vector: np.ndarray, k: int = IDENTIFY_K, camera: Camera | None = None
    ) -> list[PeakHit]:
        """The catalog's kNN (SYSTEM.md); with a camera position, every peak is re-ranked with the geo prior."""
        if camera is None or self.settings.geo_weight <= 0:
            return self.store.knn_peaks(vector, k, IDENTIFY_CANDIDATES)
        peaks = self.store.all_peaks()
        predictor = PeakPredictor(peaks, len(peaks), self.settings.geo_weight)
        row = predictor.cosines(vector[None, :])[0]
        ranking, _views = predictor.fused(row, camera)
        order = predictor.rank(ranking)[:k]
        return [
            PeakHit(
                peaks[i].id,
                peaks[i].name,
                peaks[i].names,
                float((1 + row[i]) / 2),
                peaks[i].latlon,
                peaks[i].elev_m,
            )
            for i in order
        ]

    def identify(
        self, image: Image.Image, k: int = IDENTIFY_K, camera: Camera | None = None
    ) -> list[PeakHit]:
        if not self.store.all_peaks():
            raise BadInput("The peaks catalog is empty: run `peaklens catalog build` first.")
        return self.identify_vector(self.image_vector(image), k, camera)

    def similar(
        self,
        image: Image.Image,
        k: int = SIMILAR_K,
        filters: SearchFilters | None = None,
        camera: Camera | None = None,
    ) -> SimilarResult:
        """The seed's two steps: identify the peak, then photos predicted to show it, by visual similarity."""
        vector = self.image_vector(image)
        peaks = self.identify_vector(vector, camera=camera)
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
