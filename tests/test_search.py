"""Searching an indexed album on both stores: hybrid name + vector search, identify, similar, facets."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import lancedb  # noqa: F401  (imported at collection: ~10 s that would otherwise fall on the first test)
import numpy as np
import pytest
from PIL import Image

from peaklens.config import Settings
from peaklens.enrich import PeakPredictor
from peaklens.errors import BadInput
from peaklens.evaluate import Variant, rank_variant
from peaklens.geo import Camera, initial_bearing_deg
from peaklens.imaging import open_photo
from peaklens.records import GeoPoint, PeakDoc, PhotoDoc, PhotoHit, SearchFilters
from peaklens.search import QUERY_CACHE_SIZE, RRF_K, Result, Searcher, normalise_query, sort_results
from peaklens.store.embedded import EmbeddedStore
from tests.conftest import TREK_JPEGS
from tests.fakes import AMA_DABLAM_PROMPTS, DIM, RecordingEmbedder, by_hand, unit


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
    # SigLIP's probability from the photo's cosine, (2 · score − 1), and the model's own scale and bias
    scale, bias = searcher.embedder.logit_scale, searcher.embedder.logit_bias
    expected = [1 / (1 + math.exp(-(scale * (2 * r.hit.score - 1) + bias))) for r in everything]
    assert len(everything) == 10 and [r.confidence for r in everything] == pytest.approx(expected, rel=1e-5)
    cut = sorted(expected)[5]  # the six most confident stay, whatever k asks for
    kept = searcher.text("mountain", k=10, min_confidence=cut)
    assert [r.hit.path for r in kept] == [
        r.hit.path for r, e in zip(everything, expected, strict=True) if e >= cut
    ]
    # every photo of the album below the cut is counted, not only those among the first k
    album = searcher.text("mountain", k=searcher.store.count_photos(), min_confidence=0.0)
    assert kept.dropped_below_confidence == sum(r.confidence < cut for r in album) > 4  # type: ignore[operator]


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


# --- pinned by mutation testing (was test_mutation_pins_search.py): Searcher behaviour that mutation testing showed no other fast test holds (docs/TESTING.md).
FLAGS = ["a photo of prayer flags", "a natural photo of prayer flags", "prayer flags"]


def with_cosine(query: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """A unit vector whose cosine with the unit ``query`` is exactly ``cosine``."""
    other = np.random.default_rng(seed).normal(size=DIM)
    other = unit(other - (other @ query) * query)
    return (cosine * query + math.sqrt(1 - cosine**2) * other).astype(np.float32)


def confidence(cosine: float) -> float:
    """sigmoid(10 · cos - 10): the fake embedder's logit_scale 10 and logit_bias -10."""
    return 1 / (1 + math.exp(-(10 * cosine - 10)))


def photo(name: str, vector: np.ndarray, peaks: Sequence[str] = (), shot: datetime | None = None) -> PhotoDoc:
    return PhotoDoc(name, f"{name}.jpg", vector, list(peaks), [0.6] * len(peaks), shot_time=shot)


def peak(peak_id: str, name: str, seed: int) -> PeakDoc:
    return PeakDoc(peak_id, [name], with_cosine(unit(np.eye(DIM)[0]), 0.0, seed))


@pytest.fixture
def make_searcher(tmp_path: Path) -> Iterator[object]:
    stores: list[EmbeddedStore] = []

    def make(photos: list[PhotoDoc], peaks: list[PeakDoc] = (), **settings: object) -> Searcher:  # type: ignore[assignment]
        values: dict[str, object] = dict(data_dir=tmp_path / f"store{len(stores)}", anti_concept_weight=0.25)
        values.update(settings)
        config = Settings(**values)  # type: ignore[arg-type]
        store = EmbeddedStore(config)
        stores.append(store)
        store.ensure_indices(DIM)
        store.upsert_photos(photos)
        if peaks:
            store.upsert_peaks(peaks)
        return Searcher(config, store, RecordingEmbedder())

    yield make
    for store in stores:
        store.close()


Q_FLAGS = by_hand(FLAGS, 0.25)
Q_AMA = by_hand(AMA_DABLAM_PROMPTS, 0.25)
PEAKS = [peak("ama-dablam", "Ama Dablam", 1), peak("lhotse", "Lhotse", 2)]


def test_plain_query_is_knn_with_scores_and_confidence_from_the_cosine(make_searcher) -> None:  # type: ignore[no-untyped-def]
    cosines = {"p1": 0.9, "p2": 0.5, "p3": 0.2, "p4": -0.3}
    searcher = make_searcher(
        [photo(n, with_cosine(Q_FLAGS, c, i)) for i, (n, c) in enumerate(cosines.items())]
    )
    results = searcher.text("prayer flags", k=3)
    assert [r.hit.id for r in results] == ["p1", "p2", "p3"]
    for result in results:
        cosine = cosines[result.hit.id]
        assert result.hit.score == pytest.approx((1 + cosine) / 2, abs=1e-5)
        assert result.explain == {"knn_score": result.hit.score}
        assert result.confidence == pytest.approx(confidence(cosine), rel=1e-4)
    assert results.dropped_below_confidence == 0


def test_the_confidence_cut_comes_before_the_cut_at_k_and_counts_what_it_dropped(make_searcher) -> None:  # type: ignore[no-untyped-def]
    cosines = {"p1": 0.95, "p2": 0.9, "p3": 0.5, "p4": 0.2}
    searcher = make_searcher(
        [photo(n, with_cosine(Q_FLAGS, c, i)) for i, (n, c) in enumerate(cosines.items())]
    )
    cut = (confidence(0.9) + confidence(0.5)) / 2
    results = searcher.text("prayer flags", k=3, min_confidence=cut)
    assert [r.hit.id for r in results] == ["p1", "p2"]
    assert results.dropped_below_confidence == 2 and results.min_confidence == cut
    one = searcher.text("prayer flags", k=1, min_confidence=cut)
    assert [r.hit.id for r in one] == ["p1"] and one.dropped_below_confidence == 2
    default_cut = make_searcher([photo("p1", with_cosine(Q_FLAGS, 0.9, 1))], min_confidence=0.5)
    assert default_cut.text("prayer flags").dropped_below_confidence == 1  # confidence(0.9) = 0.27 < 0.5


def test_a_bare_peak_name_fuses_knn_with_the_photos_predicted_to_show_it(make_searcher) -> None:  # type: ignore[no-untyped-def]
    photos = [
        photo("a", with_cosine(Q_AMA, 0.9, 1), ["Lhotse"]),
        photo("b", with_cosine(Q_AMA, 0.6, 2), ["Ama Dablam", "Lhotse"]),
        photo("c", with_cosine(Q_AMA, 0.3, 3), ["Ama Dablam"]),
        photo("d", with_cosine(Q_AMA, 0.1, 4)),
    ]
    searcher = make_searcher(photos, PEAKS)
    results = searcher.text("Ama Dablam", k=3)
    # kNN ranks a1 b2 c3 d4, peak ranks b1 c2: b = 1/62 + 1/61, c = 1/63 + 1/62, a = 1/61, d = 1/64
    assert [r.hit.id for r in results] == ["b", "c", "a"]
    assert [r.explain["rrf"] for r in results] == pytest.approx([1 / 62 + 1 / 61, 1 / 63 + 1 / 62, 1 / 61])
    assert results[0].explain["knn_rank"] == 2 and results[0].explain["peak_rank"] == 1
    assert results[0].confidence == pytest.approx(confidence(0.6), rel=1e-4)
    # both lists honour the filter: kNN among Lhotse photos (a, b), peak list among those (b)
    narrowed = searcher.text("Ama Dablam", SearchFilters(peaks=("Lhotse",)), k=5)
    assert [r.hit.id for r in narrowed] == ["b", "a"]
    assert [r.explain["rrf"] for r in narrowed] == pytest.approx([1 / 62 + 1 / 61, 1 / 61])
    plain = searcher.photos_for(searcher.text_vector("Ama Dablam", None), None, k=2)  # no peak: plain kNN
    assert all(set(r.explain) == {"knn_score"} for r in plain)


def test_a_peak_query_uses_the_stored_text_prototype_only_when_built_alike(make_searcher) -> None:  # type: ignore[no-untyped-def]
    stored = with_cosine(Q_AMA, 0.0, 9)
    ama = PeakDoc("ama-dablam", ["Ama Dablam"], stored, text_vector=stored)
    photos = [photo("near-stored", stored, ["Ama Dablam"]), photo("near-query", Q_AMA.astype(np.float32))]
    searcher = make_searcher(photos, [ama])
    searcher.store.set_meta({"catalog_model": "recording", "catalog_anti_concept_weight": repr(0.25)})
    assert searcher.text("Ama Dablam", k=1)[0].hit.id == "near-stored"
    assert searcher.embedder.texts == []  # no text tower at all
    other = make_searcher(photos, [ama])
    other.store.set_meta({"catalog_model": "another model", "catalog_anti_concept_weight": repr(0.25)})
    np.testing.assert_allclose(
        other.text_vector("Ama Dablam", other.query_names_peak("Ama Dablam")), Q_AMA, atol=1e-6
    )
    weight = make_searcher(photos, [ama])
    weight.store.set_meta({"catalog_model": "recording", "catalog_anti_concept_weight": repr(0.5)})
    np.testing.assert_allclose(
        weight.text_vector("Ama Dablam", weight.query_names_peak("Ama Dablam")), Q_AMA, atol=1e-6
    )


def test_bad_queries_are_one_clear_line(make_searcher) -> None:  # type: ignore[no-untyped-def]
    searcher = make_searcher([photo("p1", with_cosine(Q_FLAGS, 0.9, 1))])
    with pytest.raises(BadInput, match="Type something"):
        searcher.text("   ")
    with pytest.raises(BadInput, match="k must be at least 1, not 0"):
        searcher.text("prayer flags", k=0)
    with pytest.raises(BadInput, match="catalog is empty"):
        searcher.identify(Image.new("RGB", (8, 8)))
    with pytest.raises(BadInput, match="catalog is empty"):
        searcher.similar(Image.new("RGB", (8, 8)))


def test_query_vectors_are_remembered_by_normalised_text_for_the_last_256_queries(make_searcher) -> None:  # type: ignore[no-untyped-def]
    assert normalise_query("  Prayer \t FLAGS ") == "prayer flags"
    searcher = make_searcher([photo("p1", with_cosine(Q_FLAGS, 0.9, 1))])
    embedder: RecordingEmbedder = searcher.embedder  # type: ignore[assignment]
    first = searcher.text_vector("prayer flags", None)
    asked = len(embedder.texts)
    np.testing.assert_array_equal(searcher.text_vector("Prayer  Flags", None), first)
    assert len(embedder.texts) == asked
    for i in range(QUERY_CACHE_SIZE - 1):
        searcher.text_vector(f"query {i}", None)
    searcher.text_vector("prayer flags", None)  # still remembered: 256 queries fit, and this one moves up
    assert len(embedder.texts) == asked + 3 * (QUERY_CACHE_SIZE - 1)
    searcher.text_vector("one more", None)  # evicts the oldest, "query 0"
    searcher.text_vector("prayer flags", None)
    searcher.text_vector("query 0", None)
    assert embedder.texts[-3:] == ["a photo of query 0", "a natural photo of query 0", "query 0"]
    fresh = Searcher(searcher.settings, searcher.store, searcher.embedder, catalog=searcher.catalog)
    fresh.text_vector("prayer flags", None)
    assert embedder.texts[-3:] == FLAGS


def test_a_new_catalog_build_is_seen_at_the_next_query(make_searcher) -> None:  # type: ignore[no-untyped-def]
    searcher = make_searcher([photo("p1", with_cosine(Q_FLAGS, 0.9, 1))], PEAKS[:1])
    assert searcher.resolve_peak("Lhotse") is None
    searcher.store.upsert_peaks(PEAKS[1:])
    assert searcher.resolve_peak("lhotse") is None, "same fingerprint: the catalog read is reused"
    searcher.store.set_meta({**searcher.store.get_meta(), "catalog_fingerprint": "rebuilt"})
    assert searcher.resolve_peak("lhotse") == "Lhotse"


def _result(name: str, score: float, shot: datetime | None) -> Result:
    return Result(PhotoHit(name, f"{name}.jpg", score, [], [], None, shot))


def test_sort_by_time_orders_utc_instants_with_naive_times_as_utc_and_undated_last() -> None:
    kathmandu = timezone(timedelta(hours=5, minutes=45))
    results = [
        _result("undated-low", 0.6, None),
        _result("naive-03z", 0.7, datetime(2023, 10, 21, 3, 0)),
        _result("undated-high", 0.9, None),
        _result("local-0215z", 0.5, datetime(2023, 10, 21, 8, 0, tzinfo=kathmandu)),
        _result("same-0215z-higher", 0.8, datetime(2023, 10, 21, 2, 15, tzinfo=timezone.utc)),
        _result("utc-01z", 0.55, datetime(2023, 10, 21, 1, 0, tzinfo=timezone.utc)),
    ]
    assert [r.hit.id for r in sort_results(results, "time")] == [
        "utc-01z",
        "same-0215z-higher",
        "local-0215z",
        "naive-03z",
        "undated-high",
        "undated-low",
    ]
    assert sort_results(results, "score") == results


def test_identify_similar_and_looks_like(make_searcher) -> None:  # type: ignore[no-untyped-def]
    image = Image.new("RGB", (8, 8))
    seed = RecordingEmbedder().embed_images([image])[0]
    peaks = [
        PeakDoc("ama-dablam", ["Ama Dablam"], with_cosine(seed, 0.8, 1)),
        PeakDoc("lhotse", ["Lhotse"], with_cosine(seed, 0.4, 2)),
        PeakDoc("pumori", ["Pumori"], with_cosine(seed, -0.2, 3)),
        PeakDoc("nuptse", ["Nuptse"], with_cosine(seed, 0.1, 4)),
    ]
    photos = [
        photo("x", with_cosine(seed, 0.9, 5), ["Lhotse"]),
        photo("y", with_cosine(seed, 0.7, 6), ["Ama Dablam"]),
        photo("z", with_cosine(seed, 0.2, 7), ["Ama Dablam"]),
    ]
    searcher = make_searcher(photos, peaks)
    searcher.embedder.embed_images = _only(image, seed)  # type: ignore[method-assign]
    found = searcher.identify(image)
    assert [p.name for p in found] == ["Ama Dablam", "Lhotse", "Nuptse"]
    assert [p.score for p in found] == pytest.approx([0.9, 0.7, 0.55], abs=1e-5)
    assert [p.name for p in searcher.identify(image, k=1)] == ["Ama Dablam"]
    similar = searcher.similar(image, k=5)
    assert [p.name for p in similar.peaks] == ["Ama Dablam", "Lhotse", "Nuptse"]
    assert [r.hit.id for r in similar.photos] == ["y", "z"]  # photos of the top peak, by visual similarity
    assert [r.hit.id for r in searcher.similar(image, k=1).photos] == ["y"]
    assert [r.hit.id for r in searcher.looks_like(image, k=2)] == ["x", "y"]
    other = with_cosine(seed, 0.0, 8)  # a vector given: the image is not embedded at all
    searcher.embedder.embed_images = _only(None, seed)  # type: ignore[method-assign]
    assert [r.hit.id for r in searcher.looks_like(image, k=1, vector=other)] == [
        max(photos, key=lambda p: float(p.vector @ other)).id
    ]
    assert searcher.similar(image, k=1, vector=seed).peaks[0].name == "Ama Dablam"
    assert all(r.confidence is None for r in similar.photos)
    assert dict(searcher.facets()) == {"Lhotse": 1, "Ama Dablam": 2}


class RecordingStore:
    """The real store, with every knn_photos / rank_photos call recorded."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.calls: list[tuple[object, ...]] = []

    def knn_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ):  # type: ignore[no-untyped-def]
        self.calls.append(("knn_photos", k, num_candidates, filters))
        return self.store.knn_photos(vector, k, num_candidates, filters)

    def rank_photos(
        self, vector: np.ndarray, k: int, num_candidates: int, filters: SearchFilters | None = None
    ):  # type: ignore[no-untyped-def]
        self.calls.append(("rank_photos", k, num_candidates, filters))
        return self.store.rank_photos(vector, k, num_candidates, filters)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def _only(image: Image.Image | None, vector: np.ndarray):  # type: ignore[no-untyped-def]
    """A stand-in for embed_images that knows one image (and fails on any other)."""

    def embed(images: Sequence[Image.Image]) -> np.ndarray:
        assert all(i is image for i in images), "embedded something other than the photo given"
        return np.array([vector for _ in images], dtype=np.float32)

    return embed


def _recording(searcher: Searcher) -> RecordingStore:
    recorder = RecordingStore(searcher.store)  # type: ignore[arg-type]
    searcher.store = recorder  # type: ignore[assignment]
    return recorder


def test_the_engine_is_asked_for_k_out_of_num_candidates(make_searcher) -> None:  # type: ignore[no-untyped-def]
    photos = [photo("a", with_cosine(Q_AMA, 0.9, 1), ["Ama Dablam"]), photo("b", with_cosine(Q_AMA, 0.5, 2))]
    searcher = make_searcher(photos, PEAKS, num_candidates=40)
    store = _recording(searcher)
    searcher.text("prayer flags", k=3, num_candidates=50)
    searcher.text("prayer flags", k=3)  # the settings' 40
    searcher.text("Ama Dablam", k=3, num_candidates=50)  # fusion runs over the whole window
    lhotse = SearchFilters(peaks=("Lhotse",))
    searcher.text("Ama Dablam", lhotse, k=3, num_candidates=50)  # a peak filter: one list, narrowed after
    searcher.similar(Image.new("RGB", (8, 8)), k=2, vector=np.asarray(photos[0].vector))
    assert store.calls == [
        ("rank_photos", 3, 50, None),
        ("rank_photos", 3, 40, None),
        ("rank_photos", 50, 50, None),
        ("rank_photos", 50, 50, SearchFilters(peaks=("Ama Dablam",))),
        ("rank_photos", 50, 50, lhotse),
        ("knn_photos", 50, 50, lhotse),
        ("knn_photos", 2, 40, SearchFilters(peaks=("Ama Dablam",))),
    ]


def test_a_result_exactly_at_the_cut_is_kept(make_searcher) -> None:  # type: ignore[no-untyped-def]
    searcher = make_searcher(
        [photo("p1", with_cosine(Q_FLAGS, 0.9, 1)), photo("p2", with_cosine(Q_FLAGS, 0.5, 2))]
    )
    second = searcher.text("prayer flags", k=2)[1]
    assert second.confidence is not None
    kept = searcher.text("prayer flags", k=2, min_confidence=second.confidence)
    assert [r.hit.id for r in kept] == ["p1", "p2"] and kept.dropped_below_confidence == 0


def test_an_empty_result_list_says_nothing_was_cut() -> None:
    from peaklens.search import ResultList

    empty = ResultList()
    assert empty == [] and empty.dropped_below_confidence == 0 and empty.min_confidence == 0.0


def test_evaluation_ablations_embed_the_query_differently(make_searcher) -> None:  # type: ignore[no-untyped-def]
    raw = by_hand(["prayer flags"], 0.25)  # the query alone, minus the anti-concept
    no_anti = by_hand(FLAGS, 0.0)  # the ensemble without the anti-concept
    ama_no_anti = by_hand(AMA_DABLAM_PROMPTS, 0.0)
    photos = [
        photo("ensemble", Q_FLAGS.astype(np.float32)),
        photo("raw", raw.astype(np.float32)),
        photo("raw-no-anti", by_hand(["prayer flags"], 0.0).astype(np.float32)),
        photo("no-anti", no_anti.astype(np.float32)),
        photo("ama-no-anti", ama_no_anti.astype(np.float32), ["Ama Dablam"]),
    ]
    searcher = make_searcher(photos, PEAKS)
    assert searcher.text("prayer flags", k=1)[0].hit.id == "ensemble"
    raw_top = rank_variant(searcher, "prayer flags", Variant("raw", False, True), k=1)[0]  # anti-concept kept
    assert raw_top.hit.id == "raw" and raw_top.hit.score == pytest.approx(1.0, abs=1e-5)
    assert rank_variant(searcher, "prayer flags", Variant("no anti", True, False), k=1)[0].hit.id == "no-anti"
    top = rank_variant(searcher, "Ama Dablam", Variant("no anti", True, False), k=1)[0]  # peak prompts
    assert top.hit.id == "ama-no-anti" and top.hit.score == pytest.approx(1.0, abs=1e-5)


def test_messages_are_exact(make_searcher) -> None:  # type: ignore[no-untyped-def]
    searcher = make_searcher([photo("p1", with_cosine(Q_FLAGS, 0.9, 1))])
    with pytest.raises(BadInput) as empty_query:
        searcher.text("")
    assert str(empty_query.value) == 'Type something to search for, e.g. "prayer flags" or "Ama Dablam".'
    for action in (searcher.identify, searcher.similar):
        with pytest.raises(BadInput) as no_catalog:
            action(Image.new("RGB", (8, 8)))
        assert str(no_catalog.value) == "The peaks catalog is empty: run `peaklens catalog build` first."


def test_filters_reach_looks_like_and_facets(make_searcher) -> None:  # type: ignore[no-untyped-def]
    image = Image.new("RGB", (8, 8))
    seed = RecordingEmbedder().embed_images([image])[0]
    photos = [
        photo("x", with_cosine(seed, 0.9, 5), ["Lhotse"]),
        photo("y", with_cosine(seed, 0.7, 6), ["Ama Dablam"]),
    ]
    searcher = make_searcher(photos, PEAKS, num_candidates=40)
    searcher.embedder.embed_images = lambda images: np.array([seed for _ in images])  # type: ignore[method-assign]
    store = _recording(searcher)
    only_ama = SearchFilters(peaks=("Ama Dablam",))
    assert [r.hit.id for r in searcher.looks_like(image, k=5, filters=only_ama)] == ["y"]
    assert store.calls == [("knn_photos", 5, 40, only_ama)]
    assert dict(searcher.facets(only_ama)) == {"Ama Dablam": 1}


TENGBOCHE = GeoPoint(27.8361, 86.7644)
AMA, EVEREST, KANGTEGA = GeoPoint(27.862, 86.861), GeoPoint(27.9881, 86.925), GeoPoint(27.7906, 86.8103)


def test_identify_and_similar_with_a_camera_rank_by_the_geo_prior(make_searcher) -> None:  # type: ignore[no-untyped-def]
    eye = np.eye(DIM, dtype=np.float32)
    peaks = [
        PeakDoc("ama-dablam", ["Ama Dablam"], eye[0], AMA, 6812),
        PeakDoc("mount-everest", ["Mount Everest"], eye[1], EVEREST, 8849),
        PeakDoc("kangtega", ["Kangtega"], eye[2], KANGTEGA, 6782),
    ]
    cosines = np.array([0.30, 0.32, 0.25])  # Everest looks best ...
    seed = np.zeros(DIM)
    seed[:3] = cosines
    seed[3] = math.sqrt(1 - float(cosines @ cosines))
    photos = [photo("ama-1", eye[0], ["Ama Dablam"]), photo("everest-1", eye[1], ["Mount Everest"])]
    searcher = make_searcher(photos, peaks, geo_weight=1.0)
    image = Image.new("RGB", (8, 8))
    searcher.embedder.embed_images = _only(image, seed.astype(np.float32))  # type: ignore[method-assign]
    no_camera = searcher.identify(image)
    assert [p.name for p in no_camera] == ["Mount Everest", "Ama Dablam", "Kangtega"]
    assert all(p.fused_score is None for p in no_camera)  # no camera: the geo prior took no part
    # ... but the camera at Tengboche faces Kangtega: Everest is 100° off, Ama Dablam 68°
    camera = Camera(TENGBOCHE, 3860.0, initial_bearing_deg(TENGBOCHE, KANGTEGA), 60.0)
    priors = [view.prior for view in PeakPredictor(peaks, 3).views(camera)]  # type: ignore[union-attr]
    fused = cosines + 1.0 * 0.05 * np.log(priors)
    found = searcher.identify(image, camera=camera)
    assert [p.name for p in found] == [peaks[i].name for i in np.argsort(-fused, kind="stable")]
    assert found[0].name == "Ama Dablam" and found[-1].name == "Mount Everest"
    by_id = {p.id: p for p in found}
    for i, peak_doc in enumerate(peaks):
        assert by_id[peak_doc.id].score == pytest.approx((1 + cosines[i]) / 2, abs=1e-5)
        assert by_id[peak_doc.id].fused_score == pytest.approx((1 + fused[i]) / 2, abs=1e-5)
        assert (by_id[peak_doc.id].latlon, by_id[peak_doc.id].elev_m, by_id[peak_doc.id].names) == (
            peak_doc.latlon,
            peak_doc.elev_m,
            peak_doc.names,
        )
    assert [p.name for p in searcher.identify(image, k=1, camera=camera)] == ["Ama Dablam"]
    similar = searcher.similar(image, k=5, camera=camera)
    assert similar.peaks[0].name == "Ama Dablam" and [r.hit.id for r in similar.photos] == ["ama-1"]
    visual_only = make_searcher(photos, peaks, geo_weight=0.0)
    visual_only.embedder.embed_images = searcher.embedder.embed_images  # type: ignore[method-assign]
    visual = visual_only.identify(image, camera=camera)
    assert visual[0].name == "Mount Everest" and all(p.fused_score is None for p in visual)
