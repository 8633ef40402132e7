"""Query-vector details that mutation testing showed no other test holds (docs/TESTING.md): the anti-concept
costs one text-tower row per embedder, once, and nothing when its weight is 0."""

from __future__ import annotations

import numpy as np

from peaklens.embed.prompts import anti_concept_vector, text_query_vector
from tests.fakes import ANTI, RecordingEmbedder, by_hand, chosen_vector


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
