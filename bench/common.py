"""What every benchmark shares: the machine description, percentiles and markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout; PEAKLENS_SHARED_DIR points elsewhere (a GPU machine gets a carried copy).
SHARED = Path(os.environ.get("PEAKLENS_SHARED_DIR", REPO.parent / "shared"))
TREK = SHARED / "trek"


@dataclass
class Section:
    title: str
    body: str


def machine() -> str:
    import torch
    import transformers

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (
        f"{date.today().isoformat()} · {cpu} · {os.cpu_count()} cores · GPU: {gpu} · Python "
        f"{platform.python_version()} · torch {torch.__version__} · transformers {transformers.__version__} · "
        f"lancedb {_version('lancedb')}"
    )


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Wall times in milliseconds of ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p50_p95(times: Sequence[float]) -> str:
    return f"{statistics.median(times):.1f} / {percentile(times, 95):.1f}"
