"""What every benchmark shares: the machine description, percentiles and markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout; PEAKLENS_SHARED_DIR points elsewhere (a GPU machine gets a carried copy).
SHARED = Path(os.environ.get("PEAKLENS_SHARED_DIR", REPO.parent / "shared"))
TREK = SHARED / "trek"
#: ONNX exports and precision decisions survive between bench runs here (an export of the full-size model
#: takes minutes); every bench store is still fresh
EXPORTS = Path(os.environ.get("PEAKLENS_BENCH_EXPORTS", Path(tempfile.gettempdir()) / "peaklens-bench-onnx"))


def data_dir_sharing_exports(data_dir: Path) -> Path:
    """A new data dir whose ``onnx`` folder is the benchmarks' shared ``EXPORTS``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    EXPORTS.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "onnx").exists():
        (data_dir / "onnx").symlink_to(EXPORTS, target_is_directory=True)
    return data_dir


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
        f"{date.today().isoformat()} · {cpu} ({cpu_flags()}) · {os.cpu_count()} cores · GPU: {gpu} · Python "
        f"{platform.python_version()} · torch {torch.__version__} · transformers {transformers.__version__} · "
        f"onnxruntime {_version('onnxruntime')} · lancedb {_version('lancedb')}"
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


def cpu_flags() -> str:
    """The CPU's SIMD features that decide fp32/int8/bf16 speed, as lscpu reports them (never assumed)."""
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return " ".join(flag for flag in wanted if flag in have) or "none of " + " ".join(wanted)
    except OSError:
        pass
    return "unknown"


def fp32_gemm_gflops(size: int = 1024, repeat: int = 5) -> float:
    """This CPU's float32 matrix-multiply rate (numpy/BLAS, all cores): 2·n³ FLOP per product, the best of
    at least ``repeat`` products and half a second of them."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b
    return 2 * size**3 / _best_seconds(lambda: a @ b, repeat) / 1e9


def int8_gemm_gops(size: int = 1024, repeat: int = 5) -> float:
    """This CPU's int8 matrix-multiply rate as ONNX Runtime's dynamic int8 uses it (MatMulInteger, uint8
    activations × int8 weights, int32 sums): 2·n³ operations per product, the best of at least ``repeat``
    products and half a second of them (one product takes ~1 ms: a few alone caught a busy moment and read
    half the rate)."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["c"])],
        "gemm",
        [
            helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size]),
            helper.make_tensor_value_info("b", TensorProto.INT8, [size, size]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.INT32, [size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {
        "a": rng.integers(0, 256, (size, size), dtype=np.uint8),
        "b": rng.integers(-64, 64, (size, size), dtype=np.int8),
    }
    session.run(None, feeds)
    return 2 * size**3 / _best_seconds(lambda: session.run(None, feeds), repeat) / 1e9


def _best_seconds(fn: Callable[[], object], repeat: int, least: float = 0.5) -> float:
    times = [_seconds(fn)]
    started = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - started < least:
        times.append(_seconds(fn))
    return min(times)


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
