"""One contract, every backend: the same documents and queries give the same answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from peaklens.config import Settings
from peaklens.embed.base import l2_normalise
from peaklens.errors import PeaklensError, StoreUnavailable
from peaklens.records import BBox, GeoPoint, PeakDoc, PhotoDoc, SearchFilters
from peaklens.store.base import PhotoStore
from peaklens.store.embedded import EmbeddedStore
from tests.store.conftest import DIM

NPT = timezone(timedelta(hours=5, minutes=45))


def vec(*values: float) -> np.ndarray:
    full = np.zeros(DIM, dtype=np.float32)
    full[: len(values)] = values
    return l2_normalise(full)


def photo(doc_id: str, vector: np.ndarray, **fields: object) -> PhotoDoc:
    return PhotoDoc(id=doc_id, path=f"trek/{doc_id}.jpg", vector=vector, **fields)  # type: ignore[arg-type]


NAMCHE = GeoPoint(27.8057, 86.7142)
GORAK = GeoPoint(27.9805, 86.8283)
FIJI = GeoPoint(-17.0, 179.5)

ALBUM = [
    photo(
        "ama1",
        vec(1, 0.1),
        predicted_peaks=["Ama Dablam", "Kangtega"],
        peak_scores=[0.8, 0.7],
        gps=NAMCHE,
        shot_time=datetime(2023, 10, 20, 7, 0, tzinfo=NPT),
        file_size=10,
        file_mtime=1.5,
    ),
    photo(
        "ama2",
        vec(1, 0.3),
        predicted_peaks=["Ama Dablam"],
        gps=GORAK,
        shot_time=datetime(2023, 10, 25, 18, 30, tzinfo=NPT),
    ),
    photo(
        "pumori",
        vec(0.2, 1),
        predicted_peaks=["Pumori", "Nuptse"],
        gps=GORAK,
        shot_time=datetime(2023, 10, 26, 6, 0, tzinfo=NPT),
    ),
    photo(
        "everest",
        vec(0, 0.3, 1),
        predicted_peaks=["Mount Everest", "Nuptse"],
        gps=GORAK,
        shot_time=datetime(2023, 10, 26, 9, 0, tzinfo=NPT),
    ),
    photo("dog", vec(0, 0, 0, 1), predicted_peaks=[], shot_time=datetime(2023, 10, 1, 12, 0)),
    photo("fiji", vec(0.9, 0, 0, 0.5), predicted_peaks=["Ama Dablam"], gps=FIJI),
]


@pytest.fixture
def filled(store: PhotoStore) -> PhotoStore:
    report = store.upsert_photos(ALBUM)
    assert sorted(report.written) == sorted(d.id for d in ALBUM) and report.failed == {}
    store.refresh()
    return store


def knn_paths(
    store: PhotoStore, vector: np.ndarray, k: int = 10, filters: SearchFilters | None = None
) -> list[str]:
    return [h.id for h in store.knn_photos(vector, k, 100, filters)]


def test_empty_index_answers_empty(store: PhotoStore) -> None:
    assert store.count_photos() == 0
    assert store.knn_photos(vec(1), 5, 100) == []
    assert store.peak_facets() == []
    assert store.photo_signatures() == {}
    assert store.list_photos() == []
    assert store.all_peaks() == []
    assert store.get_photo("nope") is None and store.get_photo_vector("nope") is None


def test_upsert_twice_keeps_one_document_and_the_second_version_wins(filled: PhotoStore) -> None:
    changed = photo("ama1", vec(0, 0, 0, 0, 1), predicted_peaks=["Lhotse"], file_size=99, file_mtime=2.5)
    assert filled.upsert_photos([changed]).written == ["ama1"]
    filled.refresh()
    assert filled.count_photos() == len(ALBUM)
    hit = filled.get_photo("ama1")
    assert hit is not None and hit.predicted_peaks == ["Lhotse"] and hit.gps is None
    np.testing.assert_allclose(filled.get_photo_vector("ama1"), vec(0, 0, 0, 0, 1), atol=1e-6)
    assert filled.photo_signatures()["ama1"].size == 99 and filled.photo_signatures()["ama1"].mtime == 2.5


def test_delete(filled: PhotoStore) -> None:
    assert filled.delete_photos(["dog", "fiji"]) == 2
    filled.refresh()
    assert filled.count_photos() == len(ALBUM) - 2
    assert "dog" not in filled.photo_signatures()
    assert "dog" not in knn_paths(filled, vec(0, 0, 0, 1))


def test_knn_ranks_the_nearest_first_with_elasticsearch_cosine_scores(filled: PhotoStore) -> None:
    query = vec(1, 0.1)
    hits = filled.knn_photos(query, 3, 100)
    assert [h.id for h in hits] == ["ama1", "ama2", "fiji"]
    for hit in hits:
        cos = float(query @ next(d.vector for d in ALBUM if d.id == hit.id))
        assert hit.score == pytest.approx((1 + cos) / 2, abs=1e-5)
    assert hits[0].path == "trek/ama1.jpg" and hits[0].predicted_peaks == ["Ama Dablam", "Kangtega"]
    assert hits[0].peak_scores == pytest.approx([0.8, 0.7], abs=1e-6)
    assert hits[0].gps == NAMCHE


def test_capture_time_round_trips_with_its_offset(filled: PhotoStore) -> None:
    hit = filled.get_photo("ama1")
    assert hit is not None and hit.shot_time == datetime(2023, 10, 20, 7, 0, tzinfo=NPT)
    assert hit.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
    dog = filled.get_photo("dog")
    assert dog is not None and dog.shot_time == datetime(2023, 10, 1, 12, 0) and dog.shot_time.tzinfo is None


def test_geo_bounding_box_filter(filled: PhotoStore) -> None:
    khumbu = SearchFilters(bbox=BBox(28.1, 86.6, 27.7, 87.0))
    assert sorted(knn_paths(filled, vec(1), filters=khumbu)) == ["ama1", "ama2", "everest", "pumori"]
    around_namche = SearchFilters(bbox=BBox(27.85, 86.65, 27.75, 86.75))
    assert knn_paths(filled, vec(0, 0, 1), filters=around_namche) == ["ama1"]
    assert filled.count_photos(khumbu) == 4


def test_bounding_box_across_the_antimeridian(filled: PhotoStore) -> None:
    pacific = SearchFilters(bbox=BBox(0.0, 170.0, -30.0, -170.0))
    assert knn_paths(filled, vec(1), filters=pacific) == ["fiji"]


def test_time_range_is_inclusive_at_both_ends(filled: PhotoStore) -> None:
    exact = SearchFilters(
        time_from=datetime(2023, 10, 25, 18, 30, tzinfo=NPT), time_to=datetime(2023, 10, 26, 6, 0, tzinfo=NPT)
    )
    assert sorted(knn_paths(filled, vec(1), filters=exact)) == ["ama2", "pumori"]
    same_instant_utc = SearchFilters(
        time_from=datetime(2023, 10, 20, 1, 15, tzinfo=timezone.utc),
        time_to=datetime(2023, 10, 20, 1, 15, tzinfo=timezone.utc),
    )
    assert knn_paths(filled, vec(1), filters=same_instant_utc) == ["ama1"]
    only_from = SearchFilters(time_from=datetime(2023, 10, 26, 0, 0, tzinfo=NPT))
    assert sorted(knn_paths(filled, vec(1), filters=only_from)) == ["everest", "pumori"]


def test_peak_filter_single_and_any_of(filled: PhotoStore) -> None:
    assert sorted(knn_paths(filled, vec(0, 0, 0, 1), filters=SearchFilters(peaks=("Nuptse",)))) == [
        "everest",
        "pumori",
    ]
    either = SearchFilters(peaks=("Pumori", "Kangtega"))
    assert sorted(knn_paths(filled, vec(1), filters=either)) == ["ama1", "pumori"]
    assert knn_paths(filled, vec(1), filters=SearchFilters(peaks=("K2",))) == []
    quoted = SearchFilters(peaks=("O'Brien Peak",))
    assert knn_paths(filled, vec(1), filters=quoted) == []


def test_all_filters_combined(filled: PhotoStore) -> None:
    combined = SearchFilters(
        bbox=BBox(28.1, 86.6, 27.7, 87.0),
        time_from=datetime(2023, 10, 21, tzinfo=NPT),
        time_to=datetime(2023, 10, 31, tzinfo=NPT),
        peaks=("Ama Dablam", "Nuptse"),
    )
    assert knn_paths(filled, vec(0, 0.1, 1), filters=combined) == ["everest", "pumori", "ama2"]


def test_filters_restrict_candidates_before_k_is_taken_never_a_union(filled: PhotoStore) -> None:
    # the two nearest photos overall are Ama Dablam photos; the filter must still give k photos of Nuptse
    hits = filled.knn_photos(vec(1, 0.1), 2, 100, SearchFilters(peaks=("Nuptse",)))
    assert sorted(h.id for h in hits) == ["everest", "pumori"]
    fenced = filled.knn_photos(vec(1, 0.1), 3, 100, SearchFilters(bbox=BBox(-10, 170, -20, 180)))
    assert [h.id for h in fenced] == ["fiji"]


def test_facet_counts_most_photos_first_then_by_name(filled: PhotoStore) -> None:
    assert filled.peak_facets() == [
        ("Ama Dablam", 3),
        ("Nuptse", 2),
        ("Kangtega", 1),
        ("Mount Everest", 1),
        ("Pumori", 1),
    ]
    khumbu = SearchFilters(bbox=BBox(28.1, 86.6, 27.7, 87.0))
    assert filled.peak_facets(khumbu) == [
        ("Ama Dablam", 2),
        ("Nuptse", 2),
        ("Kangtega", 1),
        ("Mount Everest", 1),
        ("Pumori", 1),
    ]


def test_listing_without_a_query_is_newest_first(filled: PhotoStore) -> None:
    listed = [h.id for h in filled.list_photos()]
    assert listed == ["everest", "pumori", "ama2", "ama1", "dog", "fiji"]
    assert [h.id for h in filled.list_photos(SearchFilters(peaks=("Nuptse",)), limit=1)] == ["everest"]


def test_signatures_for_incremental_runs(filled: PhotoStore) -> None:
    signatures = filled.photo_signatures()
    assert set(signatures) == {d.id for d in ALBUM}
    assert signatures["ama1"].path == "trek/ama1.jpg" and signatures["ama1"].size == 10


def test_a_bad_document_is_reported_by_id_and_the_others_are_written(store: PhotoStore) -> None:
    bad = photo("bad", np.ones(DIM + 3, dtype=np.float32))
    nan = photo("nan", np.full(DIM, np.nan, dtype=np.float32))
    report = store.upsert_photos([ALBUM[0], bad, ALBUM[1], nan])
    assert sorted(report.written) == ["ama1", "ama2"]
    assert sorted(report.failed) == ["bad", "nan"] and "dimension" in report.failed["bad"]
    assert "NaN" in report.failed["nan"]
    store.refresh()
    assert store.count_photos() == 2
    peaks = store.upsert_peaks([PeakDoc("k2", ["K2"], np.ones(DIM + 3, dtype=np.float32))])
    assert peaks.written == [] and list(peaks.failed) == ["k2"]


def test_peaks_catalog_upsert_knn_list_and_clear(store: PhotoStore) -> None:
    peaks = [
        PeakDoc("ama-dablam", ["Ama Dablam", "阿玛达布朗"], vec(1), GeoPoint(27.862, 86.861), 6812),
        PeakDoc("pumori", ["Pumori", "Pumo Ri"], vec(0, 1), GeoPoint(28.015, 86.828), 7161),
        PeakDoc("lhotse", ["Lhotse"], vec(0, 0, 1), None, None),
    ]
    assert sorted(store.upsert_peaks(peaks).written) == ["ama-dablam", "lhotse", "pumori"]
    store.refresh()
    listed = store.all_peaks()
    assert [p.id for p in listed] == ["ama-dablam", "lhotse", "pumori"]
    assert listed[0].names == ["Ama Dablam", "阿玛达布朗"] and listed[0].elev_m == 6812
    np.testing.assert_allclose(listed[2].vector, vec(0, 1), atol=1e-6)
    hits = store.knn_peaks(vec(0.2, 1), 2, 500)
    assert [h.name for h in hits] == ["Pumori", "Ama Dablam"]
    assert hits[0].score == pytest.approx((1 + float(vec(0.2, 1) @ vec(0, 1))) / 2, abs=1e-5)
    store.clear_peaks()
    store.refresh()
    assert store.all_peaks() == [] and store.knn_peaks(vec(1), 3, 500) == []


def test_metadata_round_trip(store: PhotoStore) -> None:
    assert store.get_meta() == {}
    store.set_meta({"album_root": "/photos/ebc", "model": "google/siglip2-base-patch16-224"})
    assert store.get_meta()["album_root"] == "/photos/ebc"


def test_creating_indices_is_idempotent_and_a_dimension_change_is_refused(store: PhotoStore) -> None:
    store.ensure_indices(DIM)
    with pytest.raises(Exception, match=f"holds {DIM}-d vectors"):
        store.ensure_indices(DIM * 2)


def test_a_query_vector_of_another_dimension_is_one_clear_error(filled: PhotoStore) -> None:
    filled.upsert_peaks([PeakDoc("k2", ["K2"], vec(1))])
    filled.refresh()
    wrong = np.ones(DIM - 3, dtype=np.float32)
    with pytest.raises(PeaklensError, match=r"dimensions|-d vectors") as caught:
        filled.knn_photos(wrong, 3, 10)
    assert "\n" not in str(caught.value)
    with pytest.raises(PeaklensError, match=r"dimensions|-d vectors"):
        filled.knn_peaks(wrong, 3, 10)


def test_a_damaged_embedded_store_is_one_line_naming_its_folder(tmp_path: Path) -> None:
    settings = Settings(store="embedded", data_dir=tmp_path / "store")
    store = EmbeddedStore(settings)
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)
    for part in (tmp_path / "store" / "lancedb").glob("*.lance/**/*"):
        if part.is_file():
            part.write_bytes(b"garbage")
    reopened = EmbeddedStore(settings)
    for action in (
        reopened.count_photos,
        lambda: reopened.knn_photos(vec(1), 3, 10),
        reopened.photo_signatures,
    ):
        with pytest.raises(StoreUnavailable) as caught:
            action()
        message = str(caught.value)
        assert str(tmp_path / "store") in message and "\n" not in message and ".rs:" not in message


# --- the embedded store keeps the contract once its ANN index exists --------------------------------------
def _clustered(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    centres = rng.normal(size=(20, dim))
    points = centres[rng.integers(0, 20, rows)] + 0.7 * rng.normal(size=(rows, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def _exact_top(vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return [ids[i] for i in order]


def test_embedded_ann_index_is_built_on_refresh_and_answers_like_exact_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peaklens.store import embedded

    monkeypatch.setattr(embedded, "ANN_MIN_ROWS", 1000)
    dim, rng = 32, np.random.default_rng(7)
    vectors = _clustered(rng, 3000, dim)
    ids = [f"p{i:04d}" for i in range(len(vectors))]
    peaks = [["Rare"] if i % 300 == 0 else ["Even"] if i % 2 == 0 else ["Odd"] for i in range(len(ids))]
    store = embedded.EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store"))
    store.ensure_indices(dim)
    docs = [photo(i, v, predicted_peaks=p) for i, v, p in zip(ids, vectors, peaks, strict=True)]
    for start in range(0, 2500, 500):
        assert store.upsert_photos(docs[start : start + 500]).failed == {}
    table = store._table(store.photos_name)
    assert store._ann_index(table) is None  # no index until the run's refresh
    store.refresh()
    index = store._ann_index(table)
    assert index is not None

    queries = _clustered(rng, 30, dim)
    recall = 0.0
    for query in queries:
        hits = store.knn_photos(query, 10, 200)
        truth = _exact_top(vectors[:2500], ids[:2500], query, 10)
        recall += len({h.id for h in hits} & set(truth)) / 10
        for hit in hits:  # re-ranked with the full vectors: exact Elasticsearch-style scores
            cos = float(vectors[ids.index(hit.id)] @ query)
            assert hit.score == pytest.approx((1 + cos) / 2, abs=1e-5)
    assert recall / len(queries) >= 0.98

    even = SearchFilters(peaks=("Even",))  # 1250 matches: the ANN path with a prefilter
    hits = store.knn_photos(queries[0], 10, 200, even)
    assert len(hits) == 10 and all(h.predicted_peaks == ["Even"] for h in hits)
    rare = SearchFilters(peaks=("Rare",))  # 9 matches: exact, never a sparse graph walk
    rare_ids = [i for i, p in zip(ids[:2500], peaks, strict=False) if p == ["Rare"]]
    rare_vectors = np.stack([vectors[ids.index(i)] for i in rare_ids])
    assert [h.id for h in store.knn_photos(queries[0], 5, 200, rare)] == _exact_top(
        rare_vectors, rare_ids, queries[0], 5
    )

    assert store.upsert_photos(docs[2500:]).failed == {}
    store.refresh()  # 3000 < 2 x 2500: the new rows are folded into the index, not retrained
    stats = table.index_stats(store._ann_index(table).name)
    assert stats.num_indexed_rows == 3000 and stats.num_unindexed_rows == 0
    assert store.knn_photos(vectors[2999], 1, 200)[0].id == ids[2999]


def test_embedded_small_tables_search_exactly_even_with_an_index(tmp_path: Path) -> None:
    store = EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store"))
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)
    assert store.create_ann_index() is False  # below ANN_MIN_ROWS nothing is built
    assert store.create_ann_index(force=True) is True
    query = vec(1, 0.1)
    assert [h.id for h in store.knn_photos(query, 3, 3)] == ["ama1", "ama2", "fiji"]
