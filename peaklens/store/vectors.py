"""The embedded store's kNN: every photo vector in one memory-mapped float32 matrix, scanned exactly; from
``QUANTISED_MIN_ROWS`` photos on, scanned through an 8-bit copy and re-scored in float32.

Why not LanceDB's own ANN index: measured on 2 cores at 1 M × 768-d, its IVF_HNSW_SQ took 847 ms per query
with every partition probed (the setting that gave recall), 90 ms at recall@10 0.975 with its best sweep, and
700 s to build. A query here is memory-bandwidth bound: float32 is 3 KB a photo, the 8-bit copy 768 bytes, and
ONNX Runtime's int8 matrix product (VNNI/AMX where the CPU has them) reads it at the memory's speed. The
8-bit scan only chooses candidates: the best ``rescored(k)`` of them are scored again from the float32 rows,
so every score returned is the exact float32 cosine and a photo is missed only when quantisation moves it
across hundreds of places. Measurements: docs/STORES.md.

The matrix is rebuilt from the table when the store's vector *generation* (bumped by every upsert or delete)
differs from the one it was built at; metadata-only updates keep it.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

#: from this many photos on, queries scan the 8-bit copy (below, float32 is as fast: docs/STORES.md)
QUANTISED_MIN_ROWS = 100_000
#: a filter keeping less than this share of the photos is answered by reading exactly those photos' float32
#: rows (a scattered read costs about twice a streamed one); the share is 4 times smaller for the 8-bit scan
GATHER_SHARE = 0.25
#: the 8-bit scan's candidates re-scored in float32: at least this many...
RESCORE_MIN = 1_000
#: ...and this many per result asked for
RESCORE_PER_RESULT = 2
SMALL_BLOCK_ROWS = 32_768
_CHUNK = 65_536
_CODE_OFFSET = 128


@dataclass
class VectorMatrix:
    """Every photo vector in float32, plus its 8-bit codes when ``codes`` is set (``vector ≈ (code − 128) ·
    step`` per dimension)."""

    ids: pa.Array
    vectors: np.ndarray
    codes: np.ndarray | None
    steps: np.ndarray | None
    generation: str

    @property
    def rows(self) -> int:
        return int(self.vectors.shape[0])


def _mapped(path: Path, dtype: type, rows: int, dim: int) -> np.ndarray:
    """A plain ndarray view of a file mapping: numpy's memmap subclass slows every product."""
    if not rows:
        return np.zeros((0, dim), dtype=dtype)
    return np.asarray(np.memmap(path, dtype=dtype, mode="r", shape=(rows, dim)))


def open_matrix(folder: Path, generation: str) -> VectorMatrix | None:
    """The matrix saved in ``folder`` when it was built at ``generation``, else None."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        if state.get("generation") != generation:
            return None
        rows, dim = int(state["rows"]), int(state["dim"])
        vectors = _mapped(folder / "vectors.f32", np.float32, rows, dim)
        ids = feather.read_table(folder / "ids.arrow", memory_map=True).column("id").combine_chunks()
        codes = steps = None
        if state.get("quantised"):
            codes = _mapped(folder / "codes.u8", np.uint8, rows, dim)
            steps = np.load(folder / "steps.npy")
    except (OSError, ValueError, KeyError):
        return None
    return VectorMatrix(ids, vectors, codes, steps, generation)


def build_matrix(
    folder: Path,
    batches: Iterable[tuple[pa.Array, np.ndarray]],
    dim: int,
    generation: str,
    quantise_from_rows: int | None = None,
) -> VectorMatrix:
    """Write every (ids, vectors) batch to a new matrix, with 8-bit codes from ``quantise_from_rows`` rows
    on (default ``QUANTISED_MIN_ROWS``), and swap it in for the old one (readers holding the old files keep
    them until they let go)."""
    threshold = QUANTISED_MIN_ROWS if quantise_from_rows is None else quantise_from_rows
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = folder.with_name(f"{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    work.mkdir()
    try:
        id_chunks: list[pa.Array] = []
        rows = 0
        with open(work / "vectors.f32", "wb") as raw_file:
            for ids, vectors in batches:
                block = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
                raw_file.write(block.tobytes())
                id_chunks.append(ids)
                rows += block.shape[0]
        ids = pa.concat_arrays(id_chunks) if id_chunks else pa.array([], pa.string())
        state: dict[str, object] = {"generation": generation, "rows": rows, "dim": dim, "quantised": False}
        if rows and rows >= threshold:
            _write_codes(work, _mapped(work / "vectors.f32", np.float32, rows, dim))
            state["quantised"] = True
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


def _write_codes(work: Path, vectors: np.ndarray) -> None:
    """Symmetric 8-bit codes per dimension: step = the dimension's largest magnitude / 127, stored as
    uint8 around 128 (the layout ONNX Runtime's fastest u8 × s8 product reads)."""
    rows, dim = vectors.shape
    largest = np.zeros(dim, dtype=np.float32)
    for start in range(0, rows, _CHUNK):
        largest = np.maximum(largest, np.abs(vectors[start : start + _CHUNK]).max(axis=0))
    steps = np.where(largest > 0, largest / 127.0, 1.0).astype(np.float32)
    codes = np.memmap(work / "codes.u8", dtype=np.uint8, mode="w+", shape=(rows, dim))
    for start in range(0, rows, _CHUNK):
        block = np.rint(vectors[start : start + _CHUNK] / steps) + _CODE_OFFSET
        codes[start : start + _CHUNK] = np.clip(block, 1, 255).astype(np.uint8)
    codes.flush()
    del codes
    np.save(work / "steps.npy", steps)


def rescored(k: int) -> int:
    """How many of the 8-bit scan's best candidates are scored again in float32 for ``k`` results."""
    return max(RESCORE_MIN, RESCORE_PER_RESULT * k)


def nearest(
    matrix: VectorMatrix, query: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and exact float32 cosines of the ``k`` rows nearest to ``query`` among the ``allowed``
    ones, best first.

    A filter keeping under ``GATHER_SHARE`` of the photos (a quarter of it with codes) scans exactly those
    photos. Otherwise every row is
    scored — in float32 below ``QUANTISED_MIN_ROWS``, else through the 8-bit codes, whose best
    ``rescored(k)`` allowed rows are then scored in float32 — and disallowed rows are set aside, so a filter
    never yields fewer than ``k`` when ``k`` photos match.
    """
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    matching = matrix.rows if allowed is None else int(np.count_nonzero(allowed))
    if matching == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    share = GATHER_SHARE if matrix.codes is None else GATHER_SHARE / 4
    if allowed is not None and matching < share * matrix.rows:
        positions = np.flatnonzero(allowed)
        return _top(positions, _scores(matrix.vectors[positions], query), k)
    # the disallowed rows are dropped, not set to -inf: selecting among many equal values is slow
    kept = None if allowed is None or matching == matrix.rows else np.flatnonzero(allowed)
    if matrix.codes is None or matrix.steps is None:
        scores = _scores(matrix.vectors, query)
        return _top(kept, scores if kept is None else scores[kept], k)
    approximate = _code_scores(matrix.codes, matrix.steps, query)
    candidates = _top(kept, approximate if kept is None else approximate[kept], rescored(k))[0]
    candidates.sort()  # ascending positions: the float32 rows are read in file order
    return _top(candidates, _scores(matrix.vectors[candidates], query), k)


def _scores(block: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Dot products; small blocks in numpy's own single-threaded loop, since waking BLAS threads costs more
    than the product on a busy 2-core machine (measured 6 ms vs 17 ms for 5 000 × 768)."""
    if block.shape[0] < SMALL_BLOCK_ROWS:
        return np.einsum("ij,j->i", block, query)
    return np.asarray(block @ query)


def _code_scores(codes: np.ndarray, steps: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Σ code · round(query · step / t) per row, int32: a positive multiple of the approximate cosine plus
    a constant (the 128 offset), so it orders rows as the cosine would."""
    weights = query * steps
    largest = float(np.abs(weights).max())
    scale = 127.0 / largest if largest > 0 else 1.0
    quantised = np.clip(np.rint(weights * scale), -127, 127).astype(np.int8).reshape(-1, 1)
    (product,) = _int8_session().run(None, {"codes": codes, "query": quantised})
    return np.asarray(product).reshape(-1)


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _int8_session() -> Any:
    """One ONNX Runtime ``MatMulInteger`` (uint8 codes × int8 query → int32), built once per process; only
    stores of ``QUANTISED_MIN_ROWS`` photos or more load onnxruntime for it."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            import onnxruntime as ort
            from onnx import TensorProto, helper

            graph = helper.make_graph(
                [helper.make_node("MatMulInteger", ["codes", "query"], ["scores"])],
                "code_scores",
                [
                    helper.make_tensor_value_info("codes", TensorProto.UINT8, ["rows", "dim"]),
                    helper.make_tensor_value_info("query", TensorProto.INT8, ["dim", 1]),
                ],
                [helper.make_tensor_value_info("scores", TensorProto.INT32, ["rows", 1])],
            )
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            model.ir_version = 8
            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # a shared machine
            _SESSION = ort.InferenceSession(
                model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _SESSION


def _top(positions: np.ndarray | None, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest scores (float32 cosines or int32 code scores) and their positions (``None``: the
    scores' own indices), best first."""
    chosen = np.arange(len(scores))
    if len(scores) > k:
        chosen = np.argpartition(scores, len(scores) - k)[len(scores) - k :]
    best = scores[chosen]
    order = np.argsort(-best.astype(np.float64), kind="stable")
    chosen = chosen[order]
    return (chosen if positions is None else positions[chosen]), best[order].astype(np.float32)
