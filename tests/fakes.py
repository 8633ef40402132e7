"""Fakes and hand-made vectors for the core-math tests: an embedder whose every vector the test chooses."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from peaklens.catalog import CatalogPeak

DIM = 8


ANTI = "painting, illustration, poster, map, logo"


#: docs/DESIGN.md's peak prompt ensemble, with {name} filled in by hand
AMA_DABLAM_PROMPTS = [
    "a natural photo of the mountain peak Ama Dablam in the Himalayas, Nepal",
    "Ama Dablam landmark peak in the Khumbu region, alpine landscape",
    "Ama Dablam mountain summit, snow, rocky ridgeline",
]


BENCH = "person in a blue jacket on a bench"


#: the neutral ensemble (docs/DESIGN.md gives its first member, "a photo of {q}"; the other two are the code's)
BENCH_PROMPTS = [f"a photo of {BENCH}", f"a natural photo of {BENCH}", BENCH]


def unit(vector: np.ndarray) -> np.ndarray:
    return np.asarray(vector, dtype=np.float64) / np.linalg.norm(vector)


def chosen_vector(key: str) -> np.ndarray:
    """A fixed unit vector for any text or image name (a hash seeds it), the same in every process."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return unit(np.random.default_rng(seed).normal(size=DIM))


class RecordingEmbedder:
    """An Embedder whose vectors the test knows: each text (and each image, named by a string) maps to
    ``chosen_vector``; every text it is asked to embed is recorded."""

    model_id = "recording"
    dim = DIM
    logit_scale = 10.0
    logit_bias = -10.0
    image_size = 64

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return np.array([chosen_vector(t) for t in texts], dtype=np.float32).reshape(-1, DIM)

    def embed_images(self, images: Sequence[object]) -> np.ndarray:
        return np.array([chosen_vector(f"image:{i}") for i in images], dtype=np.float32).reshape(-1, DIM)


def by_hand(prompts: Sequence[str], anti_weight: float) -> np.ndarray:
    mean = np.mean([chosen_vector(p) for p in prompts], axis=0)
    return unit(mean - anti_weight * chosen_vector(ANTI))


AMA = CatalogPeak("ama-dablam", ["Ama Dablam", "Amadablam"])


AMA_TEXT = [
    t.format(name=n)
    for n in AMA.names
    for t in (
        "a natural photo of the mountain peak {name} in the Himalayas, Nepal",
        "{name} landmark peak in the Khumbu region, alpine landscape",
        "{name} mountain summit, snow, rocky ridgeline",
    )
]


#: the first three reference photos in sorted order
AMA_IMAGE = unit(np.mean([chosen_vector(f"image:{n}") for n in ("a.jpg", "b.jpg", "c.jpg")], axis=0))
