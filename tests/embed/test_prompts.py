"""A text query's prompts and the anti-concept go through the text tower as one batch, same math as before."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from peaklens.config import Settings
from peaklens.embed.loader import load_embedder
from peaklens.embed.prompts import (
    ANTI_CONCEPT,
    NEUTRAL_PROMPTS,
    PEAK_PROMPTS,
    anti_concept_vector,
    text_query_vector,
)
from tests.fakes import ANTI, RecordingEmbedder, by_hand, chosen_vector


class _Counting:
    """Wraps a real embedder and records every embed_texts call."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed_texts(texts)  # type: ignore[attr-defined]

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.inner.embed_images(images)  # type: ignore[attr-defined]


def _one_by_one(embedder: object, texts: list[str], weight: float) -> np.ndarray:
    """The ensemble computed independently: each text embedded alone."""
    alone = [embedder.embed_texts([t])[0] for t in texts]  # type: ignore[attr-defined]
    mean = np.mean(alone, axis=0) - weight * embedder.embed_texts([ANTI_CONCEPT])[0]  # type: ignore[attr-defined]
    return mean / np.linalg.norm(mean)


def test_one_batch_per_query_and_the_same_vector(tiny_siglip: Path, tmp_path: Path) -> None:
    real = load_embedder(Settings(model=str(tiny_siglip), device="cpu", precision="fp32", data_dir=tmp_path))
    counting = _Counting(real)
    vector = text_query_vector(counting, "Ama Dablam", is_peak=True, anti_concept_weight=0.25)  # type: ignore[arg-type]
    prompts = [t.format(name="Ama Dablam") for t in PEAK_PROMPTS]
    assert counting.calls == [[*prompts, ANTI_CONCEPT]]
    np.testing.assert_allclose(vector, _one_by_one(real, prompts, 0.25), atol=1e-6)
    # later queries reuse the anti-concept's vector: still one call, prompts only
    other = text_query_vector(counting, "a dog", is_peak=False, anti_concept_weight=0.25)  # type: ignore[arg-type]
    neutral = [t.format(name="a dog") for t in NEUTRAL_PROMPTS]
    assert counting.calls[1:] == [neutral]
    np.testing.assert_allclose(other, _one_by_one(real, neutral, 0.25), atol=1e-6)
    raw = text_query_vector(counting, "x", is_peak=False, anti_concept_weight=0.0, use_ensemble=False)  # type: ignore[arg-type]
    np.testing.assert_allclose(raw, real.embed_texts(["x"])[0], atol=1e-6)


# --- pinned by mutation testing (was test_mutation_pins_prompts.py): Query-vector details that mutation testing showed no other test holds (docs/TESTING.md): the anti-concept
def test_the_anti_concept_is_embedded_once_per_embedder() -> None:
    embedder = RecordingEmbedder()
    first = text_query_vector(embedder, "prayer flags", is_peak=False, anti_concept_weight=0.25)
    second = text_query_vector(embedder, "a yak", is_peak=False, anti_concept_weight=0.25)
    assert embedder.texts.count(ANTI) == 1
    np.testing.assert_allclose(
        first,
        by_hand(["a photo of prayer flags", "a natural photo of prayer flags", "prayer flags"], 0.25),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        second, by_hand(["a photo of a yak", "a natural photo of a yak", "a yak"], 0.25), atol=1e-6
    )


def test_a_zero_weight_never_embeds_the_anti_concept() -> None:
    embedder = RecordingEmbedder()
    got = text_query_vector(embedder, "Lhotse", is_peak=True, anti_concept_weight=0.0)
    assert ANTI not in embedder.texts
    assert got.shape == (embedder.dim,)


def test_anti_concept_vector_is_the_embedders_row_for_the_anti_concept_computed_once() -> None:
    embedder = RecordingEmbedder()
    np.testing.assert_allclose(anti_concept_vector(embedder), chosen_vector(ANTI), atol=1e-6)
    np.testing.assert_allclose(anti_concept_vector(embedder), chosen_vector(ANTI), atol=1e-6)
    assert embedder.texts == [ANTI]
