"""Where ONNX exports and precision decisions live in the data dir, and what they are keyed by.

An export is made once per (model id, weights, precision, opset, export format) and reused by every later
process; a changed checkpoint (new hub revision, re-saved local folder) gets a new key, so a stale export is
never loaded. The weights are identified without reading them (1.5 GB would cost seconds at every start):
a hub snapshot by its commit and blob names (blobs are named by their sha256), a local folder by the names,
sizes and modification times of its files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peaklens.errors import PeaklensError

if TYPE_CHECKING:
    from peaklens.config import Settings

#: ONNX opset of the exports (ONNX Runtime 1.17+ runs it)
OPSET = 18
#: bump when what export writes changes, so older exports are not reused
EXPORT_FORMAT = 2  # 2: int8 vision tower fused (SkipLayerNormalization, FastGelu), patch Conv in fp32
MANIFEST = "manifest.json"


class ExportFailed(PeaklensError):
    """The checkpoint could not be carried to ONNX (``runtime: auto`` falls back to torch with one line)."""


def model_folder(model: str) -> Path | None:
    """The folder holding the checkpoint's files: a local folder, or the hub cache's snapshot; None for a hub
    id not in the cache."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder
    from huggingface_hub import try_to_load_from_cache

    try:
        config = try_to_load_from_cache(model, "config.json")
    except Exception:  # a malformed id is simply "not cached"
        return None
    return Path(config).parent if isinstance(config, str) else None


def weights_fingerprint(model: str) -> str | None:
    """12 hex digits that change whenever the checkpoint's files change; None when it is not on disk."""
    folder = model_folder(model)
    if folder is None:
        return None
    digest = hashlib.sha1()
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        stat = path.stat()  # follows the hub cache's symlinks to blobs named by content hash
        digest.update(f"{path.name}\0{path.resolve().name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "-", model.strip("/~.")).strip("-")[-60:] or "model"


def model_key(model: str) -> str | None:
    """``<model slug>-<weights fingerprint>``; None when the weights are not on disk."""
    fingerprint = weights_fingerprint(model)
    return None if fingerprint is None else f"{_slug(model)}-{fingerprint}"


def onnx_root(settings: Settings) -> Path:
    return Path(settings.data_dir).expanduser() / "onnx"


def export_dir(settings: Settings, precision: str) -> Path | None:
    """The export folder of this model in ``precision`` (it may not exist yet); None when the weights are
    not on disk."""
    key = model_key(settings.model)
    if key is None:
        return None
    return onnx_root(settings) / f"{key}-{precision}-opset{OPSET}-f{EXPORT_FORMAT}"


def decision_file(settings: Settings, runtime: str) -> Path | None:
    """Where the CPU precision decision for this model on ``runtime`` is stored (JSON), keyed like the
    exports."""
    key = model_key(settings.model)
    if key is None:
        return None
    return onnx_root(settings) / "decisions" / f"{key}-{runtime}-opset{OPSET}-f{EXPORT_FORMAT}.json"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The export's manifest, or None when the folder is missing or incomplete (an export is renamed into
    place only when complete, so a manifest means the files are there)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    os.replace(temp, path)


def read_decision(settings: Settings, runtime: str) -> dict[str, Any] | None:
    """The CPU precision decision stored for this model and runtime (``embed.precision`` measures it);
    None when none was measured yet or the weights are not on disk."""
    path = decision_file(settings, runtime)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("precision") in ("fp32", "int8") else None
