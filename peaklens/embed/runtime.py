"""Which runtime and precision a setting means on this machine, decided without importing torch on a CPU box.

``runtime: auto`` is ONNX Runtime on a CPU (fp32 or int8) and torch on a GPU (or for bf16, which ONNX Runtime's
CPU kernels do not speed up). ``precision: auto`` on a CPU is the stored measured decision for this model and
runtime (``precision.choose_precision``), fp32 until one exists.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from peaklens.errors import PeaklensError

if TYPE_CHECKING:
    from peaklens.config import Settings

ONNX_PRECISIONS = ("fp32", "int8")
#: files that exist where an NVIDIA driver is loaded; without them ``device: auto`` is the CPU, and torch
#: (1–2 s to import) need not be asked
_NVIDIA_SIGNS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/nvidia0")


def on_cpu(settings: Settings) -> bool:
    if settings.device == "cpu":
        return True
    if settings.device != "auto":
        return False
    if not any(Path(sign).exists() for sign in _NVIDIA_SIGNS):
        return True
    import torch

    return not torch.cuda.is_available()


def resolve_runtime(settings: Settings) -> str:
    """'onnx' or 'torch' for these settings; a combination that cannot run gets one clear line."""
    cpu = on_cpu(settings)
    explicit = settings.precision if settings.precision != "auto" else None
    if settings.runtime == "onnx":
        if not cpu:
            raise PeaklensError(
                "Runtime onnx runs on the CPU: on a GPU use --runtime torch (or auto), or --device cpu."
            )
        if explicit is not None and explicit not in ONNX_PRECISIONS:
            raise PeaklensError(
                f"Runtime onnx runs fp32 or int8, not {explicit}: use --runtime torch for it."
            )
        return "onnx"
    if settings.runtime == "torch":
        return "torch"
    onnx_fits = explicit is None or explicit in ONNX_PRECISIONS
    return "onnx" if cpu and onnx_fits and find_spec("onnxruntime") is not None else "torch"


def resolve(settings: Settings) -> tuple[str, str]:
    """(runtime, precision) to load; precision 'auto' stays 'auto' only on a GPU (torch picks fp16 there)."""
    from peaklens.embed.artifacts import read_decision

    runtime = resolve_runtime(settings)
    precision: str = settings.precision
    if precision == "auto" and on_cpu(settings):
        decision = read_decision(settings, runtime)
        precision = "fp32" if decision is None else str(decision["precision"])
    return runtime, precision
