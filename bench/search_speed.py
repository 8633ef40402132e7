"""Query latency and kNN quality of the stores, from 1 k to 1 M photos.

Two tables. (1) End to end through ``Searcher`` (text tower + kNN + fetch) with the benchmark model: the first
100 photos are real trek photos, the rest synthetic. (2) The embedded store's kNN alone on a synthetic album
(``--knn-only`` runs just this one, without a model, e.g. at 1 M photos): build time of its search matrix,
p50/p95, recall@10 against exact float32 search, for text-like and image-like query vectors, unfiltered and
with filters keeping 20 % and 1 % of the photos.

Synthetic album: 2 000 "scenes" in a cone (unit directions with cosine ~0.36 to each other, as image
embeddings share a mean direction), each photo a scene plus noise (cosine ~0.78 to its scene). Image-like
queries are more such photos. Text-like queries are 0.3 × a scene direction + 0.95 × a random direction, so
their best cosine with any photo is ~0.28 (SigLIP text-image cosines are 0.1-0.3): far from every photo and
diffuse, the hard case for ANN indexes. Every row says the precision of the vectors it searched.
Elasticsearch is measured only when PEAKLENS_ES_URL names a real cluster (the emulator is no benchmark target).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench.common import TREK, Section, p50_p95, table, timed
from bench.random_model import model_source
from peaklens.config import Settings
from peaklens.embed.base import l2_normalise
from peaklens.records import PhotoDoc, SearchFilters
from peaklens.store import vectors
from peaklens.store.embedded import EmbeddedStore, photos_schema
from peaklens.store.factory import open_store

QUERIES = [
    "ama dablam",
    "prayer flags",
    "a person in a blue jacket on a bench",
    "yaks on the trail",
    "a glacier",
]
SCENES = 2_000
FILTERS = {
    "none": None,
    "20 %": SearchFilters(peaks=("Ama Dablam",)),
    "1 %": SearchFilters(peaks=("Kala Patthar",)),
}


# --- synthetic vectors ---------------------------------------------------------------------------------
def scenes(dim: int, rng: np.random.Generator) -> np.ndarray:
    common = l2_normalise(rng.standard_normal(dim).astype(np.float32))
    spread = l2_normalise(rng.standard_normal((SCENES, dim)).astype(np.float32))
    return l2_normalise(0.6 * common + 0.8 * spread)


def photo_vectors(centres: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    dim = centres.shape[1]
    chosen = centres[rng.integers(0, len(centres), count)]
    return l2_normalise(chosen + 0.8 * rng.standard_normal((count, dim)).astype(np.float32) / np.sqrt(dim))


def text_like(centres: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    away = l2_normalise(rng.standard_normal((count, centres.shape[1])).astype(np.float32))
    return l2_normalise(0.3 * centres[rng.integers(0, len(centres), count)] + 0.954 * away)


def peaks_of(index: int) -> list[str]:
    """1 % of the photos show Kala Patthar, 20 % Ama Dablam, the rest Pumori."""
    return ["Kala Patthar"] if index % 100 == 0 else ["Ama Dablam"] if index % 5 == 1 else ["Pumori"]


# --- filling a store -------------------------------------------------------------------------------------
def fill(store: object, vectors_: np.ndarray, start: int = 0) -> float:
    """Upsert synthetic photo docs through the store, then refresh; returns the refresh's seconds (on the
    embedded store that builds the search matrix)."""
    docs = [
        PhotoDoc(
            id=f"p{start + i:07d}",
            path=f"synthetic/{start + i:07d}.jpg",
            vector=v,
            predicted_peaks=peaks_of(start + i),
        )
        for i, v in enumerate(vectors_)
    ]
    for chunk in range(0, len(docs), 5000):
        store.upsert_photos(docs[chunk : chunk + 5000])  # type: ignore[attr-defined]
    started = time.perf_counter()
    store.refresh()  # type: ignore[attr-defined]
    return time.perf_counter() - started


def fill_fast(store: EmbeddedStore, blocks: Iterator[np.ndarray], dim: int) -> int:
    """Append synthetic rows straight to the LanceDB table with the store's schema (building a million
    PhotoDocs would measure Python, not search; the indexing path is benchmarked in index_speed)."""
    import lancedb

    # the store's own on-disk format, written with LanceDB's public API; its first refresh builds the matrix
    table = lancedb.connect(str(store.root)).open_table(store.photos_name)
    schema = photos_schema(dim)
    written = 0
    for block in blocks:
        ids = [f"p{written + i:07d}" for i in range(len(block))]
        columns = {
            "id": pa.array(ids),
            "path": pa.array([f"synthetic/{i}.jpg" for i in ids]),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(block.reshape(-1), pa.float32()), dim),
            "predicted_peaks": pa.array([peaks_of(written + i) for i in range(len(block))]),
        }
        arrays = [columns.get(f.name, pa.nulls(len(block), f.type)) for f in schema]
        table.add(pa.Table.from_arrays(arrays, schema=schema))
        written += len(block)
    return written


# --- measuring -------------------------------------------------------------------------------------------
def recall_at_10(store: object, vectors_: np.ndarray, queries: np.ndarray, num_candidates: int) -> float:
    exact = np.argsort(-(queries @ vectors_.T), axis=1)[:, :10]
    hits = 0
    for query, truth in zip(queries, exact, strict=True):
        got = {int(h.id[1:]) for h in store.knn_photos(query, 10, num_candidates)}  # type: ignore[attr-defined]
        hits += len(got & {int(i) for i in truth})
    return hits / (10 * len(queries))


def _index_text(matrix: vectors.VectorMatrix) -> str:
    if matrix.codes is None:
        return "exact scan, float32"
    return (
        f"8-bit scan of every photo (uint8 × int8, ONNX Runtime), best ≥ {vectors.RESCORE_MIN:,} "
        "re-scored in float32 (exact scores)"
    )


def knn_rows(
    store: EmbeddedStore, centres: np.ndarray, rng: np.random.Generator, queries: int = 40
) -> list[list[str]]:
    """kNN-alone rows for the embedded store as it is now: per query kind and filter, p50/p95 and recall@10
    against an exact float32 scan of the same matrix under the same filter."""
    matrix = store.vector_matrix()
    # which photo each matrix row is, by its synthetic id: the filters' truth comes from how the photos were made
    made_as = [peaks_of(int(photo_id[1:]))[0] for photo_id in matrix.ids.to_pylist()]
    rows = []
    kinds = {
        "text-like": text_like(centres, queries, rng),
        "image-like": photo_vectors(centres, queries, rng),
    }
    for kind, query_vectors in kinds.items():
        for filter_name, filters in FILTERS.items():
            mask = np.array([filters is None or peak in filters.peaks for peak in made_as])
            truth = []
            for query in query_vectors:
                scores = np.asarray(matrix.vectors @ query)
                scores[~mask] = -np.inf
                best = np.argsort(-scores)[: min(10, int(mask.sum()))]  # fewer when fewer photos match
                truth.append(set(best.tolist()))
            cycle = iter(list(query_vectors) * 3)

            def one(cycle: Iterator[np.ndarray] = cycle, filters: SearchFilters | None = filters) -> object:
                return store.knn_photos(next(cycle), 60, 2000, filters)

            times = timed(one, repeat=len(query_vectors))
            recall = 0.0
            for query, expected in zip(query_vectors, truth, strict=True):
                positions, _ = vectors.nearest(matrix, query, 10, mask)
                recall += len(set(positions.tolist()) & expected) / max(1, len(expected))
            rows.append(
                [
                    f"{matrix.rows:,}",
                    kind,
                    filter_name,
                    _index_text(matrix),
                    p50_p95(times),
                    f"{recall / len(query_vectors):.3f}",
                ]
            )
    return rows


def knn_only(sizes: list[int], dim: int = 768) -> Section:
    """The embedded store's kNN on synthetic vectors only (no model): build, latency and recall per size."""
    rng = np.random.default_rng(0)
    centres = scenes(dim, rng)
    rows: list[list[str]] = []
    builds: list[list[str]] = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="peaklens-knn-bench-") as tmp:
            store = EmbeddedStore(Settings(data_dir=Path(tmp) / "store"))
            store.ensure_indices(dim)
            blocks = (photo_vectors(centres, min(50_000, size - s), rng) for s in range(0, size, 50_000))
            started = time.perf_counter()
            fill_fast(store, blocks, dim)
            filled = time.perf_counter() - started
            started = time.perf_counter()
            store.refresh()
            built = time.perf_counter() - started
            builds.append([f"{size:,}", f"{filled:.0f}", f"{built:.0f}", _index_text(store.vector_matrix())])
            measured = knn_rows(store, centres, rng)
            rows.extend(measured)
            store.close()
            for row in [builds[-1], *measured]:  # as it goes: a 1 M run takes long
                print("| " + " | ".join(row) + " |", flush=True)
    body = "\n".join(
        [
            f"Synthetic {dim}-d unit vectors (no model): {SCENES} scenes in a cone, photos around them; text-like "
            "queries far from every photo (best cosine ~0.28), image-like queries are more photos. k = 60 "
            "(recall@10 against an exact float32 scan under the same filter, 40 queries each). Filters: "
            "predicted peak held by 20 % / 1 % of the photos.",
            "",
            table(["photos", "rows written s", "search matrix build s (refresh)", "index"], builds),
            "",
            table(
                ["photos", "queries", "filter", "index / precision", "kNN p50 / p95 ms", "recall@10"], rows
            ),
        ]
    )
    return Section("Embedded kNN at scale (synthetic vectors)", body)


# --- end to end through Searcher ---------------------------------------------------------------------------
def real_vectors(embedder: object) -> np.ndarray:
    from peaklens.imaging import open_photo

    files = sorted((TREK / "jpeg").glob("*.jpg"))
    images = [open_photo(path, target=448).image for path in files]
    return embedder.embed_images(images)  # type: ignore[attr-defined]


PEAK_QUERIES = ["Ama Dablam", "pumori", "Mount Everest", "lhotse", "Island Peak"]


def _latencies(
    searcher: object, query_vectors: np.ndarray
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Milliseconds of kNN alone (cycling through query vectors), of new text queries (the text tower runs:
    remembered query vectors are dropped first), of repeated ones (the UI reruns its script on each click) and of
    new peak-name queries (the stored prototype, then RRF fusion over the candidate window, through Searcher)."""
    vectors_ = iter(list(query_vectors) * 10)
    texts = iter(QUERIES * 10)
    peaks = iter(PEAK_QUERIES * 10)
    knn = timed(lambda: searcher.store.knn_photos(next(vectors_), 60, 2000), repeat=30)  # type: ignore[attr-defined]

    def unremembered() -> Any:
        """A searcher with no query vectors remembered (same catalog read): the cost of a query never seen."""
        return type(searcher)(searcher.settings, searcher.store, searcher.embedder, catalog=searcher.catalog)  # type: ignore[attr-defined]

    def new_query() -> object:
        return unremembered().text(next(texts), k=60)

    def peak_query() -> object:
        return unremembered().text(next(peaks), k=60)

    text = timed(new_query, repeat=20)
    repeated = timed(lambda: searcher.text(next(texts), k=60), repeat=20, warmup=len(QUERIES))  # type: ignore[attr-defined]
    peak = timed(peak_query, repeat=20)
    return knn, text, repeated, peak


def text_floor_ms(embedder: object) -> tuple[float, str]:
    """The least time this CPU needs for a new query's text work: prompts x 64 tokens through the text tower
    (~11 GFLOP each) at the measured GEMM rate of the precision in use."""
    from bench.common import fp32_gemm_gflops, int8_gemm_gops

    prompts = 3  # three neutral prompts in one batch (the anti-concept vector is computed once per model)
    int8 = getattr(embedder, "precision", "") == "int8"
    rate = int8_gemm_gops() if int8 else fp32_gemm_gflops()
    return (
        prompts * 11.0 / rate * 1000.0,
        f"{prompts} × 11 GFLOP ÷ {rate:.0f} {'GOPS int8' if int8 else 'GFLOP/s fp32'}",
    )


def search_rows(model: str, precision: Any, sizes: list[int]) -> dict[str, list[list[str]]]:
    """The rows of the search tables: ``latency`` (end to end through ``Searcher``) and ``knn`` (kNN alone,
    recall, filters). The hook where more ways to search (peak-name fusion) add their rows."""
    from peaklens.embed.loader import load_embedder
    from peaklens.search import Searcher

    embedder = load_embedder(Settings(model=model_source(model), precision=precision))
    rng = np.random.default_rng(0)
    real = real_vectors(embedder)
    dim = real.shape[1]
    centres = np.concatenate([real, scenes(dim, rng)])
    latency_rows: list[list[str]] = []
    knn: list[list[str]] = []
    es_url = os.environ.get("PEAKLENS_ES_URL")
    floor_ms, floor_how = text_floor_ms(embedder)
    with tempfile.TemporaryDirectory(prefix="peaklens-search-bench-") as tmp:
        from rich.console import Console

        from peaklens.catalog_sync import build_catalog

        settings = Settings(model=model_source(model), precision=precision, data_dir=Path(tmp) / "store")
        store = EmbeddedStore(settings)
        store.ensure_indices(dim)
        build_catalog(
            store, embedder, settings, peaks_file=None, refs_dir=None, say=Console(quiet=True).print
        )
        stored = len(real)
        fill(store, real)
        stores: list[tuple[str, object]] = [("embedded (LanceDB + vector matrix)", store)]
        if es_url:
            es = open_store(
                Settings(
                    model=model_source(model),
                    store="elasticsearch",
                    es_url=es_url,
                    photos_index="peaklens-bench",
                )
            )
            es.ensure_indices(dim)
            fill(es, real)
            stores.append(("Elasticsearch", es))
        for size in sizes:
            extra = photo_vectors(centres, size - stored, rng)
            for _, target in stores:
                fill(target, extra, start=stored)
            stored = size
            query_vectors = text_like(centres, 50, rng)
            for name, target in stores:
                knn_ms, text, repeated, peak = _latencies(Searcher(settings, target, embedder), query_vectors)  # type: ignore[arg-type]
                latency_rows.append(
                    [
                        name,
                        f"{size:,}",
                        f"{size - len(real):,}",
                        f"model {precision}; vectors "
                        + (
                            "float32"
                            if not isinstance(target, EmbeddedStore) or target.vector_matrix().codes is None
                            else "8-bit scan, float32 re-score"
                        ),
                        p50_p95(text),
                        f"{floor_ms:.0f} ({floor_how})",
                        p50_p95(peak),
                        p50_p95(repeated),
                        p50_p95(knn_ms),
                    ]
                )
            knn.extend(knn_rows(store, centres, rng, queries=20))
    return {"latency": latency_rows, "knn": knn}


def run(model: str, precision: Any, sizes: list[int]) -> Section:
    rows = search_rows(model, precision, sizes)
    body = "\n".join(
        [
            f"Model `{model}` ({precision}). The first 100 photos are real trek photos; the rest are synthetic "
            "unit vectors around them and around synthetic scenes (the 'synthetic' column), text-like query "
            "vectors (far from every photo). kNN k=60, num_candidates=2000. A new text query runs the text "
            "tower on its prompt ensemble (one batch), beside the least time this CPU's measured GEMM rate allows for that "
            "work; a new peak-name query reuses the catalog's stored text prototype (no text tower) and fuses two "
            "kNN lists over the candidate window through the real `Searcher`; a repeated one reuses the remembered "
            "vector.",
            "",
            table(
                [
                    "store",
                    "photos",
                    "synthetic",
                    "precision",
                    "new text query end to end p50/p95 ms",
                    "CPU floor of its text work, ms",
                    "new peak-name query (fusion) p50/p95 ms",
                    "repeated text query p50/p95 ms",
                    "kNN alone p50/p95 ms",
                ],
                rows["latency"],
            ),
            "",
            "Embedded kNN alone, recall@10 against exact float32 search under the same filter:",
            "",
            table(
                ["photos", "queries", "filter", "index / precision", "kNN p50 / p95 ms", "recall@10"],
                rows["knn"],
            ),
        ]
    )
    return Section("Query latency and kNN recall", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="random-base")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--knn-only", action="store_true", help="synthetic vectors only, no model (1 M photos)"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    section = knn_only(sizes) if args.knn_only else run(args.model, args.precision, sizes)
    print(f"## {section.title}\n\n{section.body}", flush=True)


if __name__ == "__main__":
    main()
