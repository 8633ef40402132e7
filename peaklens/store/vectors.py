"""The embedded store's kNN: photo vectors in one memory-mapped float32 matrix, searched exactly or through IVF.

Why not LanceDB's own ANN index: measured on 2 cores at 1 M × 768-d, its IVF_HNSW_SQ took 847 ms per query
with every partition probed (the setting that gave recall), 90 ms at recall@10 0.975 with its best sweep, and
700 s to build, while a plain matrix-vector product over the same float32 vectors takes ~260 ms and is exact.
Here the vectors sit in a file grouped by IVF list (k-means centroids), so probing a list is one contiguous
read and a query reads only the lists nearest to it; below ``IVF_MIN_ROWS`` photos (measured crossover) the
whole matrix is scanned. Scores are always exact float32 cosines. Measurements: docs/STORES.md.

The matrix is rebuilt from the table when the store's vector *generation* (bumped by every upsert or delete)
differs from the one it was built at; metadata-only updates keep it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

#: below this many photos a query scans every vector (as fast as probing lists at that size; docs/STORES.md)
IVF_MIN_ROWS = 200_000
#: mean photos per IVF list
ROWS_PER_LIST = 250
#: share of the (filter-matching) photos a query reads, nearest lists first; recall@10 >= 0.98 measured
SCAN_FRACTION = 0.15
#: ...and never fewer photos than this (a few milliseconds of reading)
MIN_SCAN_ROWS = 20_000
#: k-means trains on this many photos per list (a sample), for this many rounds
TRAIN_ROWS_PER_LIST = 16
KMEANS_ROUNDS = 6
#: filters matching fewer photos than this are answered by scanning exactly those photos
EXACT_FILTER_ROWS = 50_000
SMALL_BLOCK_ROWS = 32_768
_CHUNK = 65_536


@dataclass
class VectorMatrix:
    """Every photo vector, rows grouped by IVF list when ``centroids`` is set (``offsets[i]:offsets[i+1]``)."""

    ids: pa.Array
    vectors: np.ndarray
    centroids: np.ndarray | None
    offsets: np.ndarray | None
    generation: str

    @property
    def rows(self) -> int:
        return int(self.vectors.shape[0])


def open_matrix(folder: Path, generation: str) -> VectorMatrix | None:
    """The matrix saved in ``folder`` when it was built at ``generation``, else None."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if state.get("generation") != generation:
            return None
        rows, dim = int(state["rows"]), int(state["dim"])
        vectors = (  # a plain ndarray view of the mapping: numpy's memmap subclass slows every product
            np.asarray(np.memmap(folder / "vectors.f32", dtype=np.float32, mode="r", shape=(rows, dim)))
            if rows
            else np.zeros((0, dim), dtype=np.float32)
        )
        ids = feather.read_table(folder / "ids.arrow", memory_map=True).column("id").combine_chunks()
        centroids = offsets = None
        if state.get("ivf"):
            centroids = np.load(folder / "centroids.npy")
            offsets = np.load(folder / "offsets.npy")
    except (OSError, ValueError, KeyError):
        return None
    return VectorMatrix(ids, vectors, centroids, offsets, generation)


def build_matrix(
    folder: Path, batches: Iterable[tuple[pa.Array, np.ndarray]], dim: int, generation: str
) -> VectorMatrix:
    """Write every (ids, vectors) batch to a new matrix, grouped by IVF list from ``IVF_MIN_ROWS`` rows on,
    and swap it in for the old one (readers holding the old files keep them until they let go)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = folder.with_name(f"{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    work.mkdir()
    try:
        id_chunks: list[pa.Array] = []
        rows = 0
        with open(work / "raw.f32", "wb") as raw_file:
            for ids, vectors in batches:
                block = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
                raw_file.write(block.tobytes())
                id_chunks.append(ids)
                rows += block.shape[0]
        ids = pa.concat_arrays(id_chunks) if id_chunks else pa.array([], pa.string())
        state: dict[str, object] = {"generation": generation, "rows": rows, "dim": dim, "ivf": False}
        if rows >= IVF_MIN_ROWS:
            raw = np.memmap(work / "raw.f32", dtype=np.float32, mode="r", shape=(rows, dim))
            centroids = train_centroids(raw, max(1, rows // ROWS_PER_LIST))
            labels = assign(raw, centroids)
            order = np.argsort(labels, kind="stable")
            offsets = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=len(centroids)))])
            grouped = np.memmap(work / "vectors.f32", dtype=np.float32, mode="w+", shape=(rows, dim))
            for start in range(0, rows, _CHUNK):
                grouped[start : start + _CHUNK] = raw[order[start : start + _CHUNK]]
            grouped.flush()
            del grouped, raw
            (work / "raw.f32").unlink()
            ids = ids.take(pa.array(order))
            np.save(work / "centroids.npy", centroids)
            np.save(work / "offsets.npy", offsets.astype(np.int64))
            state["ivf"] = True
        else:
            os.replace(work / "raw.f32", work / "vectors.f32")
        feather.write_feather(pa.table({"id": ids}), work / "ids.arrow", compression="uncompressed")
        (work / "state.json").write_text(json.dumps(state), encoding="utf-8")
        old = folder.with_name(f"{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(work, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    built = open_matrix(folder, generation)
    if built is None:
        raise OSError(f"the vector matrix written to {folder} cannot be read back")
    return built


def train_centroids(vectors: np.ndarray, lists: int, seed: int = 0) -> np.ndarray:
    """Spherical k-means on a sample: unit centroids, each row to the centroid of highest dot product."""
    rng = np.random.default_rng(seed)
    rows = vectors.shape[0]
    sample_size = min(rows, lists * TRAIN_ROWS_PER_LIST)
    sample = np.asarray(vectors[np.sort(rng.choice(rows, size=sample_size, replace=False))], dtype=np.float32)
    centroids = sample[rng.choice(sample_size, size=lists, replace=False)].copy()
    for _ in range(KMEANS_ROUNDS):
        labels = assign(sample, centroids)
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=lists)
        sums = np.zeros_like(centroids)
        filled = counts > 0
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[filled]
        sums[filled] = np.add.reduceat(sample[order], starts, axis=0)
        empty = ~filled
        sums[empty] = sample[rng.choice(sample_size, size=int(empty.sum()), replace=False)]
        centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return centroids.astype(np.float32)


def assign(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    labels = np.empty(vectors.shape[0], dtype=np.int64)
    step = max(1, _CHUNK * 64 // max(64, len(centroids)))  # keeps the score block near 256 MB
    for start in range(0, vectors.shape[0], step):
        block = np.asarray(vectors[start : start + step], dtype=np.float32)
        labels[start : start + step] = np.argmax(block @ centroids.T, axis=1)
    return labels


def nearest(
    matrix: VectorMatrix, query: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and cosines of the ``k`` rows nearest to ``query`` among the ``allowed`` ones, best first.

    Exact below ``IVF_MIN_ROWS`` (or when the filter keeps fewer than ``EXACT_FILTER_ROWS`` rows); otherwise
    the nearest lists are read until ``SCAN_FRACTION`` of the allowed rows (and at least ``k`` of them) are
    scored, so a filter that keeps few photos still yields ``k`` when ``k`` exist.
    """
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    matching = matrix.rows if allowed is None else int(np.count_nonzero(allowed))
    if matching == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if allowed is not None and matching < EXACT_FILTER_ROWS:
        positions = np.flatnonzero(allowed)
        return _top(positions, _scores(matrix.vectors[positions], query), k)
    if matrix.centroids is None or matrix.offsets is None:
        scores = _scores(matrix.vectors, query)
        if allowed is None:
            return _top(np.arange(matrix.rows), scores, k)
        positions = np.flatnonzero(allowed)
        return _top(positions, scores[positions], k)
    wanted = min(matching, max(k, MIN_SCAN_ROWS, int(np.ceil(SCAN_FRACTION * matching))))
    order = np.argsort(-(matrix.centroids @ query))
    found_positions: list[np.ndarray] = []
    found_scores: list[np.ndarray] = []
    scanned = 0
    for lst in order:
        start, stop = int(matrix.offsets[lst]), int(matrix.offsets[lst + 1])
        if stop == start:
            continue
        scores = _scores(matrix.vectors[start:stop], query)
        positions = np.arange(start, stop)
        if allowed is not None:
            keep = allowed[start:stop]
            positions, scores = positions[keep], scores[keep]
        found_positions.append(positions)
        found_scores.append(scores)
        scanned += len(positions)
        if scanned >= wanted:
            break
    return _top(np.concatenate(found_positions), np.concatenate(found_scores), k)


def _scores(block: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Dot products; small blocks in numpy's own single-threaded loop, since waking BLAS threads costs more
    than the product on a busy 2-core machine (measured 6 ms vs 17 ms for 5 000 × 768)."""
    if block.shape[0] < SMALL_BLOCK_ROWS:
        return np.einsum("ij,j->i", block, query)
    return np.asarray(block @ query)


def _top(positions: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) > k:
        best = np.argpartition(-scores, k - 1)[:k]
        positions, scores = positions[best], scores[best]
    order = np.argsort(-scores, kind="stable")
    return positions[order], scores[order].astype(np.float32)
