"""Loading the embedder named in the settings, once per process, with one clear line when weights are missing.

A hub id that is not in the local Hugging Face cache is probed with ONE short request before transformers is
asked to download it: transformers/huggingface_hub retry a dead network with back-off for ~25 s, which reads as
a hang to someone who simply has no internet.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from peaklens.config import Settings
from peaklens.embed.artifacts import ExportFailed, export_dir, read_manifest
from peaklens.embed.base import Embedder
from peaklens.embed.runtime import ONNX_PRECISIONS, resolve
from peaklens.errors import ModelNotAvailable

log = logging.getLogger(__name__)

#: seconds the one reachability probe of the hub may take
PROBE_TIMEOUT_S = 5.0

_cache: dict[tuple[str, str, str, str, str, int, str], Embedder] = {}
_lock = threading.Lock()


def _is_hub_id(model: str) -> bool:
    """``owner/name`` (or a bare ``name``) that is not an existing path and does not look like one."""
    if model.startswith((".", "/", "~")) or "\\" in model or Path(model).expanduser().exists():
        return False
    parts = model.split("/")
    return len(parts) <= 2 and all(parts)


def _in_hub_cache(model: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:  # a malformed id is simply "not cached"
        return False


def model_available(model: str) -> bool:
    """True when the model loads without a network: a local folder, or a hub id in the HF cache."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        return (folder / "config.json").is_file()
    return _is_hub_id(model) and _in_hub_cache(model)


def _missing_message(model: str) -> str:
    return (
        f"Model '{model}' is not in the local Hugging Face cache and cannot be downloaded (no internet?). "
        f"On a machine with internet run `hf download {model}`, or set PEAKLENS_MODEL=/path/to/a/local/model/folder."
    )


def _hub_status(model: str) -> int | None:
    """HTTP status of ONE HEAD request for the model's config.json (no retries), or None when the hub cannot
    be reached. Runs in a daemon thread so that even a DNS lookup that hangs (not covered by the request
    timeout) costs at most PROBE_TIMEOUT_S + 1 s."""
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session

    if constants.HF_HUB_OFFLINE:
        return None
    url = f"{constants.ENDPOINT}/{model}/resolve/main/config.json"
    result: list[int] = []

    def probe() -> None:
        with contextlib.suppress(Exception):  # DNS failure, refused, timeout, proxy error ...
            response = get_session().head(
                url, headers=build_hf_headers(), timeout=PROBE_TIMEOUT_S, follow_redirects=False
            )
            result.append(response.status_code)

    worker = threading.Thread(target=probe, name="peaklens-hub-probe", daemon=True)
    worker.start()
    worker.join(PROBE_TIMEOUT_S + 1)
    return result[0] if result else None


def _probe_hub(model: str) -> None:
    """Raise ModelNotAvailable (one line) unless the hub can serve ``model`` now."""
    status = _hub_status(model)
    if status is None:
        raise ModelNotAvailable(_missing_message(model))
    if status in (401, 403):
        raise ModelNotAvailable(
            f"Model '{model}' is gated or private on the Hugging Face hub: log in with `hf auth login` "
            f"(and accept its licence), or set PEAKLENS_MODEL=/path/to/a/local/model/folder."
        )
    if status == 404:
        raise ModelNotAvailable(
            f"Model '{model}' does not exist on the Hugging Face hub (typo?); "
            f"set PEAKLENS_MODEL to a hub id or a local model folder."
        )


def _source(model: str) -> tuple[str, bool]:
    """(what to hand to from_pretrained, local_files_only), or ModelNotAvailable with one line."""
    folder = Path(model).expanduser()
    if not _is_hub_id(model):
        if not folder.is_dir():
            raise ModelNotAvailable(f"Model folder {folder} does not exist.")
        if not (folder / "config.json").is_file():
            raise ModelNotAvailable(f"Model folder {folder} has no config.json: it is not a saved model.")
        return str(folder), True
    if _in_hub_cache(model):
        return model, True
    _probe_hub(model)
    return model, False


def torch_parts(settings: Settings) -> tuple[Any, Any]:
    """(transformers model, processor) of ``settings.model``, or ModelNotAvailable with one line."""
    source, local_only = _source(settings.model)

    from transformers import AutoModel, AutoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(source, local_files_only=local_only)
        processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)
    except Exception as exc:  # corrupt or foreign files raise anything from OSError to SafetensorError
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelNotAvailable(f"Model {source} could not be loaded: {first}") from None
    return model, processor


def _torch_embedder(settings: Settings, precision: str) -> Embedder:
    from peaklens.embed.siglip import SiglipEmbedder

    model, processor = torch_parts(settings)
    return SiglipEmbedder(
        model,
        processor,
        settings.model,
        device=settings.device,
        precision=precision,
        batch_size=settings.batch_size,
    )


def build_embedder(settings: Settings, runtime: str, precision: str) -> Embedder:
    """A new (uncached) embedder of ``settings.model`` on ``runtime`` in ``precision``."""
    if runtime == "torch":
        return _torch_embedder(settings, precision)
    try:
        return onnx_embedder(settings, precision)
    except ExportFailed as exc:
        if settings.runtime == "onnx":
            raise ModelNotAvailable(f"--runtime onnx: {exc}") from None
        log.warning("ONNX Runtime cannot carry this model (%s): using torch.", exc)
        return _torch_embedder(settings, precision)


def onnx_embedder(settings: Settings, precision: str) -> Embedder:
    """The ONNX Runtime embedder in ``precision`` (fp32 or int8), exported on first use; when the export
    exists this imports neither torch nor transformers."""
    from peaklens.embed.onnx import OnnxEmbedder

    folder = ensure_export(settings, precision)
    return OnnxEmbedder(folder, settings.model, batch_size=settings.batch_size)


def ensure_export(settings: Settings, precision: str) -> Path:
    """The export folder of ``settings.model`` in ``precision``, written first when missing."""
    if precision not in ONNX_PRECISIONS:
        raise ExportFailed(f"precision {precision} has no ONNX export (use fp32 or int8)")
    folder = export_dir(settings, precision)
    if folder is not None and read_manifest(folder) is not None:
        return folder
    from peaklens.embed import onnx_export

    if precision == "int8":
        return onnx_export.quantise_int8(
            ensure_export(settings, "fp32"), _known(export_dir(settings, "int8"))
        )
    model, processor = torch_parts(settings)  # a hub id may be downloaded here: its folder is known after
    return onnx_export.export_fp32(model, processor, settings.model, _known(export_dir(settings, "fp32")))


def _known(folder: Path | None) -> Path:
    if folder is None:
        raise ExportFailed("the model's files are not on disk")
    return folder


def load_embedder(settings: Settings) -> Embedder:
    """The embedder for these settings, built on first use and reused afterwards (UI reruns, CLI, tests).

    On a CPU the runtime is ONNX Runtime (``runtime: auto``) and ``precision: auto`` is the stored measured
    decision (``precision.choose_precision``), fp32 until one exists; on a GPU torch in fp16.
    """
    runtime, precision = resolve(settings)
    # the asked-for runtime too: 'auto' may have fallen back to torch where an explicit 'onnx' must refuse
    key = (
        settings.model,
        settings.device,
        settings.runtime,
        runtime,
        precision,
        settings.batch_size,
        str(settings.data_dir),
    )
    with _lock:
        if key not in _cache:
            _cache[key] = build_embedder(settings, runtime, precision)
        return _cache[key]
