"""The embedded store: LanceDB tables on disk, zero setup (see docs/STORES.md for why LanceDB).

Filters are applied as a prefilter (``where(..., prefilter=True)``), so they restrict the candidates before the
k nearest are taken, as ``knn.filter`` does in Elasticsearch. Scores are reported like Elasticsearch's cosine
similarity, (1 + cos) / 2. Below ``ANN_MIN_ROWS`` photos the search is exact (brute force); above it an
IVF_HNSW_SQ index is built and queried with a probe count derived from ``num_candidates``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from peaklens.config import Settings
from peaklens.errors import PeaklensError, StoreUnavailable
from peaklens.filters import utc
from peaklens.records import (
    BulkReport,
    FileSignature,
    GeoPoint,
    PeakDoc,
    PeakHit,
    PhotoDoc,
    PhotoHit,
    SearchFilters,
)

ANN_MIN_ROWS = 10_000
_PHOTO_COLUMNS = [
    "id",
    "path",
    "predicted_peaks",
    "peak_scores",
    "lat",
    "lon",
    "altitude_m",
    "heading_deg",
    "shot_time",
    "shot_time_text",
    "file_size",
    "file_mtime",
    "extra_json",
]


def photos_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("path", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
            pa.field("predicted_peaks", pa.list_(pa.string())),
            pa.field("peak_scores", pa.list_(pa.float32())),
            pa.field("lat", pa.float64()),
            pa.field("lon", pa.float64()),
            pa.field("altitude_m", pa.float64()),
            pa.field("heading_deg", pa.float64()),
            pa.field("shot_time", pa.timestamp("us", tz="UTC")),
            pa.field("shot_time_text", pa.string()),
            pa.field("file_size", pa.int64()),
            pa.field("file_mtime", pa.float64()),
            pa.field("extra_json", pa.string()),
        ]
    )


def peaks_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("names", pa.list_(pa.string())),
            pa.field("lat", pa.float64()),
            pa.field("lon", pa.float64()),
            pa.field("elev_m", pa.int64()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


def sql_string(value: str) -> str:
    """A SQL string literal; peak names come from users."""
    return "'" + value.replace("'", "''") + "'"


def _sql_time(moment: datetime) -> str:
    return f"arrow_cast('{utc(moment).strftime('%Y-%m-%dT%H:%M:%S.%f')}', 'Timestamp(Microsecond, Some(\"UTC\"))')"


def where_clause(filters: SearchFilters | None) -> str | None:
    """The SQL prefilter equivalent to the Elasticsearch ``knn.filter`` list."""
    if filters is None or filters.is_empty():
        return None
    parts = []
    if filters.bbox is not None:
        box = filters.bbox
        parts.append(f"lat IS NOT NULL AND lat >= {box.bottom!r} AND lat <= {box.top!r}")
        if box.left <= box.right:
            parts.append(f"lon >= {box.left!r} AND lon <= {box.right!r}")
        else:  # crosses the antimeridian
            parts.append(f"(lon >= {box.left!r} OR lon <= {box.right!r})")
    if filters.time_from is not None:
        parts.append(f"shot_time >= {_sql_time(filters.time_from)}")
    if filters.time_to is not None:
        parts.append(f"shot_time <= {_sql_time(filters.time_to)}")
    if filters.peaks:
        names = ", ".join(sql_string(name) for name in filters.peaks)
        parts.append(f"array_has_any(predicted_peaks, make_array({names}))")
    return " AND ".join(f"({part})" for part in parts)


def _score(distance: float) -> float:
    """LanceDB's cosine distance is 1 - cos; Elasticsearch's score is (1 + cos) / 2."""
    return float(min(1.0, max(0.0, 1.0 - distance / 2.0)))


def _shot_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _photo_row(doc: PhotoDoc, dim: int) -> dict[str, Any]:
    vector = np.asarray(doc.vector, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dim:
        raise ValueError(f"vector has {vector.shape[0]} dimensions, the index holds {dim}")
    if not np.all(np.isfinite(vector)):
        raise ValueError("vector holds NaN or infinite values")
    return {
        "id": doc.id,
        "path": doc.path,
        "vector": vector.tolist(),
        "predicted_peaks": list(doc.predicted_peaks),
        "peak_scores": [float(s) for s in doc.peak_scores],
        "lat": doc.gps.lat if doc.gps else None,
        "lon": doc.gps.lon if doc.gps else None,
        "altitude_m": doc.altitude_m,
        "heading_deg": doc.heading_deg,
        "shot_time": utc(doc.shot_time) if doc.shot_time else None,
        "shot_time_text": doc.shot_time.isoformat() if doc.shot_time else None,
        "file_size": int(doc.file_size),
        "file_mtime": float(doc.file_mtime),
        "extra_json": json.dumps(doc.extra, ensure_ascii=False) if doc.extra else None,
    }


def _hit(row: dict[str, Any], score: float) -> PhotoHit:
    lat, lon = row.get("lat"), row.get("lon")
    return PhotoHit(
        id=row["id"],
        path=row["path"],
        score=score,
        predicted_peaks=list(row.get("predicted_peaks") or []),
        peak_scores=[float(s) for s in row.get("peak_scores") or []],
        gps=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        shot_time=_shot_time(row.get("shot_time_text")),
        altitude_m=row.get("altitude_m"),
        heading_deg=row.get("heading_deg"),
        extra=json.loads(row["extra_json"]) if row.get("extra_json") else {},
    )


class EmbeddedStore:
    """PhotoStore on LanceDB in ``settings.data_dir / "lancedb"``."""

    def __init__(self, settings: Settings) -> None:
        import lancedb

        self.settings = settings
        self.root = Path(settings.data_dir) / "lancedb"
        self.photos_name = settings.photos_index
        self.peaks_name = settings.peaks_index
        self.meta_path = self.root / f"{self.photos_name}.meta.json"
        self._ann_ready = False
        try:
            self.db = lancedb.connect(str(self.root), read_consistency_interval=timedelta(0))
        except Exception as exc:  # lancedb raises plain OSError/ValueError/RuntimeError
            raise StoreUnavailable(f"Cannot open the embedded store in {self.root}: {exc}") from None

    # --- tables --------------------------------------------------------------------------------------
    def _table_names(self) -> set[str]:
        try:
            result = self.db.list_tables()
            names = getattr(result, "tables", result)
            return set(names)
        except Exception:
            return set(self.db.table_names())

    def _table(self, name: str) -> Any | None:
        if name not in self._table_names():
            return None
        return self.db.open_table(name)

    def ensure_indices(self, dim: int) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"Cannot create the embedded store in {self.root}: {exc.strerror}."
            ) from None
        for name, schema in ((self.photos_name, photos_schema(dim)), (self.peaks_name, peaks_schema(dim))):
            table = self._table(name)
            if table is None:
                try:
                    self.db.create_table(name, schema=schema, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(f"Cannot write the embedded store in {self.root}: {exc}") from None
                continue
            held = table.schema.field("vector").type.list_size
            if held != dim:
                raise PeaklensError(
                    f"Index {name} in {self.root} holds {held}-d vectors, the model gives {dim}-d: use another "
                    "--data-dir or index name, or delete that folder to start over."
                )

    def _dim(self, name: str) -> int | None:
        table = self._table(name)
        return None if table is None else int(table.schema.field("vector").type.list_size)

    # --- meta ----------------------------------------------------------------------------------------
    def get_meta(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.meta_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def set_meta(self, meta: dict[str, str]) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.meta_path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.meta_path)
        except OSError as exc:
            raise StoreUnavailable(
                f"Cannot write the embedded store in {self.root}: {exc.strerror}."
            ) from None

    # --- photos --------------------------------------------------------------------------------------
    def upsert_photos(self, docs: Sequence[PhotoDoc]) -> BulkReport:
        report = BulkReport()
        table = self._table(self.photos_name)
        if table is None:
            report.failed.update({doc.id: "the photos index does not exist" for doc in docs})
            return report
        dim = int(table.schema.field("vector").type.list_size)
        rows: dict[str, dict[str, Any]] = {}
        for doc in docs:
            try:
                rows[doc.id] = _photo_row(doc, dim)
            except (ValueError, TypeError) as exc:
                report.failed[doc.id] = str(exc)
        if rows:
            data = pa.Table.from_pylist(list(rows.values()), schema=photos_schema(dim))
            try:
                table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
            except (OSError, RuntimeError, ValueError) as exc:
                report.failed.update({doc_id: f"write failed: {exc}" for doc_id in rows})
                return report
            report.written.extend(rows)
        return report

    def delete_photos(self, ids: Iterable[str]) -> int:
        table = self._table(self.photos_name)
        wanted = list(dict.fromkeys(ids))
        if table is None or not wanted:
            return 0
        deleted = 0
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            clause = "id IN (" + ", ".join(sql_string(i) for i in chunk) + ")"
            deleted += table.count_rows(clause)
            table.delete(clause)
        return deleted

    def _rows(
        self, where: str | None = None, columns: list[str] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        table = self._table(self.photos_name)
        if table is None:
            return []
        query = table.search()
        if where:
            query = query.where(where)
        query = query.select(columns or _PHOTO_COLUMNS)
        query = query.limit(limit if limit is not None else max(1, table.count_rows()))
        return query.to_arrow().to_pylist()

    def photo_signatures(self) -> dict[str, FileSignature]:
        return {
            row["id"]: FileSignature(row["path"], int(row["file_size"]), float(row["file_mtime"]))
            for row in self._rows(columns=["id", "path", "file_size", "file_mtime"])
        }

    def get_photo(self, photo_id: str) -> PhotoHit | None:
        rows = self._rows(f"id = {sql_string(photo_id)}", limit=1)
        return _hit(rows[0], 1.0) if rows else None

    def get_photo_vector(self, photo_id: str) -> np.ndarray | None:
        rows = self._rows(f"id = {sql_string(photo_id)}", columns=["vector"], limit=1)
        return np.asarray(rows[0]["vector"], dtype=np.float32) if rows else None

    def count_photos(self, filters: SearchFilters | None = None) -> int:
        table = self._table(self.photos_name)
        if table is None:
            return 0
        where = where_clause(filters)
        return int(table.count_rows(where) if where else table.count_rows())

    def knn_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[PhotoHit]:
        table = self._table(self.photos_name)
        if table is None or k <= 0:
            return []
        rows_total = table.count_rows()
        if rows_total == 0:
            return []
        query = table.search(np.asarray(vector, dtype=np.float32).tolist()).distance_type("cosine")
        where = where_clause(filters)
        if where:
            query = query.where(where, prefilter=True)
        if rows_total >= ANN_MIN_ROWS and self._has_ann_index(table):
            query = query.nprobes(max(1, min(256, num_candidates // 40))).refine_factor(
                max(1, num_candidates // max(1, k))
            )
        else:
            query = query.bypass_vector_index()
        rows = query.select([*_PHOTO_COLUMNS, "_distance"]).limit(k).to_arrow().to_pylist()
        hits = [_hit(row, _score(row["_distance"])) for row in rows]
        hits.sort(key=lambda h: (-h.score, h.path))
        return hits

    def list_photos(self, filters: SearchFilters | None = None, limit: int = 1000) -> list[PhotoHit]:
        rows = self._rows(where_clause(filters))
        rows.sort(
            key=lambda r: (
                r.get("shot_time") is None,
                -(r["shot_time"].timestamp() if r.get("shot_time") else 0),
                r["path"],
            )
        )
        return [_hit(row, 1.0) for row in rows[:limit]]

    def peak_facets(self, filters: SearchFilters | None = None, size: int = 100) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for row in self._rows(where_clause(filters), columns=["predicted_peaks"]):
            counts.update(set(row.get("predicted_peaks") or []))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]

    # --- ANN -----------------------------------------------------------------------------------------
    def _has_ann_index(self, table: Any) -> bool:
        if self._ann_ready:
            return True
        try:
            self._ann_ready = any("vector" in idx.columns for idx in table.list_indices())
        except Exception:
            self._ann_ready = False
        return self._ann_ready

    def create_ann_index(self, num_partitions: int | None = None) -> bool:
        """Build (or rebuild) the IVF_HNSW_SQ index once the table is large enough; True when built."""
        table = self._table(self.photos_name)
        if table is None or table.count_rows() < ANN_MIN_ROWS:
            return False
        rows = table.count_rows()
        table.create_index(
            metric="cosine",
            vector_column_name="vector",
            index_type="IVF_HNSW_SQ",
            replace=True,
            num_partitions=num_partitions or max(1, rows // 4096),
            m=self.settings.hnsw_m,
            ef_construction=self.settings.ef_construction,
        )
        self._ann_ready = True
        return True

    # --- peaks ---------------------------------------------------------------------------------------
    def upsert_peaks(self, peaks: Sequence[PeakDoc]) -> BulkReport:
        report = BulkReport()
        table = self._table(self.peaks_name)
        if table is None:
            report.failed.update({p.id: "the peaks catalog index does not exist" for p in peaks})
            return report
        dim = int(table.schema.field("vector").type.list_size)
        rows = []
        for peak in peaks:
            vector = np.asarray(peak.vector, dtype=np.float32).reshape(-1)
            if vector.shape[0] != dim:
                report.failed[peak.id] = f"vector has {vector.shape[0]} dimensions, the index holds {dim}"
                continue
            rows.append(
                {
                    "id": peak.id,
                    "names": list(peak.names),
                    "lat": peak.latlon.lat if peak.latlon else None,
                    "lon": peak.latlon.lon if peak.latlon else None,
                    "elev_m": peak.elev_m,
                    "vector": vector.tolist(),
                }
            )
        if rows:
            data = pa.Table.from_pylist(rows, schema=peaks_schema(dim))
            table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
            report.written.extend(r["id"] for r in rows)
        return report

    def all_peaks(self) -> list[PeakDoc]:
        table = self._table(self.peaks_name)
        if table is None or table.count_rows() == 0:
            return []
        rows = table.to_arrow().to_pylist()
        return sorted((_peak_doc(row) for row in rows), key=lambda p: p.id)

    def knn_peaks(self, vector: np.ndarray, k: int, num_candidates: int) -> list[PeakHit]:
        table = self._table(self.peaks_name)
        if table is None or table.count_rows() == 0:
            return []
        rows = (
            table.search(np.asarray(vector, dtype=np.float32).tolist())
            .distance_type("cosine")
            .bypass_vector_index()
            .limit(k)
            .to_arrow()
            .to_pylist()
        )
        hits = []
        for row in rows:
            doc = _peak_doc(row)
            hits.append(
                PeakHit(doc.id, doc.name, doc.names, _score(row["_distance"]), doc.latlon, doc.elev_m)
            )
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits

    def clear_peaks(self) -> None:
        table = self._table(self.peaks_name)
        if table is not None:
            table.delete("true")

    def refresh(self) -> None:
        """Compact the small fragments each batch commit leaves behind (keeps scans fast on big albums)."""
        table = self._table(self.photos_name)
        if table is not None and len(table.list_versions()) > 64:
            # compaction is an optimisation; a concurrent reader must not fail the run
            with contextlib.suppress(Exception):
                table.optimize(cleanup_older_than=timedelta(minutes=10))

    def close(self) -> None:
        self._ann_ready = False


def _peak_doc(row: dict[str, Any]) -> PeakDoc:
    lat, lon = row.get("lat"), row.get("lon")
    return PeakDoc(
        id=row["id"],
        names=list(row["names"]),
        vector=np.asarray(row["vector"], dtype=np.float32),
        latlon=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        elev_m=row.get("elev_m"),
    )
