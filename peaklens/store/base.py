"""The store seam. Both backends implement this and must give the same answers to the same queries.

Scores follow Elasticsearch's cosine similarity: ``(1 + cos) / 2``. kNN filters restrict the candidates
before the k nearest are taken (never a union with the filter).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from peaklens.records import (
    BulkReport,
    FileSignature,
    PeakDoc,
    PeakHit,
    PhotoDoc,
    PhotoHit,
    PhotoUpdate,
    RankedPhoto,
    SearchFilters,
)

SCHEMA_VERSION = 2


@runtime_checkable
class PhotoStore(Protocol):
    """Persistent home of the ``photos`` and ``peaks_catalog`` indices."""

    def ensure_indices(self, dim: int) -> None:
        """Create both indices when missing (idempotent); raise ``PeaklensError`` on a dimension mismatch."""

    # --- metadata (album root, model id, schema version) -------------------------------------------
    def get_meta(self) -> dict[str, str]:
        """Small key/value facts about the index (``album_root``, ``model``, ``schema``...); {} when new."""

    def set_meta(self, meta: dict[str, str]) -> None:
        """Replace the metadata."""

    # --- photos ----------------------------------------------------------------------------------
    def upsert_photos(self, docs: Sequence[PhotoDoc]) -> BulkReport:
        """Insert or replace by ``doc.id``; per-document failures are reported, never swallowed."""

    def delete_photos(self, ids: Iterable[str]) -> int:
        """Delete by id; returns how many were deleted."""

    def photo_signatures(self) -> dict[str, FileSignature]:
        """id -> (path, size, mtime) of every stored photo, for incremental re-runs."""

    def get_photo(self, photo_id: str) -> PhotoHit | None:
        """One stored photo (score 1.0), or None."""

    def get_photo_vector(self, photo_id: str) -> np.ndarray | None:
        """The stored image vector of one photo, or None."""

    def update_photos(self, updates: Mapping[str, PhotoUpdate]) -> BulkReport:
        """Partial updates by id that keep each photo's vector (re-predicted peaks, heading corrections)."""

    def iter_photo_vectors(self, batch_size: int = 1000) -> Iterator[list[tuple[PhotoHit, np.ndarray]]]:
        """Every stored photo with its vector, in batches: re-predicting peaks needs no re-embedding."""

    def count_photos(self, filters: SearchFilters | None = None) -> int: ...

    def knn_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[PhotoHit]:
        """The k nearest photos among those matching ``filters``, best first (ties by path)."""

    def rank_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[RankedPhoto]:
        """``knn_photos`` reduced to id, path and score: the same photos in the same order, without fetching
        their documents."""

    def get_photos(self, ids: Sequence[str]) -> list[PhotoHit]:
        """The stored photos with these ids (score 1.0), in the order asked; ids not stored are left out."""

    def list_photos(self, filters: SearchFilters | None = None, limit: int = 1000) -> list[PhotoHit]:
        """Photos matching ``filters`` without a vector query (score 1.0), newest first."""

    def peak_facets(
        self, filters: SearchFilters | None = None, size: int = 100, field: str = "predicted_peaks"
    ) -> list[tuple[str, int]]:
        """(peak name, photo count) over ``field`` (``predicted_peaks`` or ``peaks_in_frame``), most photos
        first, ties by name."""

    # --- peaks catalog ---------------------------------------------------------------------------
    def upsert_peaks(self, peaks: Sequence[PeakDoc]) -> BulkReport: ...

    def all_peaks(self) -> list[PeakDoc]:
        """Every catalog peak with its prototype vector, sorted by id."""

    def knn_peaks(self, vector: np.ndarray, k: int, num_candidates: int) -> list[PeakHit]: ...

    def clear_peaks(self) -> None:
        """Remove every catalog document (a rebuild replaces the catalog whole)."""

    def refresh(self) -> None:
        """Make writes visible to searches and do the upkeep a run leaves (the embedded store builds its kNN
        matrix); an upkeep failure is one ``StoreUpkeepWarning`` line, never silence
        (``peaklens.store.upkeep.refresh_and_report`` passes it to a person)."""

    def close(self) -> None: ...
