"""Turning words into query vectors: prompt ensembles minus an anti-concept.

A bare name embeds poorly; the mean over a few phrasings is steadier, and subtracting a little of
"painting, illustration, poster, map, logo" pushes results toward real photographs. Peak names get mountain
prompts; anything else ("person in a blue jacket on a bench") gets neutral ones so it is not pulled toward
mountains.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np

from peaklens.embed.base import Embedder, l2_normalise

PEAK_PROMPTS: tuple[str, ...] = (
    "a natural photo of the mountain peak {name} in the Himalayas, Nepal",
    "{name} landmark peak in the Khumbu region, alpine landscape",
    "{name} mountain summit, snow, rocky ridgeline",
)
NEUTRAL_PROMPTS: tuple[str, ...] = (
    "a photo of {name}",
    "a natural photo of {name}",
    "{name}",
)
ANTI_CONCEPT = "painting, illustration, poster, map, logo"

#: the anti-concept's vector per embedder (weak keys: a new embedder that reuses a freed one's id() must not
#: inherit its vector)
_anti_cache: weakref.WeakKeyDictionary[Embedder, np.ndarray] = weakref.WeakKeyDictionary()


def anti_concept_vector(embedder: Embedder) -> np.ndarray:
    """The anti-concept's vector, computed once per embedder."""
    if embedder not in _anti_cache:
        _anti_cache[embedder] = embedder.embed_texts([ANTI_CONCEPT])[0]
    return _anti_cache[embedder]


def prompts_for(names: Sequence[str], templates: Sequence[str]) -> list[str]:
    return [template.format(name=name) for name in names for template in templates]


def ensemble_vector(embedder: Embedder, texts: Sequence[str], anti_concept_weight: float) -> np.ndarray:
    """normalise(mean(normalised text vectors) - w * anti-concept).

    The prompts and the anti-concept go through the text tower in ONE ``embed_texts`` call (one batch instead
    of two model runs for a new query); the anti-concept's row is the same as when embedded alone, because
    every text is padded to the same 64 tokens and no text attends to another.
    """
    texts = list(texts)
    if anti_concept_weight <= 0:
        return l2_normalise(embedder.embed_texts(texts).mean(axis=0))
    anti = _anti_cache.get(embedder)
    if anti is not None:
        vectors = embedder.embed_texts(texts)
    else:
        rows = embedder.embed_texts([*texts, ANTI_CONCEPT])
        vectors, anti = rows[:-1], rows[-1]
        _anti_cache[embedder] = anti
    return l2_normalise(vectors.mean(axis=0) - anti_concept_weight * anti)


def text_query_vector(
    embedder: Embedder,
    query: str,
    *,
    is_peak: bool,
    anti_concept_weight: float,
    use_ensemble: bool = True,
) -> np.ndarray:
    """The vector a text search runs with; ``use_ensemble=False`` embeds the raw query (for evaluation)."""
    if not use_ensemble:
        return ensemble_vector(embedder, [query], anti_concept_weight)
    templates = PEAK_PROMPTS if is_peak else NEUTRAL_PROMPTS
    return ensemble_vector(embedder, prompts_for([query], templates), anti_concept_weight)
