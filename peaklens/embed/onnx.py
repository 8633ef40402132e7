"""The ONNX Runtime embedder: the CPU runtime, loaded without torch or transformers.

Reads an export folder written by ``onnx_export`` (two towers, ``tokenizer.json``, a manifest with the logit
calibration and the image preprocessing) and runs it with onnxruntime; inputs are built by ``preprocess`` with
PIL, numpy and tokenizers. Same ``Embedder`` interface and the same outputs as ``siglip.SiglipEmbedder``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from peaklens.embed.artifacts import read_manifest
from peaklens.embed.base import l2_normalise
from peaklens.embed.preprocess import ImageSpec, TextTokenizer, image_inputs
from peaklens.errors import ModelNotAvailable

VISION, TEXT, TOKENIZER = "vision.onnx", "text.onnx", "tokenizer.json"


def _session(path: Path, *, spin: bool) -> ort.InferenceSession:
    """``spin``: the session's threads wait for the next run by spinning, a few milliseconds quicker for a
    query's text; off for photos, whose batches alternate with decoding and the terrain registration, which
    need those cores (docs/GEO.md, "Cost")."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no notes about unused initialisers
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """Embeds photos and texts with an exported SigLIP-family model; rows are unit-length float32."""

    runtime = "onnx"

    def __init__(self, folder: Path, model_id: str, *, batch_size: int = 16) -> None:
        manifest = read_manifest(folder)
        if manifest is None:
            raise ModelNotAvailable(f"ONNX export {folder} is missing or incomplete: delete it to re-export.")
        self.folder = folder
        self.model_id = model_id
        self.precision = str(manifest["precision"])
        self.device = "cpu"
        self.batch_size = max(1, batch_size)
        self.dim = int(manifest["dim"])
        self.logit_scale = float(manifest["logit_scale"])
        self.logit_bias = float(manifest["logit_bias"])
        self.spec = ImageSpec.from_json(manifest["image"])
        self.image_size = (
            int(self.spec.max_num_patches**0.5 * self.spec.patch_size)
            if self.spec.naflex
            else self.spec.height
        )
        self.tokenizer = TextTokenizer(folder / TOKENIZER, pad_id=int(manifest["pad_id"]))
        self._text = _session(folder / TEXT, spin=True)
        self._vision: ort.InferenceSession | None = None  # loaded on first use: a text search never needs it

    @property
    def vision(self) -> ort.InferenceSession:
        if self._vision is None:
            self._vision = _session(self.folder / VISION, spin=False)
        return self._vision

    def _run(self, session: ort.InferenceSession, feeds: dict[str, Any]) -> np.ndarray:
        return np.asarray(session.run(None, feeds)[0], dtype=np.float32)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = [
            self._run(self.vision, image_inputs(images[start : start + self.batch_size], self.spec))
            for start in range(0, len(images), self.batch_size)
        ]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = [
            self._run(self._text, {"input_ids": self.tokenizer(texts[start : start + self.batch_size])})
            for start in range(0, len(texts), self.batch_size)
        ]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(rows))
