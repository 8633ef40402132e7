"""The evaluation harness's arithmetic, on hand-made rankings and a hand-made labels file."""

from __future__ import annotations

from pathlib import Path

import pytest

from peaklens.errors import BadInput
from peaklens.evaluate import (
    VARIANTS,
    Labels,
    Variant,
    format_table,
    identification_accuracy,
    load_labels,
    recall_at_k,
    reciprocal_rank,
    score_text,
)

PATHS = ["a/dog.jpg", "a/cat.jpg", "m/ama.jpg", "m/pumori.jpg", "w/lake.jpg"]


def test_recall_and_reciprocal_rank() -> None:
    ranked = ["m/ama.jpg", "a/dog.jpg", "w/lake.jpg", "a/cat.jpg"]
    animals = {"a/dog.jpg", "a/cat.jpg"}
    assert recall_at_k(ranked, animals, 1) == 0.0
    assert recall_at_k(ranked, animals, 2) == 0.5
    assert recall_at_k(ranked, animals, 10) == 1.0
    assert reciprocal_rank(ranked, animals) == 0.5
    assert reciprocal_rank(ranked, {"nowhere.jpg"}) == 0.0
    assert recall_at_k(ranked, set(), 5) == 0.0


def test_scores_are_means_over_queries_per_variant() -> None:
    labels = Labels([("animals", {"a/dog.jpg", "a/cat.jpg"}), ("lake", {"w/lake.jpg"})])
    rankings = {
        ("animals", True): ["a/dog.jpg", "a/cat.jpg"],
        ("lake", True): ["m/ama.jpg", "w/lake.jpg"],
        ("animals", False): ["m/ama.jpg"] * 9 + ["a/cat.jpg"],
        ("lake", False): ["w/lake.jpg"],
    }
    variants = (Variant("ensemble", True, True), Variant("raw", False, False))
    good, raw = score_text(labels, lambda text, v: rankings[(text, v.use_ensemble)], variants)
    assert good.recall == {1: pytest.approx(0.25), 5: pytest.approx(1.0), 10: pytest.approx(1.0)}
    assert good.mrr == pytest.approx((1.0 + 0.5) / 2)
    assert raw.recall == {1: pytest.approx(0.5), 5: pytest.approx(0.5), 10: pytest.approx(0.75)}
    assert raw.mrr == pytest.approx((0.1 + 1.0) / 2)
    table = format_table([good, raw], {"visual": identification_accuracy([("Ama Dablam", ["Ama Dablam"])])})
    assert "| ensemble | 2 | 0.250 | 1.000 | 1.000 | 0.750 |" in table
    assert "| visual | 1.000 | 1.000 |" in table


def test_identification_accuracy_top1_and_top3() -> None:
    predictions = [
        ("Ama Dablam", ["Ama Dablam", "Pumori", "Lhotse"]),
        ("Pumori", ["Lhotse", "Pumori", "Nuptse"]),
        ("Makalu", ["Lhotse", "Pumori", "Nuptse"]),
        ("Nuptse", ["Nuptse"]),
    ]
    assert identification_accuracy(predictions) == (0.5, 0.75)
    assert identification_accuracy([]) == (0.0, 0.0)


def test_several_expected_peaks_accept_any_of_them() -> None:
    everest_or_lhotse = frozenset({"Mount Everest", "Lhotse"})
    predictions = [
        (everest_or_lhotse, ["Lhotse", "Nuptse", "Pumori"]),
        (everest_or_lhotse, ["Nuptse", "Pumori", "Mount Everest"]),
        (everest_or_lhotse, ["Nuptse", "Pumori", "Ama Dablam", "Lhotse"]),
    ]
    assert identification_accuracy(predictions) == (1 / 3, 2 / 3)


def test_labels_expand_categories_and_globs(tmp_path: Path) -> None:
    labels_file = tmp_path / "labels.yaml"
    labels_file.write_text(
        "categories:\n  animal: ['a/*']\n"
        "queries:\n  - {text: animals, relevant: animal}\n  - {text: ama, relevant: [m/ama.jpg]}\n"
        "identify:\n  - {photo: x.jpg, peak: Ama Dablam}\n  - {photo: y.jpg, peaks: [Lhotse, Nuptse]}\n"
    )
    labels = load_labels(labels_file, PATHS)
    assert labels.queries == [("animals", {"a/dog.jpg", "a/cat.jpg"}), ("ama", {"m/ama.jpg"})]
    assert labels.identify == [
        ((tmp_path / "x.jpg").resolve(), frozenset({"Ama Dablam"})),
        ((tmp_path / "y.jpg").resolve(), frozenset({"Lhotse", "Nuptse"})),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("queries:\n  - {text: x, relevant: [nope.jpg]}\n", "matches no indexed photo"),
        ("queries:\n  - {relevant: [a/dog.jpg]}\n", "needs 'text'"),
        ("- just a list\n", "expected a mapping"),
        ("identify:\n  - {photo: x.jpg}\n", "needs 'photo' and 'peak'"),
    ],
)
def test_bad_labels_are_named(tmp_path: Path, text: str, message: str) -> None:
    labels_file = tmp_path / "labels.yaml"
    labels_file.write_text(text)
    with pytest.raises(BadInput, match=message):
        load_labels(labels_file, PATHS)


def test_the_shipped_sample_labels_match_the_sample_album() -> None:
    repo = Path(__file__).resolve().parents[1]
    album_paths = sorted(
        p.relative_to(repo / "sample_album").as_posix() for p in (repo / "sample_album").rglob("*.jpg")
    )
    labels = load_labels(repo / "eval" / "sample_album.yaml", album_paths)
    assert len(labels.queries) >= 10
    assert len(VARIANTS) == 4
