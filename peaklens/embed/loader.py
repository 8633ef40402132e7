"""Loading the embedder named in the settings, once per process, with one clear line when weights are missing."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from peaklens.config import Settings
from peaklens.embed.base import Embedder
from peaklens.errors import ModelNotAvailable

RANDOM_BASE = "random-base"
_cache: dict[tuple[str, str, str, int], Embedder] = {}
_lock = threading.Lock()


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or (os.sep in model and not _is_hub_id(model))


def _is_hub_id(model: str) -> bool:
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not Path(model).expanduser().exists()


def model_available(model: str) -> bool:
    """True when the model can be loaded without a network: a local folder, or a hub id in the HF cache."""
    if model == RANDOM_BASE:
        return True
    folder = Path(model).expanduser()
    if folder.is_dir():
        return (folder / "config.json").is_file()
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:
        return False


def _missing_message(model: str) -> str:
    return (
        f"Model '{model}' is not in the local Hugging Face cache and cannot be downloaded (no internet?). "
        f"On a machine with internet run `hf download {model}`, or set PEAKLENS_MODEL=/path/to/a/local/model/folder."
    )


def _load(settings: Settings) -> Embedder:
    from peaklens.embed.siglip import SiglipEmbedder

    model_name = settings.model
    kwargs = dict(device=settings.device, precision=settings.precision, batch_size=settings.batch_size)
    if model_name == RANDOM_BASE:
        from peaklens.embed.tiny import random_base_model

        return SiglipEmbedder.from_parts(*random_base_model(), RANDOM_BASE, **kwargs)
    folder = Path(model_name).expanduser()
    if _looks_like_path(model_name) or folder.exists():
        if not folder.is_dir():
            raise ModelNotAvailable(f"Model folder {folder} does not exist.")
        if not (folder / "config.json").is_file():
            raise ModelNotAvailable(f"Model folder {folder} has no config.json: it is not a saved model.")
        source, local_only = str(folder), True
    else:
        source, local_only = (
            model_name,
            model_available(model_name) or os.environ.get("HF_HUB_OFFLINE") == "1",
        )
    from transformers import AutoModel, AutoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    try:
        model = AutoModel.from_pretrained(source, local_files_only=local_only)
        processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)
    except (OSError, ValueError) as exc:
        if source == model_name and not folder.exists():
            raise ModelNotAvailable(_missing_message(model_name)) from None
        raise ModelNotAvailable(f"Model {source} could not be loaded: {str(exc).splitlines()[0]}") from None
    return SiglipEmbedder.from_parts(model, processor, model_name, **kwargs)


def load_embedder(settings: Settings) -> Embedder:
    """The embedder for these settings, built on first use and reused afterwards (UI reruns, tests)."""
    key = (settings.model, settings.device, settings.precision, settings.batch_size)
    with _lock:
        if key not in _cache:
            _cache[key] = _load(settings)
        return _cache[key]
