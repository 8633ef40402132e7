"""Indexing throughput: peaklens against a faithful baseline of the seed's straightforward loop.

Baseline, one photo at a time: full-size decode (EXIF-upright RGB), embed it alone (torch fp32, the seed's
model code), one kNN query to the store for its predicted peaks, keep the document; one bulk write at the end.
peaklens: ``index_album`` (draft-mode / HEIC-thumbnail decode on threads, batched embedding, one matrix product
per batch for peaks, bulk per batch) at the DEFAULT settings (runtime auto, precision auto: ONNX Runtime on a
CPU, int8 when the measured precision gate passes) and pinned to torch fp32, torch int8 and ONNX Runtime int8.

Same photos (the 25 full-size HEICs, the same HEICs as full-size JPEGs and the 1024 px trek JPEGs, replicated to
``--photos`` files), same model weights, same store kind, same machine, one run. Model loading, ONNX export
and the precision measurement happen before the clock starts (they are one-time costs, printed separately).
This CPU's own fp32 and int8 matrix-multiply rates are measured in the same run; each row's vision-tower rate
is given as a share of them.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from bench.common import (
    TREK,
    Section,
    cpu_flags,
    data_dir_sharing_exports,
    fp32_gemm_gflops,
    int8_gemm_gops,
    machine,
    table,
)
from bench.random_model import model_source
from peaklens.catalog import load_catalog
from peaklens.catalog_sync import build_catalog
from peaklens.config import Settings
from peaklens.embed.loader import load_embedder
from peaklens.embed.precision import choose_precision
from peaklens.embed.prompts import PEAK_PROMPTS, prompts_for
from peaklens.embed.runtime import resolve
from peaklens.exif import read_meta
from peaklens.imaging import open_photo
from peaklens.index import index_album
from peaklens.records import PhotoDoc
from peaklens.scan import photo_id, scan_album
from peaklens.store.factory import open_store

# FLOPs of one image through the base SigLIP vision tower at 224 px (196 patches, 12 layers, 768 wide).
IMAGE_GFLOP = 35.4


@dataclass(frozen=True)
class Variant:
    name: str
    runtime: str  # auto | torch | onnx
    precision: str  # auto | fp32 | int8
    batch_size: int


def prepare_album(root: Path, count: int) -> dict[str, int]:
    """Replicate real photos into ``root``: a third HEIC, a third full-size JPEG, a third 1024 px JPEG."""
    heics = sorted((TREK / "heic").glob("*.HEIC"))
    jpegs = sorted((TREK / "jpeg").glob("*.jpg"))
    full_jpeg_dir = root.parent / "fulljpeg"
    full_jpeg_dir.mkdir(exist_ok=True)
    full_jpegs = []
    import pillow_heif

    pillow_heif.register_heif_opener()
    per_kind = max(1, count // 3)
    for heic in heics[: min(len(heics), per_kind)]:
        target = full_jpeg_dir / (heic.stem + ".jpg")
        if not target.exists():
            with Image.open(heic) as img:
                exif = img.getexif()
                ImageOps.exif_transpose(img).convert("RGB").save(target, quality=92, exif=exif.tobytes())
        full_jpegs.append(target)
    kinds = {"heic": heics, "jpeg-full": full_jpegs, "jpeg-1024": jpegs}
    made = {}
    for kind, sources in kinds.items():
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_kind):
            src = sources[i % len(sources)]
            shutil.copy2(src, folder / f"r{i // len(sources)}_{src.name}")
        made[kind] = per_kind
    return made


def baseline(album: Path, settings: Settings) -> dict[str, float]:
    """The seed's loop; returns seconds per stage and photos/s."""
    embedder = load_embedder(settings)
    store = open_store(settings)
    files = scan_album(album)
    times = {"decode": 0.0, "model": 0.0, "store": 0.0}
    docs = []
    started = time.perf_counter()
    for album_file in files:
        t0 = time.perf_counter()
        with Image.open(album_file.abs_path) as raw:
            meta = read_meta(raw)
            image = ImageOps.exif_transpose(raw).convert("RGB")
        t1 = time.perf_counter()
        vector = embedder.embed_images([image])[0]
        t2 = time.perf_counter()
        peaks = store.knn_peaks(vector, settings.top_k_peaks, 500)
        t3 = time.perf_counter()
        times["decode"] += t1 - t0
        times["model"] += t2 - t1
        times["store"] += t3 - t2
        docs.append(
            PhotoDoc(
                id=photo_id(album_file.rel_path),
                path=album_file.rel_path,
                vector=vector,
                predicted_peaks=[p.name for p in peaks],
                peak_scores=[p.score for p in peaks],
                gps=meta.gps,
                shot_time=meta.shot_time,
                file_size=album_file.size,
                file_mtime=album_file.mtime,
            )
        )
    t4 = time.perf_counter()
    store.upsert_photos(docs)
    store.refresh()
    times["store"] += time.perf_counter() - t4
    total = time.perf_counter() - started
    return {**times, "total": total, "rate": len(files) / total, "photos": len(files)}


def peaklens_run(album: Path, settings: Settings) -> dict[str, float]:
    embedder = load_embedder(settings)
    store = open_store(settings)
    report = index_album(album, settings, embedder, store)
    return {
        "decode": report.decode_wait_seconds,
        "model": report.embed_seconds,
        "store": report.write_seconds,
        "total": report.seconds,
        "rate": report.embedded / report.seconds,
        "photos": report.embedded,
        "failed": len(report.failed),
    }


def bench_settings(model: str, variant: Variant, data_dir: Path) -> Settings:
    """A fresh store for the row, with the ONNX exports and decisions shared through ``EXPORTS``."""
    return Settings(
        model=model_source(model),
        store="embedded",
        device="cpu",
        decode_workers=2,
        runtime=variant.runtime,  # type: ignore[arg-type]
        precision=variant.precision,  # type: ignore[arg-type]
        batch_size=variant.batch_size,
        data_dir=data_dir_sharing_exports(data_dir),
    )


def prepare_model(
    settings: Settings, sample: list[Image.Image], prompts: dict[str, list[str]]
) -> tuple[str, str, float]:
    """Everything that happens once per model (export, precision decision, catalog): off the clock."""
    started = time.perf_counter()
    if settings.precision == "auto":
        choose_precision(settings, sample, prompts)
    runtime, precision = resolve(settings)
    build_catalog(
        open_store(settings),
        load_embedder(settings),
        settings,
        peaks_file=None,
        refs_dir=None,
        say=lambda _: None,
    )
    return runtime, precision, time.perf_counter() - started


def run(photos: int, model: str, precision: str = "auto", batch_size: int = 16) -> Section:
    """``precision`` is kept for run_all's call; the rows cover the precisions themselves."""
    del precision
    variants = [
        Variant("baseline loop (seed)", "torch", "fp32", 1),
        Variant("peaklens index, default settings", "auto", "auto", batch_size),
        Variant("peaklens index", "torch", "fp32", batch_size),
        Variant("peaklens index", "torch", "int8", batch_size),
        Variant("peaklens index", "onnx", "int8", batch_size),
    ]
    fp32_rate, int8_rate = fp32_gemm_gflops(), int8_gemm_gops()
    peaks, _ = load_catalog()
    prompts = {peak.id: prompts_for(peak.names, PEAK_PROMPTS) for peak in peaks}
    sample = [open_photo(path, target=448).image for path in sorted((TREK / "jpeg").glob("*.jpg"))[:32]]
    rows, results, setup = [], [], []
    with tempfile.TemporaryDirectory(prefix="peaklens-bench-") as tmp:
        root = Path(tmp)
        album = root / "album"
        made = prepare_album(album, photos)
        for number, variant in enumerate(variants):
            settings = bench_settings(model, variant, root / f"data{number}")
            runtime, chosen, seconds = prepare_model(settings, sample, prompts)
            setup.append(f"{variant.name} ({runtime} {chosen}): {seconds:.0f} s")
            result = (baseline if number == 0 else peaklens_run)(album, settings)
            results.append(result)
            n = result["photos"]
            vision_rate = IMAGE_GFLOP * n / result["model"]
            peak = int8_rate if chosen == "int8" else fp32_rate
            rows.append(
                [
                    variant.name,
                    runtime,
                    chosen,
                    variant.batch_size,
                    int(n),
                    f"{result['rate']:.2f}",
                    f"{result['rate'] / results[0]['rate']:.2f}×",
                    f"{1000 * result['decode'] / n:.0f}",
                    f"{1000 * result['model'] / n:.0f}",
                    f"{1000 * result['store'] / n:.1f}",
                    f"{result['total']:.1f}",
                    f"{vision_rate:.0f} ({vision_rate / peak:.0%} of {'int8' if chosen == 'int8' else 'fp32'} GEMM)",
                ]
            )
    default_ratio = results[1]["rate"] / results[0]["rate"]
    body = "\n".join(
        [
            f"Photos: {made} (real trek photos replicated; HEIC = 3024x4032 iPhone files, jpeg-full = the same "
            f"HEICs re-encoded as full-size JPEG, jpeg-1024 = the downscaled trek JPEGs). Model: `{model}`"
            + (
                " (random weights of the full-size default config: the real model's cost, meaningless vectors; "
                "its int8/fp32 agreement is that of random weights)"
                if model == "random-base"
                else ""
            )
            + ". Store: embedded (LanceDB). Decode for peaklens is the time the model waited for decoded photos "
            "(decoding runs on 2 threads alongside the model). CPU flags: "
            f"{cpu_flags()}. This CPU's matrix-multiply rates, measured in this run: fp32 {fp32_rate:.0f} GFLOP/s "
            f"(numpy), int8 {int8_rate:.0f} GOP/s (ONNX Runtime MatMulInteger u8×s8).",
            "",
            table(
                [
                    "pipeline",
                    "runtime",
                    "precision",
                    "batch",
                    "photos",
                    "photos/s",
                    "vs seed",
                    "decode ms/photo",
                    "model ms/photo",
                    "store ms/photo",
                    "total s",
                    "vision GFLOP/s (share of GEMM rate)",
                ],
                rows,
            ),
            "",
            f"**peaklens at default settings / seed's loop = {default_ratio:.2f}×** (same run). The image tower "
            f"is {IMAGE_GFLOP} GFLOP/photo; int8 rows are compared with the int8 GEMM rate, fp32 rows with the "
            "fp32 one. One-time set-up before the clock (model load, ONNX export and quantisation on first use, "
            f"precision measurement, catalog): {'; '.join(setup)}.",
        ]
    )
    return Section("Indexing throughput", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--model", default="random-base")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    print(machine())
    section = run(args.photos, args.model, batch_size=args.batch_size)
    print(f"## {section.title}\n\n{section.body}")


if __name__ == "__main__":
    main()
