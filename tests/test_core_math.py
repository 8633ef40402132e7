"""The core math, pinned with values computed independently of the code under test.

Reciprocal rank fusion against hand-computed sums (1/61 + 1/62 written as literals), confidence against the
model's own ``logits_per_image`` from transformers, the query vector and the peak prototype against vectors
built by hand from a fake embedder whose every text and image vector the test chooses, and the prompts each
kind of query is wrapped in against the literal strings of docs/DESIGN.md.

Each test here kills at least one mutation a review found surviving the rest of the suite (docs/TESTING.md).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peaklens.catalog import build_prototypes
from peaklens.config import Settings
from peaklens.embed.prompts import ensemble_vector, text_query_vector
from peaklens.records import PeakDoc, PhotoHit, RankedPhoto
from peaklens.search import Searcher, fuse_rrf, match_probability
from tests.fakes import (
    AMA,
    AMA_DABLAM_PROMPTS,
    AMA_IMAGE,
    AMA_TEXT,
    ANTI,
    BENCH,
    BENCH_PROMPTS,
    DIM,
    RecordingEmbedder,
    by_hand,
    chosen_vector,
    unit,
)

# Embedders stay alive for the whole module: the anti-concept cache is keyed by id(embedder), and a freed
# embedder's id can be reused by the next one.
_ALIVE: list[RecordingEmbedder] = []


@pytest.fixture
def embedder() -> RecordingEmbedder:
    made = RecordingEmbedder()
    _ALIVE.append(made)
    return made


# --- reciprocal rank fusion --------------------------------------------------------------------------------


def hit(name: str, score: float, peaks: Sequence[str] = ()) -> PhotoHit:
    return PhotoHit(name, f"{name}.jpg", score, list(peaks), [], None, None)


def test_rrf_sums_one_over_sixty_plus_the_one_based_rank_in_each_list() -> None:
    knn = [hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)]
    by_peak = [hit("b", 0.8), hit("d", 0.6)]
    results = fuse_rrf(knn, by_peak, 10)
    by_id = {item.id: explain for item, explain in results}
    assert by_id["a"]["rrf"] == pytest.approx(1 / 61, abs=1e-12)
    assert by_id["b"]["rrf"] == pytest.approx(1 / 62 + 1 / 61, abs=1e-12)
    assert by_id["c"]["rrf"] == pytest.approx(1 / 63, abs=1e-12)
    assert by_id["d"]["rrf"] == pytest.approx(1 / 62, abs=1e-12)
    assert [item.id for item, _ in results] == ["b", "a", "d", "c"]
    assert by_id["b"]["knn_rank"] == 2.0 and by_id["b"]["peak_rank"] == 1.0
    assert by_id["a"]["knn_rank"] == 1.0 and "peak_rank" not in by_id["a"]
    assert by_id["d"]["peak_rank"] == 2.0 and "knn_rank" not in by_id["d"]
    assert [explain["knn_score"] for _, explain in results] == [0.8, 0.9, 0.6, 0.7]


def test_rrf_ties_go_to_the_higher_knn_score_then_the_path() -> None:
    # "a" is first in kNN, "z" first in the peak list: both 1/61; "z" scores higher
    results = fuse_rrf([hit("a", 0.5)], [hit("z", 0.7)], 10)
    assert [item.id for item, _ in results] == ["z", "a"]
    assert results[0][1]["rrf"] == results[1][1]["rrf"] == pytest.approx(1 / 61)
    same_score = fuse_rrf([hit("y", 0.5)], [hit("x", 0.5)], 10)
    assert [item.path for item, _ in same_score] == ["x.jpg", "y.jpg"]


def test_rrf_fuses_rankings_without_documents_and_keeps_the_best_k() -> None:
    knn = [RankedPhoto("a", "a.jpg", 0.9), RankedPhoto("b", "b.jpg", 0.8), RankedPhoto("c", "c.jpg", 0.7)]
    by_peak = [RankedPhoto("b", "b.jpg", 0.8)]
    results = fuse_rrf(knn, by_peak, 2)
    assert [item.id for item, _ in results] == ["b", "a"]
    assert results[0][0] is knn[1]
    assert fuse_rrf([], [], 5) == []


# --- confidence: SigLIP's own sigmoid(scale · cos + bias) ---------------------------------------------------

SCALE, BIAS = 7.0, -1.5


@pytest.fixture(scope="module")
def calibrated_model(tiny_siglip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny model with logit_scale = log 7 and logit_bias = -1.5, set here, not by the code."""
    import torch
    from transformers import AutoModel

    folder = tmp_path_factory.mktemp("calibrated") / "model"
    shutil.copytree(tiny_siglip, folder)
    model = AutoModel.from_pretrained(str(folder))
    with torch.no_grad():
        model.logit_scale.fill_(math.log(SCALE))
        model.logit_bias.fill_(BIAS)
    model.save_pretrained(str(folder))
    return folder


def _photos() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)) for _ in range(3)]


def test_confidence_is_the_models_own_sigmoid_of_logits_per_image(calibrated_model: Path) -> None:
    import torch
    from transformers import AutoModel, AutoProcessor

    from peaklens.embed.loader import load_embedder

    texts = ["ama dablam", "a person in a blue jacket on a bench", "prayer flags"]
    photos = _photos()
    model = AutoModel.from_pretrained(str(calibrated_model)).eval()
    processor = AutoProcessor.from_pretrained(str(calibrated_model))
    inputs = processor(
        text=texts, images=photos, padding="max_length", max_length=64, truncation=True, return_tensors="pt"
    )
    with torch.no_grad():  # input_ids only: SigLIP is used without a text attention mask
        logits = model(input_ids=inputs["input_ids"], pixel_values=inputs["pixel_values"]).logits_per_image
    expected = torch.sigmoid(logits).numpy()

    embedder = load_embedder(Settings(model=str(calibrated_model), device="cpu", precision="fp32"))  # type: ignore[call-arg]
    cosines = embedder.embed_images(photos) @ embedder.embed_texts(texts).T
    got = np.array([[match_probability(embedder, float(c)) for c in row] for row in cosines])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    # the check discriminates: without scale and bias the numbers would be far off
    assert np.abs(1 / (1 + np.exp(-cosines)) - expected).max() > 0.05


class _Calibrated:
    logit_scale = SCALE
    logit_bias = BIAS


@pytest.mark.parametrize(
    ("cosine", "expected"),
    [
        (0.0, 1 / (1 + math.exp(1.5))),  # sigmoid(-1.5) = 0.18242552...
        (0.5, 1 / (1 + math.exp(-2.0))),  # sigmoid(7 · 0.5 - 1.5) = sigmoid(2)
        (-0.25, 1 / (1 + math.exp(3.25))),
    ],
)
def test_confidence_by_hand(cosine: float, expected: float) -> None:
    assert match_probability(_Calibrated(), cosine) == pytest.approx(expected, rel=1e-12)  # type: ignore[arg-type]


def test_confidence_of_a_huge_logit_neither_overflows_nor_leaves_zero_to_one() -> None:
    class Steep:
        logit_scale, logit_bias = 1e6, 0.0

    assert match_probability(Steep(), 1.0) == 1.0  # type: ignore[arg-type]
    low = match_probability(Steep(), -1.0)  # type: ignore[arg-type]
    assert 0.0 <= low < 1e-20


# --- the query vector: prompt ensemble minus the anti-concept ----------------------------------------------


def test_peak_query_vector_is_the_normalised_mean_of_its_prompts_minus_a_quarter_anti_concept(
    embedder: RecordingEmbedder,
) -> None:
    got = text_query_vector(embedder, "Ama Dablam", is_peak=True, anti_concept_weight=0.25)
    np.testing.assert_allclose(got, by_hand(AMA_DABLAM_PROMPTS, 0.25), atol=1e-6)
    assert got.shape == (DIM,) and got.dtype == np.float32


def test_the_anti_concept_pushes_the_query_away_from_paintings(embedder: RecordingEmbedder) -> None:
    anti = chosen_vector(ANTI)
    plain = text_query_vector(embedder, "Ama Dablam", is_peak=True, anti_concept_weight=0.0)
    pushed = text_query_vector(embedder, "Ama Dablam", is_peak=True, anti_concept_weight=0.25)
    np.testing.assert_allclose(
        plain, unit(np.mean([chosen_vector(p) for p in AMA_DABLAM_PROMPTS], axis=0)), atol=1e-6
    )
    assert float(pushed @ anti) < float(plain @ anti) - 0.01


def test_ensemble_vector_and_the_raw_query_use_the_same_formula(embedder: RecordingEmbedder) -> None:
    texts = ["x", "y", "z", "w"]
    np.testing.assert_allclose(ensemble_vector(embedder, texts, 0.5), by_hand(texts, 0.5), atol=1e-6)
    np.testing.assert_allclose(ensemble_vector(embedder, texts, 0.0), by_hand(texts, 0.0), atol=1e-6)
    raw = text_query_vector(embedder, BENCH, is_peak=False, anti_concept_weight=0.25, use_ensemble=False)
    np.testing.assert_allclose(raw, by_hand([BENCH], 0.25), atol=1e-6)


# --- which prompts a query gets ----------------------------------------------------------------------------


def asked(embedder: RecordingEmbedder) -> set[str]:
    return set(embedder.texts) - {ANTI}


def test_a_peak_name_gets_the_peak_prompts_of_system_md(embedder: RecordingEmbedder) -> None:
    text_query_vector(embedder, "Ama Dablam", is_peak=True, anti_concept_weight=0.25)
    assert asked(embedder) == set(AMA_DABLAM_PROMPTS)


def test_anything_else_gets_the_neutral_prompts(embedder: RecordingEmbedder) -> None:
    got = text_query_vector(embedder, BENCH, is_peak=False, anti_concept_weight=0.25)
    assert asked(embedder) == set(BENCH_PROMPTS)
    assert f"a photo of {BENCH}" in embedder.texts  # docs/DESIGN.md's own example of the neutral ensemble
    assert not any("mountain" in t or "Himalayas" in t or "peak" in t for t in embedder.texts)
    np.testing.assert_allclose(got, by_hand(BENCH_PROMPTS, 0.25), atol=1e-6)


def test_the_raw_query_is_embedded_alone(embedder: RecordingEmbedder) -> None:
    text_query_vector(embedder, "Ama Dablam", is_peak=True, anti_concept_weight=0.25, use_ensemble=False)
    assert asked(embedder) == {"Ama Dablam"}


class _PeaksOnly:
    """Just enough of a store for Searcher.text_vector: the catalog's peaks, no stored text prototypes."""

    def all_peaks(self) -> list[PeakDoc]:
        zero = np.zeros(DIM, dtype=np.float32)
        return [PeakDoc("ama-dablam", ["Ama Dablam"], zero), PeakDoc("lhotse", ["Lhotse"], zero)]

    def get_meta(self) -> dict[str, str]:
        return {}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Ama Dablam", AMA_DABLAM_PROMPTS),
        ("amadablam", AMA_DABLAM_PROMPTS),  # another spelling embeds as the peak's display name
        (BENCH, BENCH_PROMPTS),
        (
            "ama dablam at sunset",  # names a peak but is more than the name: neutral, as typed
            [
                "a photo of ama dablam at sunset",
                "a natural photo of ama dablam at sunset",
                "ama dablam at sunset",
            ],
        ),
    ],
)
def test_searcher_wraps_only_bare_peak_names_in_mountain_prompts(
    embedder: RecordingEmbedder, query: str, expected: list[str]
) -> None:
    searcher = Searcher(Settings(anti_concept_weight=0.25), _PeaksOnly(), embedder)  # type: ignore[arg-type, call-arg]
    vector = searcher.text_vector(query, searcher.query_names_peak(query))
    assert asked(embedder) == set(expected)  # the store holds no text prototype to reuse
    np.testing.assert_allclose(vector, by_hand(expected, 0.25), atol=1e-6)


# --- the peak prototype: alpha · text + (1 - alpha) · image --------------------------------------------------


@pytest.fixture
def refs(tmp_path: Path) -> Path:
    """Reference photos by file name only: the test's ``load_image`` names them, the fake embeds the name."""
    folder = tmp_path / "refs" / "ama-dablam"
    folder.mkdir(parents=True)
    for name in ("d.jpg", "b.jpg", "a.jpg", "c.jpg", "notes.txt"):
        (folder / name).write_bytes(b"")
    return tmp_path / "refs"


def _prototype(embedder: RecordingEmbedder, refs: Path | None, alpha: float) -> np.ndarray:
    (doc,) = build_prototypes(
        embedder,
        [AMA],
        refs_dir=refs,
        alpha_text=alpha,
        anti_concept_weight=0.25,
        load_image=lambda p: p.name,
    )
    assert doc.id == "ama-dablam" and doc.names == AMA.names
    return np.asarray(doc.vector)


def test_prototype_blends_eight_tenths_text_with_two_tenths_image(
    embedder: RecordingEmbedder, refs: Path
) -> None:
    text = by_hand(AMA_TEXT, 0.25)
    expected = unit(0.8 * text + 0.2 * AMA_IMAGE)
    np.testing.assert_allclose(_prototype(embedder, refs, 0.8), expected, atol=1e-6)
    swapped = unit(0.2 * text + 0.8 * AMA_IMAGE)
    assert float(expected @ swapped) < 0.99  # the two blends are told apart


@pytest.mark.parametrize(
    ("alpha", "text_weight"), [(1.0, 1.0), (1.7, 1.0), (0.0, 0.0), (-0.3, 0.0), (0.5, 0.5)]
)
def test_alpha_is_clamped_to_zero_one(
    embedder: RecordingEmbedder, refs: Path, alpha: float, text_weight: float
) -> None:
    expected = unit(text_weight * by_hand(AMA_TEXT, 0.25) + (1 - text_weight) * AMA_IMAGE)
    np.testing.assert_allclose(_prototype(embedder, refs, alpha), expected, atol=1e-6)


def test_without_reference_photos_the_prototype_is_the_text_vector(embedder: RecordingEmbedder) -> None:
    np.testing.assert_allclose(_prototype(embedder, None, 0.3), by_hand(AMA_TEXT, 0.25), atol=1e-6)
    assert asked(embedder) == set(AMA_TEXT)
