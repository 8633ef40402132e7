"""The searches users run, shared by the CLI and the UI: text → photos, photo → peaks → photos, facets.

Scores are the engine's cosine scores, (1 + cos) / 2, shown as they are. ``confidence`` is SigLIP's own
calibrated match probability, sigmoid(logit_scale · cos + logit_bias): it is meaningful for text↔image pairs
only, so image→image results carry none.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

import numpy as np
from PIL import Image

from peaklens.catalog_state import Catalog, CatalogSource
from peaklens.config import Settings
from peaklens.dem import Dem
from peaklens.embed.base import Embedder
from peaklens.embed.prompts import PEAK_PROMPTS, ensemble_vector, prompts_for, text_query_vector
from peaklens.enrich import HeadingCorrection, PeakPredictor
from peaklens.errors import BadInput
from peaklens.geo import Camera
from peaklens.names import NameMatch, PeakNameIndex
from peaklens.records import PeakDoc, PeakHit, PhotoHit, SearchFilters, utc
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


class ResultList(list[Result]):
    """Results best first, plus what the confidence cut removed (so an empty answer can say why)."""

    def __init__(self, results: list[Result] = (), dropped_below_confidence: int = 0, cut: float = 0.0):  # type: ignore[assignment]
        super().__init__(results)
        self.dropped_below_confidence = dropped_below_confidence
        self.min_confidence = cut


@dataclass
class SimilarResult:
    peaks: list[PeakHit]
    photos: list[Result]


def match_probability(embedder: Embedder, cosine: float) -> float:
    """SigLIP's calibrated probability that a text and an image match."""
    logit = embedder.logit_scale * cosine + embedder.logit_bias
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


def sort_results(results: list[Result], sort: SortKey) -> list[Result]:
    """Score order as given, or oldest first by the UTC instant (a naive time counts as UTC, never the
    server's zone); undated photos last, then by score."""
    if sort == "time":
        return sorted(
            results,
            key=lambda r: (
                r.hit.shot_time is None,
                utc(r.hit.shot_time).timestamp() if r.hit.shot_time else 0.0,
                -r.hit.score,
            ),
        )
    return results


def normalise_query(query: str) -> str:
    """The cache key of a query: the model sees lower-cased text, and spacing carries no meaning."""
    return " ".join(query.split()).lower()


RRF_K = 60


class Ranked(Protocol):
    """What fusion needs of a ranked photo: ``RankedPhoto`` and ``PhotoHit`` both have it."""

    @property
    def id(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def cosine(self) -> float: ...


R = TypeVar("R", bound=Ranked)


def fuse_rrf(knn: Sequence[R], by_peak: Sequence[R], k: int) -> list[tuple[R, dict[str, float]]]:
    """Reciprocal rank fusion: score(d) = Σ 1 / (RRF_K + rank in each list); ties by kNN score, then path.

    Returns the first ``k`` fused photos (the windows fused hold thousands of candidates), each with its
    ``explain``: the kNN score it is shown with, its rank in each list and the fused score.
    """
    ranks: dict[str, list[float | None]] = {}
    items: dict[str, R] = {}
    for slot, ranked in enumerate((knn, by_peak)):
        for rank, item in enumerate(ranked, start=1):
            items.setdefault(item.id, item)
            ranks.setdefault(item.id, [None, None])[slot] = float(rank)
    fused = {
        doc_id: sum(1.0 / (RRF_K + rank) for rank in pair if rank is not None)
        for doc_id, pair in ranks.items()
    }
    order = sorted(fused, key=lambda doc_id: (-fused[doc_id], -items[doc_id].score, items[doc_id].path))
    results = []
    for doc_id in order[:k]:
        item = items[doc_id]
        explain: dict[str, float] = {"knn_score": item.score}
        for name, place in zip(("knn_rank", "peak_rank"), ranks[doc_id], strict=True):
            if place is not None:
                explain[name] = place
        explain["rrf"] = fused[doc_id]
        results.append((item, explain))
    return results


class Searcher:
    """Search over one store with one embedder; holds no state beyond cached peak names and query vectors."""

    def __init__(
        self,
        settings: Settings,
        store: PhotoStore,
        embedder: Embedder,
        *,
        catalog: Callable[[], Catalog] | None = None,
        terrain: Callable[[], Dem | None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        #: the current catalog (re-read when the store's catalog fingerprint changes) and the terrain: the
        #: application layer passes its own, so a search and the frame beside it read the same ones
        self.catalog = catalog or CatalogSource(store)
        self.terrain = terrain or (lambda: None)
        self._vectors_of: str | None = None
        self._query_vectors: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()
        # one Searcher serves every session of the UI server: its caches are shared across threads
        self._lock = threading.RLock()

    # --- peaks ---------------------------------------------------------------------------------------
    def names(self) -> PeakNameIndex:
        """Every catalog name and alias, for recognising peaks in queries and filters."""
        return self._current_catalog().names

    def _current_catalog(self) -> Catalog:
        """The catalog now; remembered query vectors of an older catalog are dropped (peak prototypes)."""
        catalog = self.catalog()
        with self._lock:
            if self._vectors_of != catalog.fingerprint:
                self._vectors_of = catalog.fingerprint
                self._query_vectors.clear()
        return catalog

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
        """The query's vector, remembered for the last ``QUERY_CACHE_SIZE`` queries (keyed by the normalised
        query): the UI reruns its whole script on every click, and the text tower is most of a query's cost.

        A query that is a catalog peak's name is that peak's text prototype — every name and alias through
        the peak prompts, minus the anti-concept — which the catalog already stores: no text tower at all.
        """
        text, is_peak = self.query_plan(query, match)
        key = (normalise_query(text), is_peak)
        with self._lock:
            vector = self._query_vectors.pop(key, None)
        if vector is None:
            vector = self._peak_text_vector(text) if is_peak else None
        if vector is None:
            vector = text_query_vector(
                self.embedder, text, is_peak=is_peak, anti_concept_weight=self.settings.anti_concept_weight
            )
        with self._lock:
            self._query_vectors[key] = vector
            while len(self._query_vectors) > QUERY_CACHE_SIZE:
                self._query_vectors.popitem(last=False)
        return vector

    def _peak_text_vector(self, name: str) -> np.ndarray:
        """The stored text prototype when it was built the way this query would be (same model and
        anti-concept weight), else the same ensemble computed now."""
        peak = self._current_catalog().by_name(name)
        assert peak is not None  # ``name`` is a display name from the same catalog
        meta = self.store.get_meta()
        built_alike = meta.get("catalog_model") == self.embedder.model_id and meta.get(
            "catalog_anti_concept_weight"
        ) == repr(float(self.settings.anti_concept_weight))
        if peak.text_vector is not None and built_alike:
            return np.asarray(peak.text_vector, dtype=np.float32)
        return ensemble_vector(
            self.embedder, prompts_for(peak.names, PEAK_PROMPTS), self.settings.anti_concept_weight
        )

    def _ranked_of_peak(
        self, vector: np.ndarray, peak: str, k: int, num_candidates: int, filters: SearchFilters | None
    ) -> Sequence[Ranked]:
        """kNN among photos predicted to show ``peak`` and matching ``filters`` (both, not either)."""
        base = filters or SearchFilters()
        if not base.peaks:
            narrowed = dataclasses.replace(base, peaks=(peak,))
            return self.store.rank_photos(vector, k, num_candidates, narrowed)
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
    ) -> ResultList:
        """Photos for a text query. A query naming a catalog peak fuses (RRF) the kNN list with the kNN list
        restricted to photos predicted to show that peak; any other query is plain kNN (``photos_for``)."""
        query = query.strip()
        if not query:
            raise BadInput('Type something to search for, e.g. "prayer flags" or "Ama Dablam".')
        match = self.query_names_peak(query)
        return self.photos_for(
            self.text_vector(query, match),
            match.name if match is not None else None,
            filters,
            k=k,
            num_candidates=num_candidates,
            sort=sort,
            min_confidence=min_confidence,
        )

    def photos_for(
        self,
        vector: np.ndarray,
        peak: str | None,
        filters: SearchFilters | None = None,
        *,
        k: int | None = None,
        num_candidates: int | None = None,
        sort: SortKey = "score",
        min_confidence: float | None = None,
    ) -> ResultList:
        """Photos for a query vector; with ``peak`` (a display name) fused with that peak's photos.

        Fusion runs over the full candidate window (``num_candidates``) and only then cuts at k, so the first
        results do not depend on k. The confidence cut also comes before the cut at k: k results above it when
        there are k; ``ResultList.dropped_below_confidence`` says how many it removed.
        """
        if k is not None and k < 1:
            raise BadInput(f"k must be at least 1, not {k}.")
        k = k or self.settings.k
        num_candidates = max(k, num_candidates or self.settings.num_candidates)
        cut = self.settings.min_confidence if min_confidence is None else min_confidence
        match = peak
        window = num_candidates if (match is not None or cut > 0) else k
        ranked = self.store.rank_photos(vector, window, num_candidates, filters)
        fused: list[tuple[Ranked, dict[str, float]]]
        if match is None:
            fused = [(item, {"knn_score": item.score}) for item in ranked]
        else:
            peak_ranked = self._ranked_of_peak(vector, match, window, num_candidates, filters)
            # with a confidence cut every fused candidate is judged (and the dropped ones counted), else k are
            fused = fuse_rrf(ranked, peak_ranked, len(ranked) + len(peak_ranked) if cut > 0 else k)
        kept: list[tuple[Ranked, dict[str, float], float]] = []
        dropped = 0
        for item, explain in fused:
            confidence = match_probability(self.embedder, item.cosine)
            if confidence >= cut:
                kept.append((item, explain, confidence))
            else:
                dropped += 1
        shown = kept[:k]
        # only the photos shown are fetched whole; one deleted since the ranking is left out
        hits = {hit.id: hit for hit in self.store.get_photos([item.id for item, _, _ in shown])}
        results = [
            Result(dataclasses.replace(hits[item.id], score=item.score), confidence, explain)
            for item, explain, confidence in shown
            if item.id in hits
        ]
        return ResultList(sort_results(results, sort), dropped, cut)

    # --- photo → peaks → photos ----------------------------------------------------------------------
    def image_vector(self, image: Image.Image) -> np.ndarray:
        return self.embedder.embed_images([image])[0]

    def identify_vector(
        self,
        vector: np.ndarray,
        k: int = IDENTIFY_K,
        camera: Camera | None = None,
        correction: HeadingCorrection | None = None,
    ) -> list[PeakHit]:
        """The catalog's kNN (docs/DESIGN.md); with a camera position, every peak is re-ranked with the geo
        prior (the heading ``correction`` of a registration or a click applied, as indexing applies it), and
        with peaks calibrated against the album (reference photos) every peak is scored on that scale."""
        calibrated = bool(self._calibration())
        if (camera is None or self.settings.geo_weight <= 0) and not calibrated:
            return self.store.knn_peaks(vector, k, IDENTIFY_CANDIDATES)
        peaks = list(self._current_catalog().peaks)
        predictor = self.predictor(peaks)
        row = predictor.cosines(vector[None, :])[0]
        ranking, _views = predictor.fused(row, camera, correction)
        order = predictor.rank(ranking)[:k]
        return [
            PeakHit(
                peaks[i].id,
                peaks[i].name,
                peaks[i].names,
                float((1 + row[i]) / 2),
                peaks[i].latlon,
                peaks[i].elev_m,
                fused_score=float((1 + ranking[i]) / 2) if ranking is not row else None,
            )
            for i in order
        ]

    def predictor(self, peaks: list[PeakDoc]) -> PeakPredictor:
        """A predictor over every catalog peak (identify ranks them all), with the terrain when there is one,
        exactly as indexing predicts: a peak hidden by a ridge ranks alike on every path."""
        return PeakPredictor(
            peaks, len(peaks), self.settings.geo_weight, dem=self.terrain(), calibration=self._calibration()
        )

    def _calibration(self) -> dict[str, tuple[float, float]]:
        """The blended prototypes' calibration against the album (``catalog.calibrate_prototypes``)."""
        from peaklens.catalog import stored_calibration

        return stored_calibration(self.store.get_meta())[0]

    def identify(
        self, image: Image.Image, k: int = IDENTIFY_K, camera: Camera | None = None
    ) -> list[PeakHit]:
        if not self._current_catalog():
            raise BadInput("The peaks catalog is empty: run `peaklens catalog build` first.")
        return self.identify_vector(self.image_vector(image), k, camera)

    def similar(
        self,
        image: Image.Image,
        k: int = SIMILAR_K,
        filters: SearchFilters | None = None,
        camera: Camera | None = None,
        vector: np.ndarray | None = None,
    ) -> SimilarResult:
        """The seed's two steps: identify the peak, then photos predicted to show it, by visual similarity.
        ``vector`` is the image's vector when the caller already has it (the UI shows two sections)."""
        vector = self.image_vector(image) if vector is None else vector
        peaks = self.identify_vector(vector, camera=camera)
        if not peaks:
            raise BadInput("The peaks catalog is empty: run `peaklens catalog build` first.")
        return SimilarResult(peaks, self.photos_of_peak(vector, peaks[0].name, k, filters))

    def photos_of_peak(
        self, vector: np.ndarray, peak: str, k: int = SIMILAR_K, filters: SearchFilters | None = None
    ) -> list[Result]:
        """Photos predicted to show ``peak`` (a display name), most similar to ``vector`` first."""
        narrowed = dataclasses.replace(filters or SearchFilters(), peaks=(peak,))
        hits = self.store.knn_photos(vector, k, max(k, self.settings.num_candidates), narrowed)
        return [Result(hit) for hit in hits]

    def looks_like(
        self,
        image: Image.Image,
        k: int = SIMILAR_K,
        filters: SearchFilters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Result]:
        """Visually similar photos, whatever peak they show."""
        vector = self.image_vector(image) if vector is None else vector
        hits = self.store.knn_photos(vector, k, max(k, self.settings.num_candidates), filters)
        return [Result(hit) for hit in hits]

    # --- facets ----------------------------------------------------------------------------------------
    def facets(self, filters: SearchFilters | None = None) -> list[tuple[str, int]]:
        return self.store.peak_facets(filters)
