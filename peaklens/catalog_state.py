"""The peaks catalog as one immutable value: its peaks, their names, and the fingerprint it was read under.

Every use case that needs peaks (names in a query, ``--peak`` filters, identification, the frame of a photo)
takes them from one ``Catalog`` instead of reading the store again, so one answer never mixes two catalogs, and
a catalog built while the UI serves is seen at every session's next action (the fingerprint changed).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from peaklens.names import NameMatch, PeakNameIndex
from peaklens.records import PeakDoc
from peaklens.store.base import PhotoStore

#: the store's metadata key that names the catalog build; a new build writes a new value
FINGERPRINT_KEY = "catalog_fingerprint"


def catalog_fingerprint(meta: Mapping[str, str]) -> str:
    """The fingerprint of the catalog the store holds; stores built before the key existed are keyed by
    what their build wrote (model, source, references, anti-concept weight)."""
    stamp = meta.get(FINGERPRINT_KEY)
    if stamp:
        return stamp
    parts = [meta.get(k, "") for k in ("catalog_model", "catalog_source", "catalog_refs")]
    parts.append(meta.get("catalog_anti_concept_weight", ""))
    return "legacy:" + hashlib.sha1("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Catalog:
    """The catalog's peaks in catalog order, with a name index built once per catalog."""

    fingerprint: str
    peaks: tuple[PeakDoc, ...]
    names: PeakNameIndex = field(compare=False, repr=False)

    @classmethod
    def of(cls, fingerprint: str, peaks: Sequence[PeakDoc]) -> Catalog:
        return cls(fingerprint, tuple(peaks), PeakNameIndex((p.id, p.names) for p in peaks))

    def __bool__(self) -> bool:
        return bool(self.peaks)

    def resolve(self, name: str) -> str | None:
        """Any alias, id or near-miss spelling → the display name; None when no peak is meant."""
        return self.names.resolve(name)

    def match(self, query: str) -> NameMatch | None:
        return self.names.match(query)

    def by_name(self, display_name: str) -> PeakDoc | None:
        return next((p for p in self.peaks if p.name == display_name), None)

    def by_id(self, peak_id: str) -> PeakDoc | None:
        return next((p for p in self.peaks if p.id == peak_id), None)


class CatalogSource:
    """The store's current catalog: re-read only when the store's fingerprint changed (one small metadata
    read per call). Shared by the threads of the UI server, hence the lock around the swap."""

    def __init__(self, store: PhotoStore) -> None:
        self.store = store
        self._current: Catalog | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Catalog:
        fingerprint = catalog_fingerprint(self.store.get_meta())
        with self._lock:
            current = self._current
        if current is not None and current.fingerprint == fingerprint:
            return current
        fresh = Catalog.of(fingerprint, self.store.all_peaks())
        with self._lock:
            self._current = fresh
        return fresh
