"""What a user waits for at the shell: wall time of `peaklens …` commands beside the in-process query time.

A CLI search is a new process each time, so start-up (imports, opening the store, loading the model) is most
of what the user waits for; the query itself is a fraction of a second. This measures both, per runtime
(torch, ONNX Runtime), with the tiny random model unless ``--model`` names another, and splits the imports of
one search with ``python -X importtime``.

    .venv/bin/python -m bench.cli_startup [--model DIR] [--repeat 3] [--photos 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import TREK, Section, table

PEAKLENS = Path(sys.executable).with_name("peaklens")
HEAVY = ("torch", "transformers", "lancedb", "onnxruntime", "tokenizers", "pyarrow", "PIL", "numpy")
QUERY = "snowy mountain"


def _env(model: str, data_dir: Path, runtime: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
    config = data_dir.parent / "empty.yaml"
    config.write_text("{}\n")
    return {
        **clean,
        "PEAKLENS_MODEL": model,
        "PEAKLENS_DATA_DIR": str(data_dir),
        "PEAKLENS_CONFIG": str(config),
        "PEAKLENS_RUNTIME": runtime,
    }


def _wall(env: dict[str, str], args: list[str], repeat: int) -> tuple[float, int]:
    """Median wall seconds of ``peaklens ARGS`` and its exit code."""
    times, code = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([str(PEAKLENS), *args], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        code = done.returncode
    return statistics.median(times), code


def _imports(env: dict[str, str], args: list[str]) -> dict[str, float]:
    """Cumulative import seconds of the heavy top-level packages in one run."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "peaklens", *args], env=env, capture_output=True, text=True
    )
    seconds: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if name in HEAVY and cumulative.isdigit():
            seconds[name] = max(seconds.get(name, 0.0), int(cumulative) / 1e6)
    return seconds


def _in_process(model: str, data_dir: Path, runtime: str, repeat: int) -> tuple[float, float]:
    """(load seconds: store + model, median seconds of one text search once loaded) in this process."""
    from peaklens.config import Settings
    from peaklens.embed.loader import load_embedder
    from peaklens.search import Searcher
    from peaklens.store.factory import open_store

    settings = Settings.model_validate({"model": model, "data_dir": data_dir, "runtime": runtime})
    started = time.perf_counter()
    searcher = Searcher(settings, open_store(settings), load_embedder(settings))
    loaded = time.perf_counter() - started
    times = []
    for attempt in range(repeat + 1):
        fresh = Searcher(
            settings, searcher.store, searcher.embedder, catalog=searcher.catalog
        )  # nothing remembered
        started = time.perf_counter()
        fresh.text(QUERY, k=5)
        if attempt:  # the first query warms caches
            times.append(time.perf_counter() - started)
    return loaded, statistics.median(times)


def run(model: str | None = None, repeat: int = 3, photos: int = 20, runtimes: str = "torch,onnx") -> Section:
    """The start-up table as a section of docs/BENCHMARKS.md."""
    work = Path(tempfile.mkdtemp(prefix="peaklens-cli-startup-"))
    try:
        if model is None:
            from peaklens.embed.tiny import build_tiny_model

            model = str(build_tiny_model(work / "tiny-siglip", kind="siglip"))
        album = work / "album"
        album.mkdir()
        files = sorted((TREK / "jpeg").glob("*.jpg"))[:photos]
        for photo in files:
            shutil.copy2(photo, album / photo.name)
        rows: list[list[object]] = []
        for runtime in runtimes.split(","):
            env = _env(model, work / f"store-{runtime}", runtime)
            indexed = subprocess.run(
                [str(PEAKLENS), "index", str(album), "--no-progress"], env=env, capture_output=True, text=True
            )
            if indexed.returncode != 0:
                rows.append([runtime, "index failed: " + indexed.stderr.strip()[-200:], "", ""])
                continue
            commands = {
                "--help": ["--help"],
                "config": ["config"],
                "search, bad --bbox": ["search", "x", "--bbox", "1,2,3"],
                "search, unknown --peak": ["search", "x", "--peak", "K2"],
                f"search '{QUERY}'": ["search", QUERY, "--k", "5"],
                "search 'Ama Dablam' (peak prototype)": ["search", "Ama Dablam", "--k", "5"],
                "identify PHOTO": ["identify", str(album / files[0].name)],
            }
            for label, command in commands.items():
                seconds, code = _wall(env, command, repeat)
                rows.append([runtime, label, f"{seconds:.2f}", code])
            loaded, query = _in_process(model, work / f"store-{runtime}", runtime, repeat)
            rows.append([runtime, "in-process: open store + load model", f"{loaded:.2f}", ""])
            rows.append([runtime, f"in-process: search '{QUERY}' once loaded", f"{query:.3f}", ""])
            imports = _imports(env, ["search", QUERY, "--k", "5"])
            split = ", ".join(f"{name} {s:.2f}" for name, s in sorted(imports.items(), key=lambda kv: -kv[1]))
            rows.append([runtime, f"imports of one search (s): {split}", "", ""])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = (
        f"Model: {'the tiny random SigLIP' if model and 'tiny' in model else model} (start-up cost is imports, "
        f"store and model loading; the query itself is the in-process row). Median of {repeat} runs, wall "
        "seconds from the shell, exit code beside.\n\n"
        + table(["runtime", "command", "seconds", "exit"], rows)
    )
    return Section("CLI start-up", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder or id (default: a tiny random SigLIP)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--runtimes", default="torch,onnx")
    args = parser.parse_args()
    section = run(args.model, args.repeat, args.photos, args.runtimes)
    print(section.body)


if __name__ == "__main__":
    main()
