"""Run every benchmark and write docs/BENCHMARKS.md: `python -m bench.run_all` (see README)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench import cli_startup, dem_speed, index_speed, model_cost, registration_speed, search_speed, ui_speed
from bench.common import REPO, Section, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--model", default="random-base", help="random-base (real cost, random weights) or a folder"
    )
    parser.add_argument("--photos", type=int, default=150, help="photos for the indexing comparison")
    parser.add_argument("--sizes", default="1000,10000,100000", help="store sizes for latency and recall")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-1m", action="store_true", help="leave out the 1 M-photo kNN table (~20 min)")
    args = parser.parse_args()
    if args.quick:
        args.photos, args.sizes = 30, "1000,12000"
    started = time.perf_counter()
    sections = []
    cost, best = model_cost.run(
        args.model,
        ["torch:fp32", "torch:bf16", "torch:int8", "onnx:fp32", "onnx:int8"],
        16 if args.quick else 32,
        16,
    )
    sections.append(cost)
    print(f"## {cost.title}\n\n{cost.body}\n", flush=True)
    runs: list[Callable[[], Section]] = [
        lambda: index_speed.run(args.photos, args.model, best, 16),
        lambda: search_speed.run(args.model, best, [int(s) for s in args.sizes.split(",")]),
        dem_speed.run,
        registration_speed.run,
        cli_startup.run,
        ui_speed.run,
    ]
    if not (args.quick or args.skip_1m):
        runs.append(lambda: search_speed.knn_only([1_000_000]))
    for make in runs:
        try:
            section = make()
        except Exception as exc:  # one broken benchmark must not lose the others' numbers
            section = Section("A benchmark failed", f"{type(exc).__name__}: {exc}")
        sections.append(section)
        print(f"## {section.title}\n\n{section.body}\n", flush=True)
    text = "\n\n".join(
        [
            "# Benchmarks",
            f"Produced by `.venv/bin/python -m bench.run_all` in {time.perf_counter() - started:.0f} s on: "
            f"{machine()}. Every speed ratio below was measured side by side in this one run. "
            "This machine has no GPU, so the GPU path (cuda, fp16, large batches) is not in these tables; the "
            "same command measures it on a CUDA machine, and [BENCHMARKS-GPU.md](BENCHMARKS-GPU.md) holds the "
            "model cost measured on an H100 with `python -m bench.model_cost --precisions fp32,fp16,bf16 "
            "--photos 1024 --batch-size 128`.",
            *[f"## {s.title}\n\n{s.body}" for s in sections],
        ]
    )
    (REPO / "docs" / "BENCHMARKS.md").write_text(text + "\n", encoding="utf-8")
    print("wrote docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
