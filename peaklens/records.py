"""The records that flow through the pipeline, independent of model and store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import numpy as np


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class BBox:
    """A geo bounding box in the Elasticsearch order: top, left, bottom, right."""

    top: float
    left: float
    bottom: float
    right: float

    def contains(self, point: GeoPoint) -> bool:
        if not (self.bottom <= point.lat <= self.top):
            return False
        if self.left <= self.right:
            return self.left <= point.lon <= self.right
        return point.lon >= self.left or point.lon <= self.right  # crosses the antimeridian


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied to the candidates *before* the k nearest are taken.

    ``peaks`` holds canonical peak names; a photo matches when its predicted peaks hold any of them.
    ``time_from``/``time_to`` are timezone-aware and inclusive.
    """

    bbox: BBox | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    peaks: tuple[str, ...] = ()
    #: local calendar days (inclusive) compared with the photo's own wall-clock date, as photo apps show it
    day_from: date | None = None
    day_to: date | None = None
    #: peak names; a photo matches when its ``peaks_in_frame`` holds any of them (geometry, no model)
    peaks_in_frame: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return (
            self.bbox is None
            and self.time_from is None
            and self.time_to is None
            and not self.peaks
            and self.day_from is None
            and self.day_to is None
            and not self.peaks_in_frame
        )


@dataclass
class PhotoDoc:
    """One document of the ``photos`` index.

    ``shot_time`` keeps the camera's local time with its offset when EXIF had OffsetTimeOriginal, else it is
    naive (and compared as UTC). ``local_time`` is the wall-clock time the camera showed (naive), the basis of
    "photos of 21 October"; ``time_source`` names the tag it came from. ``peaks_in_frame`` are the catalog peaks
    geometry puts inside the frame (GPS + heading, terrain when a DEM covers it). ``heading_offset_deg`` is a
    correction added to the compass heading, from ``heading_source`` ("registered", "user", or "skyline" in stores indexed
    before registration; None = compass).
    ``gps_source`` says where the position came from ("exif", or "gpx": placed from a track by capture time).
    ``heading_deg`` is always against true north: ``heading_ref`` is what EXIF recorded ("T", or "M" for a
    magnetic compass) and ``declination_deg`` the World Magnetic Model declination added to a magnetic one.
    ``file_size``/``file_mtime`` let a re-run skip unchanged photos.
    """

    id: str
    path: str
    vector: np.ndarray
    predicted_peaks: list[str] = field(default_factory=list)
    peak_scores: list[float] = field(default_factory=list)
    gps: GeoPoint | None = None
    altitude_m: float | None = None
    heading_deg: float | None = None
    shot_time: datetime | None = None
    file_size: int = 0
    file_mtime: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)
    local_time: datetime | None = None
    time_source: str | None = None
    peaks_in_frame: list[str] = field(default_factory=list)
    heading_offset_deg: float | None = None
    heading_source: str | None = None
    gps_source: str | None = None
    heading_ref: str | None = None
    declination_deg: float | None = None


@dataclass
class PeakDoc:
    """One document of the ``peaks_catalog`` index; ``names[0]`` is the display name."""

    id: str
    names: list[str]
    vector: np.ndarray
    latlon: GeoPoint | None = None
    elev_m: int | None = None
    #: the text-only prototype (prompt ensemble minus anti-concept) beside the blended ``vector``: a query
    #: that names this peak reuses it instead of running the text tower
    text_vector: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass
class PhotoHit:
    """A photo returned by a search. ``score`` is the engine's cosine score, (1 + cos) / 2."""

    id: str
    path: str
    score: float
    predicted_peaks: list[str]
    peak_scores: list[float]
    gps: GeoPoint | None
    shot_time: datetime | None
    altitude_m: float | None = None
    heading_deg: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
    local_time: datetime | None = None
    time_source: str | None = None
    peaks_in_frame: list[str] = field(default_factory=list)
    heading_offset_deg: float | None = None
    heading_source: str | None = None
    gps_source: str | None = None
    heading_ref: str | None = None
    declination_deg: float | None = None

    @property
    def cosine(self) -> float:
        return 2.0 * self.score - 1.0


@dataclass(frozen=True)
class RankedPhoto:
    """One place in a kNN ranking without the rest of the document: fusion ranks thousands of candidates and
    shows a few, so only the shown ones are fetched in full. ``score`` is (1 + cos) / 2, as on ``PhotoHit``."""

    id: str
    path: str
    score: float

    @property
    def cosine(self) -> float:
        return 2.0 * self.score - 1.0


@dataclass
class PhotoUpdate:
    """A partial update of one stored photo that keeps its vector: re-predicted peaks, a heading correction.

    Fields left as None are not touched; ``extra`` replaces the stored extra when given.
    """

    predicted_peaks: list[str] | None = None
    peak_scores: list[float] | None = None
    peaks_in_frame: list[str] | None = None
    heading_offset_deg: float | None = None
    heading_source: str | None = None
    extra: dict[str, object] | None = None


@dataclass
class PeakHit:
    """A catalog peak returned for a photo. ``score`` is the visual cosine score, (1 + cos) / 2;
    ``fused_score`` is the score the ranking is by when the geo prior took part (same units), else None."""

    id: str
    name: str
    names: list[str]
    score: float
    latlon: GeoPoint | None = None
    elev_m: int | None = None
    fused_score: float | None = None

    @property
    def rank_score(self) -> float:
        """The score the order is by."""
        return self.score if self.fused_score is None else self.fused_score

    @property
    def cosine(self) -> float:
        return 2.0 * self.score - 1.0


@dataclass(frozen=True)
class FileSignature:
    """What a re-run compares to decide whether a photo changed."""

    path: str
    size: int
    mtime: float


@dataclass
class BulkReport:
    """What a bulk write did: ids written, and a readable reason per id that failed."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def utc(moment: datetime) -> datetime:
    """Aware UTC; naive values are taken as UTC (never as the server's zone, which ``timestamp()`` would use)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
