"""Searching an indexed album on both stores: hybrid name + vector search, identify, similar, facets."""

from __future__ import annotations

import pytest

from peaklens.imaging import open_photo
from peaklens.records import SearchFilters
from peaklens.search import RRF_K, Searcher
from tests.conftest import TREK_JPEGS


def test_a_peak_named_in_three_scripts_gives_the_same_fused_results(searcher: Searcher) -> None:
    runs = [searcher.text(q, k=10) for q in ("Ama Dablam", "阿玛达布朗", "अमा दब्लम", "amadablam")]
    paths = [[r.hit.path for r in run] for run in runs]
    assert paths[0] and all(p == paths[0] for p in paths)
    predicted = {r.hit.path for r in runs[0] if "Ama Dablam" in r.hit.predicted_peaks}
    assert predicted, "the fused list holds the photos predicted to show the peak"


def test_the_fused_ranking_is_explained_and_stable(searcher: Searcher) -> None:
    first = searcher.text("Ama Dablam", k=8)
    again = searcher.text("Ama Dablam", k=8)
    assert [r.hit.path for r in first] == [r.hit.path for r in again]
    for result in first:
        parts = result.explain
        expected = sum(1.0 / (RRF_K + parts[key]) for key in ("knn_rank", "peak_rank") if key in parts)
        assert parts["rrf"] == pytest.approx(expected)
        assert parts["knn_score"] == pytest.approx(result.hit.score)
        if "peak_rank" in parts:
            assert "Ama Dablam" in result.hit.predicted_peaks
    rrf = [r.explain["rrf"] for r in first]
    assert rrf == sorted(rrf, reverse=True)


def test_a_query_naming_no_peak_is_plain_knn(searcher: Searcher) -> None:
    results = searcher.text("a dog on a bench", k=5)
    assert all(set(r.explain) == {"knn_score"} for r in results)
    scores = [r.hit.score for r in results]
    assert scores == sorted(scores, reverse=True) and len(results) == 5


def test_filters_apply_to_both_fused_lists(searcher: Searcher) -> None:
    only_pumori = SearchFilters(peaks=("Pumori",))
    results = searcher.text("Ama Dablam", only_pumori, k=10)
    assert all("Pumori" in r.hit.predicted_peaks for r in results)


def test_sort_by_capture_time_puts_undated_photos_last(searcher: Searcher) -> None:
    results = searcher.text("mountain", k=28, sort="time")
    times = [r.hit.shot_time for r in results]
    dated = [t for t in times if t is not None]
    assert dated == sorted(dated, key=lambda t: t.timestamp())
    assert times[: len(dated)] == dated


def test_min_confidence_cuts_results(searcher: Searcher) -> None:
    assert searcher.text("mountain", k=10, min_confidence=1.0) == []
    everything = searcher.text("mountain", k=10, min_confidence=0.0)
    assert all(r.confidence is not None and 0 <= r.confidence <= 1 for r in everything)


def test_identify_and_similar_follow_the_seed(searcher: Searcher) -> None:
    photo = open_photo(TREK_JPEGS[0])
    peaks = searcher.identify(photo.image)
    assert len(peaks) == 3 and [p.score for p in peaks] == sorted((p.score for p in peaks), reverse=True)
    result = searcher.similar(photo.image, k=5)
    assert result.peaks[0].name == peaks[0].name
    assert result.photos and all(peaks[0].name in r.hit.predicted_peaks for r in result.photos)
    assert result.photos[0].hit.path == TREK_JPEGS[0].name  # the same photo is in the album


def test_facets_count_every_predicted_peak(searcher: Searcher) -> None:
    facets = searcher.facets()
    assert sum(count for _, count in facets) == searcher.store.count_photos() * searcher.settings.top_k_peaks


def test_a_repeated_query_reuses_its_vector_and_gives_the_same_results(searcher: Searcher) -> None:
    calls: list[list[str]] = []
    embed_texts = searcher.embedder.embed_texts

    def counting(texts: list[str]) -> object:
        calls.append(list(texts))
        return embed_texts(texts)

    searcher = Searcher(searcher.settings, searcher.store, searcher.embedder)  # no remembered queries
    searcher.embedder.embed_texts = counting  # type: ignore[method-assign]
    try:
        first = [r.hit.path for r in searcher.text("prayer flags", k=5)]
        again = [r.hit.path for r in searcher.text("  prayer flags ", k=5)]
        other = searcher.text("a yak", k=5)
    finally:
        del searcher.embedder.embed_texts
    assert first == again and other
    assert [texts for texts in calls if "prayer flags" in texts[0]] == [calls[0]], "embedded once"
    assert any("a yak" in texts[0] for texts in calls)
