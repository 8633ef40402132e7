"""What search shows does not depend on k, peak-name queries skip the text tower, orders are the shown scores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from peaklens.errors import BadInput
from peaklens.records import PhotoHit
from peaklens.search import Result, Searcher, sort_results


def test_a_peak_name_query_ranks_the_same_whatever_k(searcher: Searcher) -> None:
    few = [r.hit.path for r in searcher.text("Ama Dablam", k=3)]
    many = [r.hit.path for r in searcher.text("Ama Dablam", k=28)]
    assert len(few) == 3 and len(many) == 28
    assert many[:3] == few


def test_fused_scores_are_shown_in_rank_order(searcher: Searcher) -> None:
    results = searcher.text("Ama Dablam", k=20)
    fused = [r.explain["rrf"] for r in results]
    assert fused == sorted(fused, reverse=True)


def test_a_peak_name_query_uses_the_stored_prototype_without_the_text_tower(searcher: Searcher) -> None:
    peak = next(p for p in searcher.store.all_peaks() if p.name == "Ama Dablam")
    assert peak.text_vector is not None
    calls: list[list[str]] = []
    original = searcher.embedder.embed_texts

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return original(texts)

    searcher = Searcher(searcher.settings, searcher.store, searcher.embedder)  # nothing remembered
    searcher.embedder.embed_texts = counting  # type: ignore[method-assign]
    try:
        vector = searcher.text_vector("ama dablam", searcher.query_names_peak("ama dablam"))
    finally:
        searcher.embedder.embed_texts = original  # type: ignore[method-assign]
    assert calls == []
    # the stored prototype is the text ensemble over every name, computed here by hand from the model
    from peaklens.embed.prompts import ANTI_CONCEPT, PEAK_PROMPTS

    texts = [t.format(name=n) for n in peak.names for t in PEAK_PROMPTS]
    mean = original(texts).mean(axis=0) - 0.25 * original([ANTI_CONCEPT])[0]
    expected = mean / np.linalg.norm(mean)
    assert np.allclose(vector, expected, atol=1e-4)


def test_the_query_cache_is_keyed_by_the_normalised_query(searcher: Searcher) -> None:
    searcher = Searcher(searcher.settings, searcher.store, searcher.embedder)  # nothing remembered
    first = searcher.text_vector("Prayer  Flags", None)
    calls: list[list[str]] = []
    original = searcher.embedder.embed_texts
    searcher.embedder.embed_texts = lambda texts: calls.append(texts) or original(texts)  # type: ignore[method-assign, func-returns-value]
    try:
        again = searcher.text_vector("prayer flags", None)
    finally:
        searcher.embedder.embed_texts = original  # type: ignore[method-assign]
    assert calls == [] and np.array_equal(first, again)


def test_k_below_one_is_refused(searcher: Searcher) -> None:
    with pytest.raises(BadInput, match="k must be at least 1"):
        searcher.text("snow", k=0)


def test_a_confidence_cut_that_empties_the_results_says_how_many_it_removed(searcher: Searcher) -> None:
    results = searcher.text("snowy mountain", k=5, min_confidence=1.0)
    assert list(results) == []
    assert results.dropped_below_confidence > 0 and results.min_confidence == 1.0


def _hit(path: str, moment: datetime | None, score: float = 0.5) -> Result:
    return Result(PhotoHit(path, path, score, [], [], None, moment))


def test_sort_by_time_uses_the_utc_instant_never_the_server_zone() -> None:
    nepal = timezone(timedelta(hours=5, minutes=45))
    results = [
        _hit("local-late", datetime(2023, 10, 21, 6, 0, tzinfo=nepal)),  # 00:15 UTC
        _hit("naive", datetime(2023, 10, 21, 0, 10)),  # naive counts as UTC: 00:10 UTC
        _hit("undated", None),
        _hit("utc", datetime(2023, 10, 21, 0, 20, tzinfo=timezone.utc)),
    ]
    assert [r.hit.path for r in sort_results(results, "time")] == ["naive", "local-late", "utc", "undated"]
