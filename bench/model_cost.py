"""Model cost per runtime and precision: image tower photos/s, text query latency, and agreement with fp32.

Uses ``random-base``: random weights of the full-size default config (google/siglip2-base-patch16-224 is a
SiglipModel, ~375 M parameters), which costs exactly what the real model costs. Agreement (cosine between a
variant's vectors and fp32's on the same real photos and texts) is measured on these random weights; real
weights may agree differently, so re-run with ``--model /path/to/real`` where they exist.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import TREK, Section, data_dir_sharing_exports, machine, p50_p95, table, timed
from bench.random_model import model_source
from peaklens.config import Settings
from peaklens.embed.loader import load_embedder
from peaklens.embed.prompts import PEAK_PROMPTS, prompts_for
from peaklens.imaging import open_photo

IMAGE_GFLOP = 35.4  # one 224 px image through the base vision tower
TEXT_GFLOP = 11.0  # one 64-token text through the base text tower (~86 M non-embedding parameters)
TEXTS = ["ama dablam", "prayer flags", "a person in a blue jacket on a bench", "yaks on a trail", "everest"]


def photos(count: int) -> list:
    """``count`` decoded trek photos; the 100 real ones are reused in turn past 100 (big GPU batches)."""
    files = sorted((TREK / "jpeg").glob("*.jpg"))
    decoded = [open_photo(path, target=448).image for path in files[:count]]
    return [decoded[i % len(decoded)] for i in range(count)]


def _variant(name: str) -> tuple[str, str]:
    """'onnx:int8' → ('onnx', 'int8'); a bare precision runs on the runtime the settings pick for it."""
    runtime, _, precision = name.rpartition(":")
    return runtime or "auto", precision


def measure(model: str, variant: str, images: list, batch_size: int) -> dict:
    runtime, precision = _variant(variant)
    settings = Settings(
        model=model_source(model),
        precision=precision,  # type: ignore[arg-type]
        runtime=runtime,  # type: ignore[arg-type]
        batch_size=batch_size,
        data_dir=data_dir_sharing_exports(Path(tempfile.gettempdir()) / "peaklens-bench-model-cost"),
    )
    embedder = load_embedder(settings)
    embedder.embed_images(images[:batch_size])  # warm-up
    started = time.perf_counter()
    image_vectors = embedder.embed_images(images)
    image_seconds = time.perf_counter() - started
    one_text = timed(lambda: embedder.embed_texts(["ama dablam"]), repeat=10)
    ensemble = timed(lambda: embedder.embed_texts(prompts_for(["ama dablam"], PEAK_PROMPTS)), repeat=10)
    return {
        "rate": len(images) / image_seconds,
        "one_text": one_text,
        "ensemble": ensemble,
        "image_vectors": image_vectors,
        "text_vectors": embedder.embed_texts(TEXTS),
    }


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    cos = np.sum(a * b, axis=1)
    return float(cos.mean()), float(cos.min())


def run(model: str, precisions: list[str], count: int, batch_size: int) -> tuple[Section, str]:
    """``precisions`` are 'precision' or 'runtime:precision' (torch:int8, onnx:int8 ...); the reference is the
    first fp32 one. Returns the section and the fastest precision that agrees (without its runtime)."""
    images = photos(count)
    results = {p: measure(model, p, images, batch_size) for p in precisions}
    reference_name = next(p for p in precisions if _variant(p)[1] == "fp32")
    reference = results[reference_name]
    rows = []
    best = reference_name
    for precision, result in results.items():
        img_mean, img_min = agreement(result["image_vectors"], reference["image_vectors"])
        txt_mean, txt_min = agreement(result["text_vectors"], reference["text_vectors"])
        speedup = result["rate"] / reference["rate"]
        text_speedup = np.median(reference["ensemble"]) / np.median(result["ensemble"])
        rows.append(
            [
                precision,
                f"{result['rate']:.2f}",
                f"{speedup:.2f}×",
                p50_p95(result["one_text"]),
                p50_p95(result["ensemble"]),
                f"{text_speedup:.2f}×",
                f"{img_mean:.4f} / {img_min:.4f}",
                f"{txt_mean:.4f} / {txt_min:.4f}",
            ]
        )
        if min(img_min, txt_min) >= 0.99 and result["rate"] > results[best]["rate"]:
            best = precision
    fp32_rate = reference["rate"]
    body = "\n".join(
        [
            f"Model `{model}`"
            + (
                " (random weights of the full-size default config: real cost, meaningless vectors)"
                if model == "random-base"
                else ""
            )
            + f"; {count} real trek photos, batch {batch_size}; torch threads {torch.get_num_threads()}.",
            "",
            table(
                [
                    "precision",
                    "image photos/s",
                    "image speed-up",
                    "1 text p50/p95 ms",
                    "3-prompt ensemble p50/p95 ms",
                    "text speed-up",
                    "image cos vs fp32 mean / min",
                    "text cos vs fp32 mean / min",
                ],
                rows,
            ),
            "",
            f"FLOP-bound limits: the image tower needs {IMAGE_GFLOP} GFLOP/photo, the text tower ~{TEXT_GFLOP} "
            f"GFLOP/text. fp32 measured {fp32_rate * IMAGE_GFLOP:.0f} GFLOP/s on images "
            f"({fp32_rate:.2f} photos/s); at that rate one text costs ≥ {TEXT_GFLOP / (fp32_rate * IMAGE_GFLOP) * 1000:.0f} ms.",
            f"Fastest variant with agreement ≥ 0.99 on both towers: **{best}** (select with "
            f"`--precision {_variant(best)[1]}`"
            + (f" `--runtime {_variant(best)[0]}`" if ":" in best else "")
            + "; by default peaklens measures this per model on the user's own photos, see docs/PRECISION.md).",
        ]
    )
    return Section("Model cost by precision", body), _variant(best)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="random-base")
    parser.add_argument("--precisions", default="torch:fp32,torch:bf16,torch:int8,onnx:fp32,onnx:int8")
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, help="also write the section (with the machine) to this file")
    args = parser.parse_args()
    print(machine())
    section, _best = run(args.model, args.precisions.split(","), args.photos, args.batch_size)
    text = f"## {section.title}\n\nMachine: {machine()}.\n\n{section.body}\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
