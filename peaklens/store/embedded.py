"""The embedded store: LanceDB tables on disk, zero setup (see docs/STORES.md for why LanceDB).

Filters are applied as a prefilter (``where(..., prefilter=True)``), so they restrict the candidates before the
k nearest are taken, as ``knn.filter`` does in Elasticsearch. Scores are reported like Elasticsearch's cosine
similarity, (1 + cos) / 2. Below ``ANN_MIN_ROWS`` photos the search is exact (brute force); from there on
``refresh()`` builds an IVF_HNSW_SQ index, queried with ``num_candidates`` as HNSW's ef and re-ranked with the
full vectors, so scores stay exact.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

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

F = TypeVar("F", bound=Callable[..., Any])

# Below this many photos every search is exact (brute force: ~16 ms for 10k 768-d vectors on 2 cores).
ANN_MIN_ROWS = 10_000
# IVF partitions only keep each HNSW graph small; every query probes all of them (probing a quarter cost
# ~0.3 of recall@10 at 100k rows, mostly on text-like queries). Measurements: docs/STORES.md.
ROWS_PER_PARTITION = 4096
ALL_PARTITIONS = 1 << 16
# Candidates re-ranked with the full float32 vectors: recall@10 ~1.0 and exact (1 + cos) / 2 scores.
REFINE_FACTOR = 5
# The index is retrained from scratch once the table has grown this much since it was built.
RETRAIN_GROWTH = 2.0
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


def _query_vector(table: Any, name: str, vector: np.ndarray) -> list[float]:
    """The query as floats, refused with one line when its dimension is not the index's (a changed model)."""
    values = np.asarray(vector, dtype=np.float32).reshape(-1)
    held = int(table.schema.field("vector").type.list_size)
    if values.shape[0] != held:
        raise PeaklensError(
            f"Index {name} holds {held}-d vectors, the query has {values.shape[0]}: the model changed since "
            "indexing; use the same model, or another index name or --data-dir."
        )
    return values.tolist()


def _merge(table: Any, rows: dict[str, dict[str, Any]], schema: pa.Schema, report: BulkReport) -> None:
    """Upsert ``rows`` by id in one merge; a failed merge fails every one of them, by id."""
    if not rows:
        return
    data = pa.Table.from_pylist(list(rows.values()), schema=schema)
    try:
        table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
    except (OSError, RuntimeError, ValueError) as exc:
        report.failed.update({row_id: f"write failed: {exc}" for row_id in rows})
        return
    report.written.extend(rows)


def _lance_reason(exc: BaseException) -> str:
    """Lance's message on one short line, without the Rust source location it appends."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for marker in (", /", " at /"):
        if marker in text:
            text = text[: text.index(marker)]
    return text[:200]


def _guarded(method: F) -> F:
    """Turn a failure of the files underneath (damaged, unreadable, disk gone) into one ``StoreUnavailable`` line.

    Lance reports those as plain ``OSError``/``RuntimeError``/``ValueError``; our own errors pass through.
    """

    @functools.wraps(method)
    def wrapper(self: EmbeddedStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except PeaklensError:
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreUnavailable(
                f"The embedded store in {self.root} cannot be read ({_lance_reason(exc)}): restore it from a "
                "backup, or move that folder away and index the album again."
            ) from None

    return wrapper  # type: ignore[return-value]


class EmbeddedStore:
    """PhotoStore on LanceDB in ``settings.data_dir / "lancedb"``."""

    def __init__(self, settings: Settings) -> None:
        import lancedb

        self.settings = settings
        self.root = Path(settings.data_dir) / "lancedb"
        self.photos_name = settings.photos_index
        self.peaks_name = settings.peaks_index
        self.meta_path = self.root / f"{self.photos_name}.meta.json"
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

    @_guarded
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
    @_guarded
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
        _merge(table, rows, photos_schema(dim), report)
        return report

    @_guarded
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

    @_guarded
    def photo_signatures(self) -> dict[str, FileSignature]:
        return {
            row["id"]: FileSignature(row["path"], int(row["file_size"]), float(row["file_mtime"]))
            for row in self._rows(columns=["id", "path", "file_size", "file_mtime"])
        }

    @_guarded
    def get_photo(self, photo_id: str) -> PhotoHit | None:
        rows = self._rows(f"id = {sql_string(photo_id)}", limit=1)
        return _hit(rows[0], 1.0) if rows else None

    @_guarded
    def get_photo_vector(self, photo_id: str) -> np.ndarray | None:
        rows = self._rows(f"id = {sql_string(photo_id)}", columns=["vector"], limit=1)
        return np.asarray(rows[0]["vector"], dtype=np.float32) if rows else None

    @_guarded
    def count_photos(self, filters: SearchFilters | None = None) -> int:
        table = self._table(self.photos_name)
        if table is None:
            return 0
        where = where_clause(filters)
        return int(table.count_rows(where) if where else table.count_rows())

    @_guarded
    def knn_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[PhotoHit]:
        table = self._table(self.photos_name)
        if table is None or k <= 0:
            return []
        where = where_clause(filters)
        matching = table.count_rows(where) if where else table.count_rows()
        if matching == 0:
            return []
        query = table.search(_query_vector(table, self.photos_name, vector)).distance_type("cosine")
        if where:
            query = query.where(where, prefilter=True)
        # Like Elasticsearch, search exactly when the filtered candidates are few (a graph walk over a
        # sparse filter loses recall); otherwise num_candidates plays HNSW's ef, as it does in ES.
        if matching >= ANN_MIN_ROWS and self._ann_index(table) is not None:
            query = (
                query.nprobes(ALL_PARTITIONS)
                .ef(max(num_candidates, k * REFINE_FACTOR))
                .refine_factor(REFINE_FACTOR)
            )
        else:
            query = query.bypass_vector_index()
        rows = query.select([*_PHOTO_COLUMNS, "_distance"]).limit(k).to_arrow().to_pylist()
        hits = [_hit(row, _score(row["_distance"])) for row in rows]
        hits.sort(key=lambda h: (-h.score, h.path))
        return hits

    @_guarded
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

    @_guarded
    def peak_facets(self, filters: SearchFilters | None = None, size: int = 100) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for row in self._rows(where_clause(filters), columns=["predicted_peaks"]):
            counts.update(set(row.get("predicted_peaks") or []))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]

    # --- ANN -----------------------------------------------------------------------------------------
    @staticmethod
    def _ann_index(table: Any) -> Any | None:
        """The vector index's config (with ``name``), or None when the table has none."""
        return next((idx for idx in table.list_indices() if "vector" in idx.columns), None)

    @_guarded
    def create_ann_index(self, force: bool = False) -> bool:
        """(Re)build the IVF_HNSW_SQ index on the photo vectors; True when built.

        Refused below ``ANN_MIN_ROWS`` photos (exact search is fast there) unless ``force``.
        """
        from lancedb.index import IvfHnswSq

        table = self._table(self.photos_name)
        rows = 0 if table is None else table.count_rows()
        if table is None or rows == 0 or (rows < ANN_MIN_ROWS and not force):
            return False
        config = IvfHnswSq(
            distance_type="cosine",
            num_partitions=max(1, rows // ROWS_PER_PARTITION),
            m=self.settings.hnsw_m,
            ef_construction=self.settings.ef_construction,
        )
        table.create_index("vector", replace=True, config=config)
        return True

    def _refresh_ann_index(self, table: Any) -> bool:
        """Build the index once the table is big enough, retrain it once it has doubled; True if built."""
        rows = table.count_rows()
        if rows < ANN_MIN_ROWS:
            return False
        index = self._ann_index(table)
        if index is not None:
            stats = table.index_stats(index.name)
            if stats is not None and stats.num_indexed_rows * RETRAIN_GROWTH > rows:
                return False  # optimize() folds the new rows into the existing partitions
        return self.create_ann_index()

    # --- peaks ---------------------------------------------------------------------------------------
    @_guarded
    def upsert_peaks(self, peaks: Sequence[PeakDoc]) -> BulkReport:
        report = BulkReport()
        table = self._table(self.peaks_name)
        if table is None:
            report.failed.update({p.id: "the peaks catalog index does not exist" for p in peaks})
            return report
        dim = int(table.schema.field("vector").type.list_size)
        rows: dict[str, dict[str, Any]] = {}  # by id: the last of duplicates wins, as in a bulk request
        for peak in peaks:
            vector = np.asarray(peak.vector, dtype=np.float32).reshape(-1)
            if vector.shape[0] != dim:
                report.failed[peak.id] = f"vector has {vector.shape[0]} dimensions, the index holds {dim}"
                continue
            if not np.all(np.isfinite(vector)):
                report.failed[peak.id] = "vector holds NaN or infinite values"
                continue
            rows[peak.id] = {
                "id": peak.id,
                "names": list(peak.names),
                "lat": peak.latlon.lat if peak.latlon else None,
                "lon": peak.latlon.lon if peak.latlon else None,
                "elev_m": peak.elev_m,
                "vector": vector.tolist(),
            }
        _merge(table, rows, peaks_schema(dim), report)
        return report

    @_guarded
    def all_peaks(self) -> list[PeakDoc]:
        table = self._table(self.peaks_name)
        if table is None or table.count_rows() == 0:
            return []
        rows = table.to_arrow().to_pylist()
        return sorted((_peak_doc(row) for row in rows), key=lambda p: p.id)

    @_guarded
    def knn_peaks(self, vector: np.ndarray, k: int, num_candidates: int) -> list[PeakHit]:
        table = self._table(self.peaks_name)
        if table is None or table.count_rows() == 0:
            return []
        rows = (
            table.search(_query_vector(table, self.peaks_name, vector))
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

    @_guarded
    def clear_peaks(self) -> None:
        table = self._table(self.peaks_name)
        if table is not None:
            table.delete("true")

    def refresh(self) -> None:
        """Keep big albums fast after a run: build or update the ANN index, compact small fragments.

        Writes are visible at once; this is upkeep, so a failure here never fails the run.
        """
        table = self._table(self.photos_name)
        if table is None:
            return
        with contextlib.suppress(Exception):
            built = self._refresh_ann_index(table)
            if not built and (self._ann_index(table) is not None or len(table.list_versions()) > 64):
                table.optimize(cleanup_older_than=timedelta(minutes=10))

    def close(self) -> None:
        """Nothing to release: LanceDB holds no server connection or lock."""


def _peak_doc(row: dict[str, Any]) -> PeakDoc:
    lat, lon = row.get("lat"), row.get("lon")
    return PeakDoc(
        id=row["id"],
        names=list(row["names"]),
        vector=np.asarray(row["vector"], dtype=np.float32),
        latlon=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        elev_m=row.get("elev_m"),
    )
