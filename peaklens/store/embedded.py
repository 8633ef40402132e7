"""The embedded store: LanceDB tables on disk, zero setup (see docs/STORES.md for why LanceDB).

LanceDB holds the documents; kNN runs on a memory-mapped float32 matrix of the vectors beside them
(``peaklens.store.vectors``: a float32 scan below 100 000 photos, an 8-bit scan re-scored in float32 above,
both faster than LanceDB's own index at those sizes), with filters applied as a boolean mask before the k nearest are taken, as ``knn.filter`` does
in Elasticsearch. Rankings come from the matrix and the filter columns alone; only the photos shown are
fetched from LanceDB. Counts, listings and facets use LanceDB's SQL filter (``where_clause``). Scores are reported
like Elasticsearch's cosine similarity, (1 + cos) / 2, from the exact float32 cosine.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    utc,
)
from peaklens.store import prefilter, vectors
from peaklens.store.fields import check_facet_field, local_date, newest_first, wall_clock
from peaklens.store.upkeep import StoreUpkeepWarning

F = TypeVar("F", bound=Callable[..., Any])

# Compaction merges the small fragments left by many batch commits once a table has this many versions.
COMPACT_AFTER_VERSIONS = 64
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
    "local_time",
    "time_source",
    "peaks_in_frame",
    "heading_offset_deg",
    "heading_source",
    "gps_source",
    "heading_ref",
    "declination_deg",
]
#: held in memory per table version with the filter columns; ``extra_json`` (~1 KB a photo) is taken per hit
_HELD_COLUMNS = [name for name in _PHOTO_COLUMNS if name != "extra_json"]


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
            pa.field("local_time", pa.timestamp("us")),
            pa.field("local_date", pa.date32()),
            pa.field("time_source", pa.string()),
            pa.field("peaks_in_frame", pa.list_(pa.string())),
            pa.field("heading_offset_deg", pa.float64()),
            pa.field("heading_source", pa.string()),
            pa.field("gps_source", pa.string()),
            pa.field("heading_ref", pa.string()),
            pa.field("declination_deg", pa.float64()),
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
            pa.field("text_vector", pa.list_(pa.float32(), dim)),
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
    if filters.day_from is not None:
        parts.append(f"local_date >= CAST('{filters.day_from.isoformat()}' AS DATE)")
    if filters.day_to is not None:
        parts.append(f"local_date <= CAST('{filters.day_to.isoformat()}' AS DATE)")
    for column, names in (("predicted_peaks", filters.peaks), ("peaks_in_frame", filters.peaks_in_frame)):
        if names:
            listed = ", ".join(sql_string(name) for name in names)
            parts.append(f"array_has_any({column}, make_array({listed}))")
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
        "local_time": wall_clock(doc.local_time),
        "local_date": local_date(doc),
        "time_source": doc.time_source,
        "peaks_in_frame": list(doc.peaks_in_frame),
        "heading_offset_deg": doc.heading_offset_deg,
        "heading_source": doc.heading_source,
        "gps_source": doc.gps_source,
        "heading_ref": doc.heading_ref,
        "declination_deg": doc.declination_deg,
    }


def _apply(row: dict[str, Any], update: PhotoUpdate) -> dict[str, Any]:
    """``row`` with the fields ``update`` sets (None leaves a field as it is)."""
    changed = dict(row)
    for name in ("predicted_peaks", "peaks_in_frame", "heading_offset_deg", "heading_source"):
        value = getattr(update, name)
        if value is not None:
            changed[name] = list(value) if isinstance(value, list) else value
    if update.peak_scores is not None:
        changed["peak_scores"] = [float(s) for s in update.peak_scores]
    if update.extra is not None:
        changed["extra_json"] = json.dumps(update.extra, ensure_ascii=False) if update.extra else None
    return changed


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
        local_time=row.get("local_time"),
        time_source=row.get("time_source"),
        peaks_in_frame=list(row.get("peaks_in_frame") or []),
        heading_offset_deg=row.get("heading_offset_deg"),
        heading_source=row.get("heading_source"),
        gps_source=row.get("gps_source"),
        heading_ref=row.get("heading_ref"),
        declination_deg=row.get("declination_deg"),
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


def _merge(
    table: Any, rows: dict[str, dict[str, Any]], schema: pa.Schema, report: BulkReport, chunk: int
) -> None:
    """Upsert ``rows`` by id, one merge commit per ``chunk`` rows (``settings.bulk_size``); a failed merge
    fails the rows of that chunk, by id, and the next chunks are still written."""
    items = list(rows.items())
    for start in range(0, len(items), max(1, chunk)):
        part = dict(items[start : start + chunk])
        data = pa.Table.from_pylist(list(part.values()), schema=schema)
        try:
            table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
        except (OSError, RuntimeError, ValueError) as exc:
            report.failed.update({row_id: f"write failed: {_lance_reason(exc)}" for row_id in part})
            continue
        report.written.extend(part)


def _lance_reason(exc: BaseException) -> str:
    """Lance's message on one short line, without the Rust source location it appends."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for marker in (", /", " at /"):
        if marker in text:
            text = text[: text.index(marker)]
    return text[:200]


def _guarded(method: F) -> F:
    """Turn a Lance failure into one line. Only when the tables' files really cannot be read (damaged,
    missing) does the line advise restoring or re-indexing; any other failure says what failed, since it
    may be a bug and the user's index is fine."""

    @functools.wraps(method)
    def wrapper(self: EmbeddedStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except PeaklensError:
            raise
        except (OSError, RuntimeError, ValueError) as exc:
            self._tables.clear()
            damage = self.unreadable()
            if damage is not None:
                raise StoreUnavailable(
                    f"The embedded store in {self.root} cannot be read ({damage}): restore it from a "
                    "backup, or move that folder away and index the album again."
                ) from None
            action = method.__name__.strip("_").replace("_", " ")
            raise PeaklensError(
                f"The embedded store in {self.root} failed in {action} ({_lance_reason(exc)}); its files "
                "read fine, so nothing needs re-indexing: please report this."
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
        self.generation_path = self.root / f"{self.photos_name}.generation"
        self.matrix_folder = self.root / f"{self.photos_name}.vectors"
        self._matrix: vectors.VectorMatrix | None = None
        self._columns: prefilter.PhotoColumns | None = None
        self._tables: dict[str, Any] = {}
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
        """The open table (kept: every call to LanceDB costs a round trip; the handle sees new versions)."""
        held = self._tables.get(name)
        if held is not None:
            return held
        if name not in self._table_names():
            return None
        self._tables[name] = self.db.open_table(name)
        return self._tables[name]

    def unreadable(self) -> str | None:
        """Why the tables' files cannot be read (damaged or missing data files), or None when every row's id
        of both tables reads back."""
        try:
            for name in (self.photos_name, self.peaks_name):
                if name in self._table_names():
                    for _ in self.db.open_table(name).search().select(["id"]).to_batches():
                        pass
        except Exception as exc:  # whatever Lance raises for a file it cannot read
            return _lance_reason(exc)
        return None

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
            missing = [field for field in schema if field.name not in table.schema.names]
            if missing:  # a store written by an older peaklens: the new columns start empty
                table.add_columns(missing)

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

    # --- the vector generation: which photos and vectors the kNN matrix must hold ----------------------
    def _generation(self) -> str:
        try:
            return self.generation_path.read_text(encoding="utf-8").strip() or "0"
        except OSError:
            return "0"

    def _vectors_changed(self) -> None:
        """Called after writes that add, replace or delete vectors: the matrix is rebuilt on next use."""
        tmp = self.generation_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(uuid.uuid4().hex, encoding="utf-8")
        os.replace(tmp, self.generation_path)
        self._matrix = None
        self._columns = None

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
        _merge(table, rows, photos_schema(dim), report, self.settings.bulk_size)
        if report.written:
            self._vectors_changed()
        return report

    @_guarded
    def update_photos(self, updates: Mapping[str, PhotoUpdate]) -> BulkReport:
        """Read each photo's whole row (vector included), change the given fields, merge it back by id, in
        chunks of ``bulk_size``; the vectors and ids do not change, so the kNN matrix is kept."""
        report = BulkReport()
        table = self._table(self.photos_name)
        if table is None:
            report.failed.update({photo_id: "the photos index does not exist" for photo_id in updates})
            return report
        dim = int(table.schema.field("vector").type.list_size)
        wanted = list(updates)
        chunk = max(1, self.settings.bulk_size)
        for start in range(0, len(wanted), chunk):
            ids = wanted[start : start + chunk]
            clause = "id IN (" + ", ".join(sql_string(i) for i in ids) + ")"
            stored = {
                row["id"]: row for row in table.search().where(clause).limit(len(ids)).to_arrow().to_pylist()
            }
            rows = {i: _apply(stored[i], updates[i]) for i in ids if i in stored}
            report.failed.update({i: "no such photo" for i in ids if i not in stored})
            _merge(table, rows, photos_schema(dim), report, chunk)
        return report

    def iter_photo_vectors(self, batch_size: int = 1000) -> Iterator[list[tuple[PhotoHit, np.ndarray]]]:
        table = self._table(self.photos_name)
        if table is None:
            return
        batch: list[tuple[PhotoHit, np.ndarray]] = []
        for record_batch in table.search().select([*_PHOTO_COLUMNS, "vector"]).to_batches(batch_size):
            for row in record_batch.to_pylist():
                batch.append((_hit(row, 1.0), np.asarray(row["vector"], dtype=np.float32)))
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

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
        if deleted:
            self._vectors_changed()
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

    # --- kNN on the vector matrix ----------------------------------------------------------------------
    def vector_matrix(self, table: Any | None = None) -> vectors.VectorMatrix:
        """The kNN matrix of the current generation: held, opened from disk, or built from the table."""
        generation = self._generation()
        if self._matrix is not None and self._matrix.generation == generation:
            return self._matrix
        matrix = vectors.open_matrix(self.matrix_folder, generation)
        if matrix is None:
            table = table if table is not None else self._table(self.photos_name)
            if table is None:
                raise PeaklensError("the photos index does not exist")
            dim = int(table.schema.field("vector").type.list_size)
            batches = (
                (batch.column("id"), _vector_block(batch.column("vector"), dim))
                for batch in table.search().select(["id", "vector"]).to_batches(65_536)
            )
            matrix = vectors.build_matrix(self.matrix_folder, batches, dim, generation)
        self._matrix, self._columns = matrix, None
        return matrix

    def _filter_columns(self, table: Any, matrix: vectors.VectorMatrix) -> prefilter.PhotoColumns:
        version = int(table.version)
        held = self._columns
        if held is not None and held.version == version and held.generation == matrix.generation:
            return held
        wanted = list(dict.fromkeys(prefilter.COLUMNS + _HELD_COLUMNS))
        data = table.search().with_row_id(True).select(wanted).to_arrow()
        self._columns = prefilter.load_columns(data, matrix.ids, version, matrix.generation, _HELD_COLUMNS)
        return self._columns

    def _nearest(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None
    ) -> tuple[Any, prefilter.PhotoColumns, np.ndarray, np.ndarray] | None:
        """(table, filter columns, matrix positions, cosines) of the k nearest, or None without photos."""
        table = self._table(self.photos_name)
        if table is None or k <= 0:
            return None
        matrix = self.vector_matrix(table)
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != matrix.vectors.shape[1]:
            _query_vector(table, self.photos_name, query)  # raises the one-line dimension error
        columns = self._filter_columns(table, matrix)
        positions, cosines = vectors.nearest(matrix, query, k, columns.mask(filters))
        return table, columns, positions, cosines

    def _fetch(self, table: Any, columns: prefilter.PhotoColumns, positions: np.ndarray) -> list[PhotoHit]:
        """The photos at these matrix positions (score 1.0), in that order: the shown columns from memory,
        ``extra_json`` by one ``take_row_ids``; by id from the table when it changed since they were read."""
        if len(positions) == 0:
            return []
        picked = pa.array(positions)
        rows = columns.shown.take(picked).to_pylist()
        ids = [row["id"] for row in rows]
        taken = table.take_row_ids([int(columns.row_ids[p]) for p in positions]).select(["id", "extra_json"])
        extras = {row["id"]: row["extra_json"] for row in taken.to_arrow().to_pylist()}
        if None in ids or set(extras) != set(ids):
            wanted = columns.ids.take(picked).to_pylist()
            clause = "id IN (" + ", ".join(sql_string(i) for i in wanted) + ")"
            fetched = {row["id"]: row for row in self._rows(clause, limit=len(wanted))}
            return [_hit(fetched[i], 1.0) for i in wanted if i in fetched]
        return [_hit({**row, "extra_json": extras[row["id"]]}, 1.0) for row in rows]

    @staticmethod
    def _ranked(
        columns: prefilter.PhotoColumns, positions: np.ndarray, cosines: np.ndarray
    ) -> list[RankedPhoto]:
        """The nearest rows as a ranking: best score first, ties by path (Elasticsearch's order here)."""
        picked = pa.array(positions)
        ranked = [
            RankedPhoto(doc_id, path, _score_of_cosine(cosine))
            for doc_id, path, cosine in zip(
                columns.ids.take(picked).to_pylist(),
                columns.shown.column("path").take(picked).to_pylist(),
                cosines.tolist(),
                strict=True,
            )
        ]
        ranked.sort(key=lambda r: (-r.score, r.path))
        return ranked

    @_guarded
    def knn_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[PhotoHit]:
        found = self._nearest(vector, k, filters)
        if found is None:
            return []
        table, columns, positions, cosines = found
        hits = {hit.id: hit for hit in self._fetch(table, columns, positions)}
        return [
            dataclasses.replace(hits[r.id], score=r.score)
            for r in self._ranked(columns, positions, cosines)
            if r.id in hits
        ]

    @_guarded
    def rank_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ) -> list[RankedPhoto]:
        found = self._nearest(vector, k, filters)
        return [] if found is None else self._ranked(*found[1:])

    @_guarded
    def get_photos(self, ids: Sequence[str]) -> list[PhotoHit]:
        table = self._table(self.photos_name)
        wanted = list(dict.fromkeys(ids))
        if table is None or not wanted:
            return []
        columns = self._filter_columns(table, self.vector_matrix(table))
        # per matrix row, its place in ``wanted`` (-1 if not asked): one pass, no index of every id held
        place = pc.fill_null(pc.index_in(columns.ids, value_set=pa.array(wanted, pa.string())), -1)
        places = place.to_numpy(zero_copy_only=False)
        positions = np.flatnonzero((places >= 0) & columns.present)
        if len(positions) == len(wanted):
            return self._fetch(table, columns, positions[np.argsort(places[positions])])
        clause = "id IN (" + ", ".join(sql_string(i) for i in wanted) + ")"
        fetched = {row["id"]: _hit(row, 1.0) for row in self._rows(clause, limit=len(wanted))}
        return [fetched[i] for i in wanted if i in fetched]

    @_guarded
    def list_photos(self, filters: SearchFilters | None = None, limit: int = 1000) -> list[PhotoHit]:
        hits = [_hit(row, 1.0) for row in self._rows(where_clause(filters))]
        hits.sort(key=lambda h: newest_first(h.shot_time, h.path))
        return hits[:limit]

    @_guarded
    def peak_facets(
        self, filters: SearchFilters | None = None, size: int = 100, field: str = "predicted_peaks"
    ) -> list[tuple[str, int]]:
        check_facet_field(field)
        counts: Counter[str] = Counter()
        for row in self._rows(where_clause(filters), columns=[field]):
            counts.update(set(row.get(field) or []))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]

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
            problem = _vector_problem(peak.vector, dim) or (
                None if peak.text_vector is None else _vector_problem(peak.text_vector, dim)
            )
            if problem:
                report.failed[peak.id] = problem
                continue
            rows[peak.id] = {
                "id": peak.id,
                "names": list(peak.names),
                "lat": peak.latlon.lat if peak.latlon else None,
                "lon": peak.latlon.lon if peak.latlon else None,
                "elev_m": peak.elev_m,
                "vector": np.asarray(peak.vector, dtype=np.float32).reshape(-1).tolist(),
                "text_vector": None
                if peak.text_vector is None
                else np.asarray(peak.text_vector, dtype=np.float32).reshape(-1).tolist(),
            }
        _merge(table, rows, peaks_schema(dim), report, self.settings.bulk_size)
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
            table.search(_query_vector(table, self.peaks_name, vector), vector_column_name="vector")
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
        """Upkeep after a run: compact many small commits, drop a LanceDB vector index left by an older
        peaklens, build the kNN matrix now rather than at the first search.

        Writes are visible at once, so a failure here never fails the run; it is reported as one
        ``StoreUpkeepWarning`` line (``peaklens.store.upkeep.refresh_and_report`` passes it on).
        """
        table = self._table(self.photos_name)
        if table is None:
            return
        problems = []
        try:
            for index in table.list_indices():
                if "vector" in index.columns:
                    table.drop_index(index.name)
            if len(table.list_versions()) > COMPACT_AFTER_VERSIONS:
                table.optimize(cleanup_older_than=timedelta(minutes=10))
        except Exception as exc:  # upkeep: any failure is reported below, never raised
            problems.append(f"compacting the photos table failed ({_lance_reason(exc)})")
        try:
            self.vector_matrix(table)
        except Exception as exc:
            problems.append(
                f"building the search matrix in {self.matrix_folder} failed ({_lance_reason(exc)}); "
                "the first search will try again"
            )
        if problems:
            warnings.warn(StoreUpkeepWarning(f"Store upkeep: {'; '.join(problems)}."), stacklevel=2)

    def close(self) -> None:
        """Nothing to release: LanceDB holds no server connection or lock."""
        self._matrix = None
        self._columns = None


def _vector_block(column: pa.Array | pa.ChunkedArray, dim: int) -> np.ndarray:
    """A fixed_size_list<float32> column as an (n, dim) array without a Python loop."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float32).reshape(-1, dim)


def _score_of_cosine(cosine: float) -> float:
    return float(min(1.0, max(0.0, (1.0 + cosine) / 2.0)))


def _vector_problem(vector: np.ndarray, dim: int) -> str | None:
    values = np.asarray(vector, dtype=np.float32).reshape(-1)
    if values.shape[0] != dim:
        return f"vector has {values.shape[0]} dimensions, the index holds {dim}"
    if not np.all(np.isfinite(values)):
        return "vector holds NaN or infinite values"
    return None


def _peak_doc(row: dict[str, Any]) -> PeakDoc:
    lat, lon = row.get("lat"), row.get("lon")
    text = row.get("text_vector")
    return PeakDoc(
        id=row["id"],
        names=list(row["names"]),
        vector=np.asarray(row["vector"], dtype=np.float32),
        latlon=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        elev_m=row.get("elev_m"),
        text_vector=None if text is None else np.asarray(text, dtype=np.float32),
    )
