"""The Elasticsearch store: the two indices of docs/DESIGN.md, kNN with filters inside ``knn.filter``, bulk writes
through ``helpers.streaming_bulk`` with retries.

Query bodies are built by pure functions (``knn_body``, ``facets_body``, the mappings) so tests can assert the
exact JSON sent. Connection problems become one line naming the URL, never the credentials.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from elastic_transport import ConnectionTimeout, TlsError
from elasticsearch import ApiError, Elasticsearch, TransportError, UnsupportedProductError, helpers
from elasticsearch import ConnectionError as EsConnectionError

from peaklens.config import Settings
from peaklens.errors import PeaklensError, StoreUnavailable
from peaklens.records import (
    BulkReport,
    FileSignature,
    GeoPoint,
    PeakDoc,
    PeakHit,
    PhotoDoc,
    PhotoHit,
    PhotoUpdate,
    RankedPhoto,
    SearchFilters,
)
from peaklens.store.fields import check_facet_field, local_date, newest_first, wall_clock

PHOTO_SOURCE = [
    "path",
    "predicted_peaks",
    "gps",
    "shot_time",
    "peak_scores",
    "altitude_m",
    "heading_deg",
    "extra",
    "local_time",
    "time_source",
    "peaks_in_frame",
    "heading_offset_deg",
    "heading_source",
    "gps_source",
    "heading_ref",
    "declination_deg",
]
T = TypeVar("T")


# --- bodies (pure) ---------------------------------------------------------------------------------------
def _dense_vector(dim: int, m: int, ef_construction: int) -> dict[str, Any]:
    return {
        "type": "dense_vector",
        "dims": dim,
        "index": True,
        "similarity": "cosine",
        "index_options": {"type": "hnsw", "m": m, "ef_construction": ef_construction},
    }


def photos_mapping(dim: int, m: int = 16, ef_construction: int = 128) -> dict[str, Any]:
    """docs/DESIGN.md's photos mapping verbatim, plus the extra fields documented in docs/STORES.md."""
    return {
        "properties": {
            "path": {"type": "keyword"},
            "clip_image": _dense_vector(dim, m, ef_construction),
            "predicted_peaks": {"type": "keyword"},
            "gps": {"type": "geo_point"},
            "shot_time": {"type": "date"},
            "peak_scores": {"type": "float"},
            "altitude_m": {"type": "float"},
            "heading_deg": {"type": "float"},
            "file_size": {"type": "long"},
            "file_mtime": {"type": "double"},
            "extra": {"type": "object", "enabled": False},
            "local_time": {"type": "date", "format": "strict_date_optional_time"},
            "local_date": {"type": "date", "format": "strict_date"},
            "time_source": {"type": "keyword"},
            "peaks_in_frame": {"type": "keyword"},
            "heading_offset_deg": {"type": "float"},
            "heading_source": {"type": "keyword"},
            "gps_source": {"type": "keyword"},
            "heading_ref": {"type": "keyword"},
            "declination_deg": {"type": "float"},
        }
    }


def peaks_mapping(dim: int, m: int = 16, ef_construction: int = 128) -> dict[str, Any]:
    return {
        "properties": {
            "id": {"type": "keyword"},
            "names": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "latlon": {"type": "geo_point"},
            "elev_m": {"type": "integer"},
            "text_embed": _dense_vector(dim, m, ef_construction),
            "text_vector": {"type": "dense_vector", "dims": dim, "index": False},
        }
    }


def _iso(moment: datetime) -> str:
    """Full ISO date-time with an explicit offset (naive values are UTC, as Elasticsearch reads them)."""
    if moment.tzinfo is None:
        return moment.isoformat() + "Z"
    return moment.isoformat()


def filter_clauses(filters: SearchFilters | None) -> list[dict[str, Any]]:
    if filters is None:
        return []
    clauses: list[dict[str, Any]] = []
    if filters.bbox is not None:
        box = filters.bbox
        clauses.append(
            {
                "geo_bounding_box": {
                    "gps": {
                        "top_left": {"lat": box.top, "lon": box.left},
                        "bottom_right": {"lat": box.bottom, "lon": box.right},
                    }
                }
            }
        )
    if filters.time_from is not None or filters.time_to is not None:
        bounds = {}
        if filters.time_from is not None:
            bounds["gte"] = _iso(filters.time_from)
        if filters.time_to is not None:
            bounds["lte"] = _iso(filters.time_to)
        clauses.append({"range": {"shot_time": bounds}})
    if filters.day_from is not None or filters.day_to is not None:
        days = {}
        if filters.day_from is not None:
            days["gte"] = filters.day_from.isoformat()
        if filters.day_to is not None:
            days["lte"] = filters.day_to.isoformat()
        clauses.append({"range": {"local_date": days}})
    for field, names in (("predicted_peaks", filters.peaks), ("peaks_in_frame", filters.peaks_in_frame)):
        if len(names) == 1:
            clauses.append({"term": {field: names[0]}})
        elif names:
            clauses.append({"terms": {field: list(names)}})
    return clauses


def knn_body(
    vector: Sequence[float],
    k: int,
    num_candidates: int,
    filters: SearchFilters | None = None,
    *,
    field: str = "clip_image",
    source: Sequence[str] = tuple(PHOTO_SOURCE),
) -> dict[str, Any]:
    knn: dict[str, Any] = {
        "field": field,
        "query_vector": [float(x) for x in vector],
        "k": k,
        "num_candidates": max(k, num_candidates),
    }
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = clauses
    return {"knn": knn, "_source": list(source), "size": k}


def query_body(filters: SearchFilters | None) -> dict[str, Any]:
    clauses = filter_clauses(filters)
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def facets_body(
    filters: SearchFilters | None = None, size: int = 100, field: str = "predicted_peaks"
) -> dict[str, Any]:
    return {
        "size": 0,
        "query": query_body(filters),
        "aggs": {
            "peaks": {
                "terms": {
                    "field": field,
                    "size": size,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        },
    }


def vector_problem(vector: np.ndarray) -> str | None:
    """Why a vector cannot be sent (NaN would make the whole bulk request invalid JSON), or None.

    A wrong dimension is left to Elasticsearch, which rejects that one document against its mapping.
    """
    values = np.asarray(vector, dtype=np.float32).reshape(-1)
    if values.size == 0:
        return "vector is empty"
    if not np.all(np.isfinite(values)):
        return "vector holds NaN or infinite values"
    return None


def photo_source(doc: PhotoDoc) -> dict[str, Any]:
    vector = np.asarray(doc.vector, dtype=np.float32).reshape(-1)
    return {
        "path": doc.path,
        "clip_image": [float(x) for x in vector],
        "predicted_peaks": list(doc.predicted_peaks),
        "peak_scores": [float(s) for s in doc.peak_scores],
        "gps": {"lat": doc.gps.lat, "lon": doc.gps.lon} if doc.gps else None,
        "shot_time": doc.shot_time.isoformat() if doc.shot_time else None,
        "altitude_m": doc.altitude_m,
        "heading_deg": doc.heading_deg,
        "file_size": int(doc.file_size),
        "file_mtime": float(doc.file_mtime),
        "extra": doc.extra or {},
        "local_time": _wall_text(doc.local_time),
        "local_date": day.isoformat() if (day := local_date(doc)) else None,
        "time_source": doc.time_source,
        "peaks_in_frame": list(doc.peaks_in_frame),
        "heading_offset_deg": doc.heading_offset_deg,
        "heading_source": doc.heading_source,
        "gps_source": doc.gps_source,
        "heading_ref": doc.heading_ref,
        "declination_deg": doc.declination_deg,
    }


def _wall_text(moment: datetime | None) -> str | None:
    clock = wall_clock(moment)
    return clock.isoformat() if clock is not None else None


def update_source(update: PhotoUpdate) -> dict[str, Any]:
    """The partial document of a bulk ``update`` action: only the fields ``update`` sets."""
    doc: dict[str, Any] = {}
    for name in ("predicted_peaks", "peaks_in_frame", "heading_offset_deg", "heading_source"):
        value = getattr(update, name)
        if value is not None:
            doc[name] = list(value) if isinstance(value, list) else value
    if update.peak_scores is not None:
        doc["peak_scores"] = [float(s) for s in update.peak_scores]
    if update.extra is not None:
        doc["extra"] = update.extra
    return doc


def _gps(value: Any) -> GeoPoint | None:
    if isinstance(value, dict) and value.get("lat") is not None and value.get("lon") is not None:
        return GeoPoint(float(value["lat"]), float(value["lon"]))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return GeoPoint(float(value[1]), float(value[0]))
    return None


def _photo_hit(hit: dict[str, Any], score: float | None = None) -> PhotoHit:
    src = hit.get("_source") or {}
    shot = src.get("shot_time")
    return PhotoHit(
        id=hit["_id"],
        path=src.get("path", ""),
        score=float(hit.get("_score") or 0.0) if score is None else score,
        predicted_peaks=list(src.get("predicted_peaks") or []),
        peak_scores=[float(s) for s in src.get("peak_scores") or []],
        gps=_gps(src.get("gps")),
        shot_time=datetime.fromisoformat(shot.replace("Z", "+00:00")) if shot else None,
        altitude_m=src.get("altitude_m"),
        heading_deg=src.get("heading_deg"),
        extra=dict(src.get("extra") or {}),
        local_time=datetime.fromisoformat(src["local_time"]) if src.get("local_time") else None,
        time_source=src.get("time_source"),
        peaks_in_frame=list(src.get("peaks_in_frame") or []),
        heading_offset_deg=src.get("heading_offset_deg"),
        heading_source=src.get("heading_source"),
        gps_source=src.get("gps_source"),
        heading_ref=src.get("heading_ref"),
        declination_deg=src.get("declination_deg"),
    )


def _peak_doc(hit: dict[str, Any]) -> PeakDoc:
    src = hit["_source"]
    return PeakDoc(
        id=src.get("id") or hit["_id"],
        names=list(src.get("names") or [hit["_id"]]),
        vector=np.asarray(src.get("text_embed") or [], dtype=np.float32),
        latlon=_gps(src.get("latlon")),
        elev_m=src.get("elev_m"),
        text_vector=np.asarray(src["text_vector"], dtype=np.float32) if src.get("text_vector") else None,
    )


class _NotFound(PeaklensError):
    """A document or index that is not there (HTTP 404)."""


# --- the store -----------------------------------------------------------------------------------------
class ElasticStore:
    """PhotoStore over the official Elasticsearch client."""

    def __init__(self, settings: Settings) -> None:
        # The transport logs every retry with a Python traceback on stderr; a failure that outlives the
        # retries reaches the user as one line (``_translate``), so the library's own log stays quiet.
        logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)
        self.settings = settings
        self.url = display_url(settings.es_url)
        self.photos = settings.photos_index
        self.peaks = settings.peaks_index
        self.meta_index = f"{settings.photos_index}-meta"
        kwargs: dict[str, Any] = {
            "request_timeout": settings.es_request_timeout,
            "max_retries": settings.es_max_retries,
            "retry_on_timeout": True,
        }
        if settings.es_api_key is not None:
            kwargs["api_key"] = settings.es_api_key.get_secret_value()
        elif settings.es_username and settings.es_password is not None:
            kwargs["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
        if settings.es_ca_certs is not None:
            kwargs["ca_certs"] = str(settings.es_ca_certs)
        if settings.es_url.startswith("https"):
            kwargs["verify_certs"] = settings.es_verify_certs
        try:
            self.es = Elasticsearch(settings.es_url, **kwargs)
        except (ValueError, TypeError) as exc:
            raise StoreUnavailable(
                f"Elasticsearch URL {self.url!r} cannot be used: {self._scrub(str(exc))}"
            ) from None

    def _scrub(self, text: str) -> str:
        """``text`` without any secret from the settings (errors may echo what they were given)."""
        for secret in (self.settings.es_api_key, self.settings.es_password):
            if secret is not None and secret.get_secret_value():
                text = text.replace(secret.get_secret_value(), "********")
        return text.replace(self.settings.es_url, self.url)

    def _call(self, action: Callable[[], T]) -> T:
        """Run one request, turning transport and auth failures into one line without secrets."""
        try:
            return action()
        except (TransportError, ApiError) as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: TransportError | ApiError) -> PeaklensError:
        """The one line a user sees for a failed request: the URL and what to do, never a credential."""
        if isinstance(exc, ConnectionTimeout):
            return StoreUnavailable(
                f"Elasticsearch at {self.url} did not answer within {self.settings.es_request_timeout:g} s. "
                "Check the server or raise PEAKLENS_ES_REQUEST_TIMEOUT."
            )
        if isinstance(exc, TlsError):
            return StoreUnavailable(
                f"Elasticsearch at {self.url}: the TLS handshake failed. "
                "Set PEAKLENS_ES_CA_CERTS to the cluster's CA certificate."
            )
        if isinstance(exc, EsConnectionError):
            return StoreUnavailable(
                f"Elasticsearch at {self.url} is not reachable ({_connection_reason(exc)}). "
                "Start it or set PEAKLENS_ES_URL."
            )
        if isinstance(exc, TransportError):
            return StoreUnavailable(f"Elasticsearch at {self.url} failed: {type(exc).__name__}.")
        if isinstance(exc, UnsupportedProductError):
            return StoreUnavailable(f"The server at {self.url} is not Elasticsearch: set PEAKLENS_ES_URL.")
        if exc.meta.status == 404:
            return _NotFound()
        if exc.meta.status in (401, 403):
            return StoreUnavailable(
                f"Elasticsearch at {self.url} refused the credentials (HTTP {exc.meta.status}): "
                "check PEAKLENS_ES_API_KEY or PEAKLENS_ES_USERNAME/PASSWORD."
            )
        return PeaklensError(
            f"Elasticsearch at {self.url} answered HTTP {exc.meta.status}: "
            + self._scrub(_error_reason(exc.body))
        )

    def _exists(self, index: str) -> bool:
        return bool(self._call(lambda: self.es.indices.exists(index=index)))

    def _create(self, index: str, mappings: dict[str, Any]) -> None:
        if self._exists(index):
            return
        try:
            self._call(lambda: self.es.indices.create(index=index, mappings=mappings))
        except PeaklensError as exc:
            if "resource_already_exists" not in str(exc):
                raise

    def ensure_indices(self, dim: int) -> None:
        m, ef = self.settings.hnsw_m, self.settings.ef_construction
        self._create(self.photos, photos_mapping(dim, m, ef))
        self._create(self.peaks, peaks_mapping(dim, m, ef))
        self._create(self.meta_index, {"properties": {"meta": {"type": "object", "enabled": False}}})
        for index, field, wanted in (
            (self.photos, "clip_image", photos_mapping(dim, m, ef)),
            (self.peaks, "text_embed", peaks_mapping(dim, m, ef)),
        ):
            mapping = self._call(functools.partial(self.es.indices.get_mapping, index=index))
            props = next(iter(dict(mapping).values()))["mappings"].get("properties", {})
            held = props.get(field, {}).get("dims")
            if held is not None and int(held) != dim:
                raise PeaklensError(
                    f"Index {index} holds {held}-d vectors, the model gives {dim}-d: use another index name "
                    "or delete that index."
                )
            # an index made by an older peaklens gets the fields added since (gps_source ...), typed as designed
            # rather than guessed by dynamic mapping when the first document brings them
            missing = {k: v for k, v in wanted["properties"].items() if k not in props}
            if missing:
                self._call(lambda: self.es.indices.put_mapping(index=index, properties=missing))  # noqa: B023

    # --- meta ----------------------------------------------------------------------------------------
    def get_meta(self) -> dict[str, str]:
        doc = self._get_doc(self.meta_index, "meta", None)
        return dict(((doc or {}).get("_source") or {}).get("meta") or {})

    def set_meta(self, meta: dict[str, str]) -> None:
        self._call(
            lambda: self.es.index(index=self.meta_index, id="meta", document={"meta": meta}, refresh=True)
        )

    # --- photos --------------------------------------------------------------------------------------
    def _bulk(self, actions: list[dict[str, Any]]) -> BulkReport:
        report = BulkReport()
        if not actions:
            return report
        try:
            for ok, item in helpers.streaming_bulk(
                self.es,
                actions,
                chunk_size=self.settings.bulk_size,
                max_retries=self.settings.es_max_retries,
                initial_backoff=1,
                max_backoff=8,
                raise_on_error=False,
                raise_on_exception=False,
            ):
                op = next(iter(item.values()))
                if ok:
                    report.written.append(str(op["_id"]))
                else:
                    report.failed[str(op.get("_id"))] = _error_reason(op.get("error") or op)
        except (TransportError, ApiError) as exc:  # the server went away mid-run: stop with one line
            raise self._translate(exc) from None
        missing = {str(a["_id"]) for a in actions} - set(report.written) - set(report.failed)
        if missing:  # raise_on_exception=False reports a dead connection as nothing at all: say so
            self._call(lambda: self.es.info())
            report.failed.update({m: "not acknowledged by Elasticsearch" for m in missing})
        return report

    def upsert_photos(self, docs: Sequence[PhotoDoc]) -> BulkReport:
        bad = {doc.id: problem for doc in docs if (problem := vector_problem(doc.vector))}
        report = self._bulk(
            [
                {"_op_type": "index", "_index": self.photos, "_id": doc.id, "_source": photo_source(doc)}
                for doc in docs
                if doc.id not in bad
            ]
        )
        report.failed.update(bad)
        return report

    def update_photos(self, updates: Mapping[str, PhotoUpdate]) -> BulkReport:
        """Bulk ``update`` actions (partial documents): the stored vector is never sent again."""
        return self._bulk(
            [
                {"_op_type": "update", "_index": self.photos, "_id": photo_id, "doc": update_source(update)}
                for photo_id, update in updates.items()
            ]
        )

    def iter_photo_vectors(self, batch_size: int = 1000) -> Iterator[list[tuple[PhotoHit, np.ndarray]]]:
        if not self._exists(self.photos):
            return
        hits = helpers.scan(
            self.es, index=self.photos, query={"_source": [*PHOTO_SOURCE, "clip_image"]}, size=batch_size
        )
        batch: list[tuple[PhotoHit, np.ndarray]] = []
        try:
            for hit in hits:
                batch.append(
                    (_photo_hit(hit, 1.0), np.asarray(hit["_source"]["clip_image"], dtype=np.float32))
                )
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        except (TransportError, ApiError) as exc:
            raise self._translate(exc) from None
        if batch:
            yield batch

    def delete_photos(self, ids: Iterable[str]) -> int:
        actions = [{"_op_type": "delete", "_index": self.photos, "_id": i} for i in dict.fromkeys(ids)]
        return len(self._bulk(actions).written)

    def _scan(
        self, index: str, source: list[str] | bool, query: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        if not self._exists(index):
            return []
        return self._call(
            lambda: list(
                helpers.scan(
                    self.es,
                    index=index,
                    query={"query": query or {"match_all": {}}, "_source": source},
                    size=1000,
                )
            )
        )

    def photo_signatures(self) -> dict[str, FileSignature]:
        return {
            hit["_id"]: FileSignature(
                hit["_source"].get("path", ""),
                int(hit["_source"].get("file_size") or 0),
                float(hit["_source"].get("file_mtime") or 0.0),
            )
            for hit in self._scan(self.photos, ["path", "file_size", "file_mtime"])
        }

    def _get_doc(self, index: str, doc_id: str, source: list[str] | None) -> dict[str, Any] | None:
        try:
            return dict(self._call(lambda: self.es.get(index=index, id=doc_id, source=source)))
        except _NotFound:
            return None

    def _get(self, photo_id: str, source: list[str]) -> dict[str, Any] | None:
        return self._get_doc(self.photos, photo_id, source)

    def get_photo(self, photo_id: str) -> PhotoHit | None:
        hit = self._get(photo_id, PHOTO_SOURCE)
        return _photo_hit(hit, 1.0) if hit and hit.get("found", True) else None

    def get_photo_vector(self, photo_id: str) -> np.ndarray | None:
        hit = self._get(photo_id, ["clip_image"])
        if not hit or not hit.get("found", True):
            return None
        return np.asarray(hit["_source"]["clip_image"], dtype=np.float32)

    def count_photos(self, filters: SearchFilters | None = None) -> int:
        if not self._exists(self.photos):
            return 0
        return int(self._call(lambda: self.es.count(index=self.photos, query=query_body(filters)))["count"])

    def knn_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[PhotoHit]:
        if k <= 0 or not self._exists(self.photos):
            return []
        body = knn_body(np.asarray(vector, dtype=np.float32).tolist(), k, num_candidates, filters)
        response = self._call(lambda: self.es.search(index=self.photos, **body))
        hits = [_photo_hit(hit) for hit in response["hits"]["hits"]]
        hits.sort(key=lambda h: (-h.score, h.path))
        return hits[:k]

    def rank_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[RankedPhoto]:
        if k <= 0 or not self._exists(self.photos):
            return []
        body = knn_body(
            np.asarray(vector, dtype=np.float32).tolist(), k, num_candidates, filters, source=("path",)
        )
        response = self._call(lambda: self.es.search(index=self.photos, **body))
        ranked = [
            RankedPhoto(
                hit["_id"], (hit.get("_source") or {}).get("path", ""), float(hit.get("_score") or 0.0)
            )
            for hit in response["hits"]["hits"]
        ]
        ranked.sort(key=lambda r: (-r.score, r.path))
        return ranked[:k]

    def get_photos(self, ids: Sequence[str]) -> list[PhotoHit]:
        if not ids or not self._exists(self.photos):
            return []
        wanted = list(dict.fromkeys(ids))
        response = self._call(lambda: self.es.mget(index=self.photos, ids=wanted, source=PHOTO_SOURCE))
        found = {doc["_id"]: _photo_hit(doc, 1.0) for doc in response["docs"] if doc.get("found")}
        return [found[i] for i in wanted if i in found]

    def list_photos(self, filters: SearchFilters | None = None, limit: int = 1000) -> list[PhotoHit]:
        if not self._exists(self.photos):
            return []
        hits = [_photo_hit(hit, 1.0) for hit in self._scan(self.photos, PHOTO_SOURCE, query_body(filters))]
        hits.sort(key=lambda h: newest_first(h.shot_time, h.path))
        return hits[:limit]

    def peak_facets(
        self, filters: SearchFilters | None = None, size: int = 100, field: str = "predicted_peaks"
    ) -> list[tuple[str, int]]:
        check_facet_field(field)
        if not self._exists(self.photos):
            return []
        body = facets_body(filters, size, field)
        response = self._call(lambda: self.es.search(index=self.photos, **body))
        buckets = response["aggregations"]["peaks"]["buckets"]
        pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets]
        return sorted(pairs, key=lambda item: (-item[1], item[0]))

    # --- peaks ---------------------------------------------------------------------------------------
    def upsert_peaks(self, peaks: Sequence[PeakDoc]) -> BulkReport:
        bad = {
            peak.id: problem
            for peak in peaks
            if (problem := vector_problem(peak.vector))
            or (peak.text_vector is not None and (problem := vector_problem(peak.text_vector)))
        }
        actions = [
            {
                "_op_type": "index",
                "_index": self.peaks,
                "_id": peak.id,
                "_source": {
                    "id": peak.id,
                    "names": list(peak.names),
                    "latlon": {"lat": peak.latlon.lat, "lon": peak.latlon.lon} if peak.latlon else None,
                    "elev_m": peak.elev_m,
                    "text_embed": [float(x) for x in np.asarray(peak.vector).reshape(-1)],
                    "text_vector": None
                    if peak.text_vector is None
                    else [float(x) for x in np.asarray(peak.text_vector).reshape(-1)],
                },
            }
            for peak in peaks
            if peak.id not in bad
        ]
        report = self._bulk(actions)
        report.failed.update(bad)
        return report

    def all_peaks(self) -> list[PeakDoc]:
        return sorted((_peak_doc(hit) for hit in self._scan(self.peaks, True)), key=lambda p: p.id)

    def knn_peaks(self, vector: np.ndarray, k: int, num_candidates: int) -> list[PeakHit]:
        if not self._exists(self.peaks):
            return []
        body = knn_body(
            np.asarray(vector, dtype=np.float32).tolist(),
            k,
            num_candidates,
            field="text_embed",
            source=["id", "names", "latlon", "elev_m"],
        )
        response = self._call(lambda: self.es.search(index=self.peaks, **body))
        hits = []
        for hit in response["hits"]["hits"]:
            src = hit["_source"]
            names = list(src.get("names") or [hit["_id"]])
            hits.append(
                PeakHit(
                    src.get("id") or hit["_id"],
                    names[0],
                    names,
                    float(hit["_score"]),
                    _gps(src.get("latlon")),
                    src.get("elev_m"),
                )
            )
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits

    def clear_peaks(self) -> None:
        if self._exists(self.peaks):
            self._call(
                lambda: self.es.delete_by_query(index=self.peaks, query={"match_all": {}}, refresh=True)
            )

    def refresh(self) -> None:
        for index in (self.photos, self.peaks):
            if self._exists(index):
                self._call(functools.partial(self.es.indices.refresh, index=index))

    def close(self) -> None:
        self.es.close()


def display_url(url: str) -> str:
    """The URL as shown to users: any ``user:password@`` part is dropped."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _connection_reason(exc: Exception) -> str:
    """A short cause; the details live in ``exc.message`` and the chained errors, not in ``str(exc)``."""
    text = " ".join(str(part) for part in (exc, getattr(exc, "message", ""), exc.__cause__)).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "unreachable" in text:
        return "network unreachable"
    return "connection failed"


def _error_reason(error: Any) -> str:
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):
            kind = inner.get("type", "error")
            reason = inner.get("reason", "")
            cause = (
                inner.get("caused_by", {}).get("reason") if isinstance(inner.get("caused_by"), dict) else None
            )
            return f"{kind}: {reason}" + (f" ({cause})" if cause and cause != reason else "")
        return str(inner)
    return str(error)
