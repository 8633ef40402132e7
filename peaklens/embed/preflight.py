"""The model and device settings checked before anything loads: a wrong ``--model`` folder or a ``--device
cuda`` on a machine without an NVIDIA GPU answers at once, in one line, instead of after seconds of loading
the store, torch and the weights. Only what costs nothing is checked here (file-system look-ups); what needs
the network or torch (a hub id that is not cached, a CPU-only torch build) is still answered by the loader."""

from __future__ import annotations

import re
from pathlib import Path

from peaklens.config import Settings
from peaklens.embed.loader import _is_hub_id
from peaklens.embed.runtime import _NVIDIA_SIGNS
from peaklens.errors import BadInput, ModelNotAvailable

_CUDA = re.compile(r"^cuda(?::(\d+))?$")
#: one folder per GPU the NVIDIA driver sees
_NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def check_model_settings(settings: Settings) -> None:
    """Raise one line when ``settings.device`` or ``settings.model`` cannot work on this machine."""
    check_device(settings.device)
    check_model(settings.model)


def check_device(device: str) -> None:
    """``cuda`` / ``cuda:N`` needs an NVIDIA driver (and an N-th GPU); ``auto`` and ``cpu`` always work."""
    match = _CUDA.match(device.strip().lower())
    if match is None:
        return
    if not any(Path(sign).exists() for sign in _NVIDIA_SIGNS):
        raise BadInput(
            f"--device {device}: this machine has no CUDA GPU (no NVIDIA driver is loaded); "
            "use --device cpu or auto."
        )
    if match.group(1) is not None and _NVIDIA_GPUS.is_dir():
        count = sum(1 for _ in _NVIDIA_GPUS.iterdir())
        if int(match.group(1)) >= count:
            raise BadInput(f"--device {device}: this machine has {count} CUDA GPU(s), numbered from cuda:0.")


def check_model(model: str) -> None:
    """A model given as a path must be a folder holding a saved model (config.json)."""
    if _is_hub_id(model):
        return
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise ModelNotAvailable(
            f"Model folder {folder} does not exist (--model takes a Hugging Face id or a local model folder)."
        )
    if not (folder / "config.json").is_file():
        raise ModelNotAvailable(f"Model folder {folder} has no config.json: it is not a saved model.")
