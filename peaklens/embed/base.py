"""The embedder seam: a faster runtime (int8, ONNX, GPU) is a new class, not an ``if`` in the pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class Embedder(Protocol):
    """Maps photos and texts into one space; every returned row is L2-normalised float32."""

    model_id: str
    dim: int
    #: SigLIP's calibration: match probability = sigmoid(logit_scale * cos + logit_bias)
    logit_scale: float
    logit_bias: float
    #: the longest image side worth decoding for this model (decode cheaply down to about this)
    image_size: int

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, dim) float32, one row per RGB image."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32; texts are lower-cased and padded to max_length=64 as SigLIP was trained."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows divided by their norm (+1e-12 so a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        return (vectors / (np.linalg.norm(vectors) + 1e-12)).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / (norms + 1e-12)).astype(np.float32)
