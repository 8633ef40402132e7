"""One contract, every backend: the same documents and queries give the same answers."""

from __future__ import annotations

import time
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from peaklens.config import Settings
from peaklens.embed.base import l2_normalise
from peaklens.errors import PeaklensError, StoreUnavailable
from peaklens.records import BBox, GeoPoint, PeakDoc, PhotoDoc, PhotoUpdate, SearchFilters
from peaklens.store import vectors
from peaklens.store.base import PhotoStore
from peaklens.store.embedded import EmbeddedStore
from peaklens.store.upkeep import StoreUpkeepWarning, refresh_and_report
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
    assert store.knn_photos(vec(1), 5, 100) == [] and store.rank_photos(vec(1), 5, 100) == []
    assert store.get_photos(["nope"]) == []
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


def test_a_ranking_is_the_knn_answer_without_the_documents(filled: PhotoStore) -> None:
    duplicate = photo(
        "ama1-copy", vec(1, 0.1), predicted_peaks=["Ama Dablam"]
    )  # ties with ama1: path decides
    filled.upsert_photos([duplicate])
    filled.refresh()
    for query, filters in (
        (vec(1, 0.1), None),
        (vec(0, 0.1, 1), SearchFilters(peaks=("Nuptse", "Ama Dablam"))),
        (vec(1, 0), SearchFilters(bbox=BBox(28, 86, 27, 87))),
    ):
        ranked = filled.rank_photos(query, 5, 100, filters)
        hits = filled.knn_photos(query, 5, 100, filters)
        assert [(r.id, r.path) for r in ranked] == [(h.id, h.path) for h in hits]
        assert [r.score for r in ranked] == pytest.approx([h.score for h in hits], abs=1e-6)
    top = filled.rank_photos(vec(1, 0.1), 2, 100)
    assert [r.id for r in top] == [
        "ama1-copy",
        "ama1",
    ]  # equal scores: "trek/ama1-copy.jpg" < "trek/ama1.jpg"
    assert top[0].score == pytest.approx(1.0, abs=1e-6) and top[0].cosine == pytest.approx(1.0, abs=1e-5)
    assert filled.rank_photos(vec(1), 0, 100) == []


def test_photos_are_fetched_by_id_in_the_order_asked(filled: PhotoStore) -> None:
    fetched = filled.get_photos(["pumori", "nope", "ama1", "pumori"])
    assert [h.id for h in fetched] == ["pumori", "ama1"]
    assert fetched == [filled.get_photo("pumori"), filled.get_photo("ama1")]
    assert fetched[1].predicted_peaks == ["Ama Dablam", "Kangtega"] and fetched[1].gps == NAMCHE
    assert filled.get_photos([]) == []
    filled.delete_photos(["ama1"])
    filled.refresh()
    assert [h.id for h in filled.get_photos(["ama1", "dog"])] == ["dog"]


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


# --- local calendar days, frame peaks, heading corrections (issues 9-11) ------------------------------------
DAY = date(2023, 10, 21)
LOCAL_ALBUM = [
    # 00:30 and 05:30 on 21 October in Nepal are 18:45 and 23:45 UTC on the 20th
    photo(
        "night",
        vec(1),
        shot_time=datetime(2023, 10, 21, 0, 30, tzinfo=NPT),
        local_time=datetime(2023, 10, 21, 0, 30),
        time_source="DateTimeOriginal+OffsetTimeOriginal",
        peaks_in_frame=["Ama Dablam", "Thamserku"],
        heading_deg=140.0,
        heading_offset_deg=-3.5,
        heading_source="skyline",
    ),
    photo(
        "dawn", vec(1, 0.2), shot_time=datetime(2023, 10, 21, 5, 30, tzinfo=NPT), peaks_in_frame=["Lhotse"]
    ),
    # a camera without zone: its clock is the local day, and the instant counts as UTC
    photo("naive", vec(1, 0.4), shot_time=datetime(2023, 10, 21, 23, 0), peaks_in_frame=["Lhotse", "Nuptse"]),
    photo("before", vec(1, 0.6), shot_time=datetime(2023, 10, 20, 23, 0, tzinfo=NPT)),
    photo("untimed", vec(1, 0.8)),
]


@pytest.fixture
def local(store: PhotoStore) -> PhotoStore:
    assert store.upsert_photos(LOCAL_ALBUM).failed == {}
    store.refresh()
    return store


def test_new_photo_fields_round_trip(local: PhotoStore) -> None:
    hit = local.get_photo("night")
    assert hit is not None
    assert hit.local_time == datetime(2023, 10, 21, 0, 30) and hit.local_time.tzinfo is None
    assert hit.time_source == "DateTimeOriginal+OffsetTimeOriginal"
    assert hit.peaks_in_frame == ["Ama Dablam", "Thamserku"]
    assert hit.heading_offset_deg == pytest.approx(-3.5) and hit.heading_source == "skyline"
    bare = local.get_photo("untimed")
    assert bare is not None and bare.local_time is None and bare.peaks_in_frame == []
    assert bare.heading_offset_deg is None and bare.heading_source is None and bare.time_source is None
    knn = local.knn_photos(vec(1), 1, 10)[0]
    assert knn.id == "night" and knn.peaks_in_frame == ["Ama Dablam", "Thamserku"]


def test_position_and_heading_sources_round_trip(store: PhotoStore) -> None:
    placed = photo(
        "placed",
        vec(1),
        gps=NAMCHE,
        gps_source="gpx",
        heading_deg=88.3,
        heading_ref="M",
        declination_deg=-11.7,
    )
    assert store.upsert_photos([placed, photo("plain", vec(0, 1))]).failed == {}
    store.refresh()
    for hit in (store.get_photo("placed"), store.knn_photos(vec(1), 1, 10)[0], store.list_photos()[0]):
        assert hit is not None and hit.id == "placed"
        assert (hit.gps_source, hit.heading_ref) == ("gpx", "M")
        assert hit.declination_deg == pytest.approx(-11.7) and hit.heading_deg == pytest.approx(88.3)
    bare = store.get_photo("plain")
    assert bare is not None and (bare.gps_source, bare.heading_ref, bare.declination_deg) == (
        None,
        None,
        None,
    )


def test_an_index_from_before_the_position_sources_gets_their_fields(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A store written by an older peaklens (no gps_source, heading_ref, declination_deg) takes them on open."""
    from peaklens.store.embedded import photos_schema
    from peaklens.store.factory import open_store
    from tests.store.conftest import backend_settings

    for backend in ("embedded", "noida"):
        settings = backend_settings(backend, tmp_path / backend, request)
        store = open_store(settings)
        new = ("gps_source", "heading_ref", "declination_deg")
        if backend == "embedded":
            old = pa.schema([f for f in photos_schema(DIM) if f.name not in new])
            store.db.create_table(settings.photos_index, schema=old)  # type: ignore[attr-defined]
        else:
            from peaklens.store.elastic import photos_mapping

            props = {k: v for k, v in photos_mapping(DIM)["properties"].items() if k not in new}
            store.es.indices.create(index=settings.photos_index, mappings={"properties": props})  # type: ignore[attr-defined]
        store.ensure_indices(DIM)
        if backend == "noida":
            mapping = store.es.indices.get_mapping(index=settings.photos_index)  # type: ignore[attr-defined]
            held = next(iter(dict(mapping).values()))["mappings"]["properties"]
            assert held["gps_source"] == held["heading_ref"] == {"type": "keyword"}
            assert held["declination_deg"] == {"type": "float"}
        placed = photo("placed", vec(1), gps=NAMCHE, gps_source="gpx", heading_ref="M", declination_deg=-1.5)
        assert store.upsert_photos([placed]).failed == {}
        store.refresh()
        hit = store.get_photo("placed")
        assert hit is not None and (hit.gps_source, hit.heading_ref, hit.declination_deg) == (
            "gpx",
            "M",
            -1.5,
        )
        if backend == "noida":
            for index in (settings.photos_index, settings.peaks_index, f"{settings.photos_index}-meta"):
                store.es.options(ignore_status=404).indices.delete(index=index)  # type: ignore[attr-defined]
        store.close()


def test_a_day_filter_means_the_local_calendar_day_an_instant_range_means_instants(local: PhotoStore) -> None:
    on_the_day = SearchFilters(day_from=DAY, day_to=DAY)
    assert sorted(knn_paths(local, vec(1), filters=on_the_day)) == ["dawn", "naive", "night"]
    assert local.count_photos(on_the_day) == 3
    assert sorted(h.id for h in local.list_photos(on_the_day)) == ["dawn", "naive", "night"]
    utc_day = SearchFilters(
        time_from=datetime(2023, 10, 21, tzinfo=timezone.utc),
        time_to=datetime(2023, 10, 21, 23, 59, 59, tzinfo=timezone.utc),
    )
    assert knn_paths(local, vec(1), filters=utc_day) == ["naive"]  # the Nepal photos were on the 20th in UTC
    assert knn_paths(local, vec(1), filters=SearchFilters(day_to=date(2023, 10, 20))) == ["before"]
    assert sorted(knn_paths(local, vec(1), filters=SearchFilters(day_from=DAY))) == ["dawn", "naive", "night"]
    assert local.peak_facets(on_the_day, field="peaks_in_frame") == [
        ("Lhotse", 2),
        ("Ama Dablam", 1),
        ("Nuptse", 1),
        ("Thamserku", 1),
    ]


def test_peaks_in_frame_filter_is_any_of_and_combines_with_the_others(local: PhotoStore) -> None:
    lhotse = SearchFilters(peaks_in_frame=("Lhotse",))
    assert knn_paths(local, vec(1), filters=lhotse) == ["dawn", "naive"]
    either = SearchFilters(peaks_in_frame=("Thamserku", "Nuptse"))
    assert sorted(knn_paths(local, vec(1), filters=either)) == ["naive", "night"]
    assert local.count_photos(either) == 2
    both = SearchFilters(peaks_in_frame=("Lhotse",), day_from=DAY, day_to=DAY, time_to=datetime(2023, 10, 21))
    assert knn_paths(local, vec(1), filters=both) == ["dawn"]
    assert knn_paths(local, vec(1), filters=SearchFilters(peaks_in_frame=("K2",))) == []


def test_listing_sorts_by_the_utc_instant_whatever_the_server_zone(
    local: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    try:
        listed = [h.id for h in local.list_photos()]
    finally:
        monkeypatch.undo()
        time.tzset()
    # naive 23:00 counts as 23:00Z; 05:30+05:45 is 23:45Z the day before; 00:30+05:45 is 18:45Z; 23:00+05:45 is 17:15Z
    assert listed == ["naive", "dawn", "night", "before", "untimed"]


def test_facets_over_frame_peaks_and_an_unknown_field_is_refused(local: PhotoStore) -> None:
    assert local.peak_facets(field="peaks_in_frame", size=2) == [("Lhotse", 2), ("Ama Dablam", 1)]
    assert local.peak_facets(field="predicted_peaks") == []
    with pytest.raises(PeaklensError, match="predicted_peaks, peaks_in_frame"):
        local.peak_facets(field="path")


def test_update_photos_changes_only_the_given_fields_and_keeps_the_vector(filled: PhotoStore) -> None:
    report = filled.update_photos(
        {
            "ama1": PhotoUpdate(
                predicted_peaks=["Lhotse"], peak_scores=[0.9], heading_offset_deg=4.0, heading_source="user"
            ),
            "dog": PhotoUpdate(peaks_in_frame=["Pumori"], extra={"note": "Ama Dablam hidden"}),
            "ghost": PhotoUpdate(predicted_peaks=["K2"]),
        }
    )
    assert sorted(report.written) == ["ama1", "dog"] and list(report.failed) == ["ghost"]
    filled.refresh()
    assert filled.count_photos() == len(ALBUM)
    ama1 = filled.get_photo("ama1")
    assert (
        ama1 is not None and ama1.predicted_peaks == ["Lhotse"] and ama1.peak_scores == pytest.approx([0.9])
    )
    assert ama1.heading_offset_deg == 4.0 and ama1.heading_source == "user"
    assert ama1.gps == NAMCHE and ama1.shot_time == datetime(2023, 10, 20, 7, 0, tzinfo=NPT)  # untouched
    kept = filled.get_photo_vector("ama1")
    assert kept is not None
    np.testing.assert_allclose(kept, vec(1, 0.1), atol=1e-6)
    dog = filled.get_photo("dog")
    assert dog is not None and dog.peaks_in_frame == ["Pumori"] and dog.extra == {"note": "Ama Dablam hidden"}
    assert knn_paths(filled, vec(1, 0.1), filters=SearchFilters(peaks=("Lhotse",))) == ["ama1"]
    assert knn_paths(filled, vec(1), filters=SearchFilters(peaks_in_frame=("Pumori",))) == ["dog"]
    best = filled.knn_photos(vec(1, 0.1), 1, 10)[0]
    assert best.id == "ama1" and best.score == pytest.approx(1.0, abs=1e-5)


def test_iter_photo_vectors_yields_every_photo_with_its_vector_in_batches(filled: PhotoStore) -> None:
    batches = list(filled.iter_photo_vectors(batch_size=4))
    assert [len(b) for b in batches] == [4, 2]
    seen = {hit.id: (hit, vector) for batch in batches for hit, vector in batch}
    assert set(seen) == {d.id for d in ALBUM}
    for doc in ALBUM:
        hit, vector = seen[doc.id]
        np.testing.assert_allclose(vector, doc.vector, atol=1e-6)
        assert hit.path == doc.path and hit.predicted_peaks == doc.predicted_peaks


def test_peaks_keep_their_text_vector_beside_the_blended_one(store: PhotoStore) -> None:
    peaks = [
        PeakDoc("pumori", ["Pumori"], vec(0, 1), text_vector=vec(0, 1, 0.5)),
        PeakDoc("lhotse", ["Lhotse"], vec(0, 0, 1)),
    ]
    assert sorted(store.upsert_peaks(peaks).written) == ["lhotse", "pumori"]
    store.refresh()
    lhotse, pumori = store.all_peaks()
    assert lhotse.text_vector is None
    assert pumori.text_vector is not None
    np.testing.assert_allclose(pumori.text_vector, vec(0, 1, 0.5), atol=1e-6)
    np.testing.assert_allclose(pumori.vector, vec(0, 1), atol=1e-6)
    assert [h.id for h in store.knn_peaks(vec(0, 1), 1, 10)] == ["pumori"]


# --- the embedded store: writes in bulk_size commits, honest upkeep, honest error advice -------------------
def test_embedded_writes_one_commit_per_bulk_size_photos(tmp_path: Path) -> None:
    store = EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store", bulk_size=2))
    store.ensure_indices(DIM)
    table = store._table(store.photos_name)
    assert table is not None
    before = len(table.list_versions())
    assert len(store.upsert_photos(ALBUM[:5]).written) == 5
    assert len(table.list_versions()) - before == 3  # 2 + 2 + 1
    assert store.update_photos({d.id: PhotoUpdate(heading_source="user") for d in ALBUM[:5]}).failed == {}
    assert len(table.list_versions()) - before == 6


def test_a_failed_index_build_is_one_warning_line_not_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store"))
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vectors, "build_matrix", disk_full)
    with pytest.warns(StoreUpkeepWarning) as caught:
        store.refresh()
    assert len(caught) == 1
    line = str(caught[0].message)
    assert "No space left on device" in line and "\n" not in line
    said: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing else may escape as a Python warning
        refresh_and_report(store, said.append)
    assert said == [line]
    monkeypatch.undo()
    assert knn_paths(store, vec(1, 0.1), k=1) == ["ama1"]  # the next search builds it


def test_a_failure_that_is_not_damage_does_not_advise_deleting_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lancedb.table import LanceTable

    store = EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store"))
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)

    def unexpected(*args: object, **kwargs: object) -> int:
        raise ValueError("Invalid user input: unexpected filter expression")

    monkeypatch.setattr(LanceTable, "count_rows", unexpected)
    with pytest.raises(PeaklensError) as caught:
        store.count_photos()
    message = str(caught.value)
    assert "move that folder away" not in message and "index the album again" not in message
    assert "count photos" in message and "unexpected filter expression" in message and "\n" not in message


def test_missing_table_files_are_damage_and_say_so(tmp_path: Path) -> None:
    settings = Settings(store="embedded", data_dir=tmp_path / "store")
    store = EmbeddedStore(settings)
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)
    for part in (tmp_path / "store" / "lancedb" / "photos.lance" / "data").glob("*"):
        part.unlink()
    with pytest.raises(StoreUnavailable, match="move that folder away and index the album again"):
        EmbeddedStore(settings).list_photos()


# --- the embedded store's kNN: float32 below the crossover, an 8-bit scan re-scored above, exact scores always --
def _clustered(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    centres = rng.normal(size=(20, dim))
    points = centres[rng.integers(0, 20, rows)] + 0.5 * rng.normal(size=(rows, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def _exact_top(vectors_: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    order = np.argsort(-(vectors_ @ query), kind="stable")[:k]
    return [ids[i] for i in order]


@pytest.fixture
def small_quantised(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 8-bit path at test size: codes from 1000 photos on, 50 candidates re-scored (or 2 per result)."""
    monkeypatch.setattr(vectors, "QUANTISED_MIN_ROWS", 1000)
    monkeypatch.setattr(vectors, "RESCORE_MIN", 50)


def test_embedded_8bit_scan_answers_like_exact_search_with_exact_scores(
    tmp_path: Path, small_quantised: None
) -> None:
    dim, rng = 32, np.random.default_rng(7)
    vectors_ = _clustered(rng, 3000, dim)
    ids = [f"p{i:04d}" for i in range(len(vectors_))]
    peaks = [["Rare"] if i % 100 == 0 else ["Even"] if i % 2 == 0 else ["Odd"] for i in range(len(ids))]
    store = EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store", bulk_size=1000))
    store.ensure_indices(dim)
    docs = [photo(i, v, predicted_peaks=p) for i, v, p in zip(ids, vectors_, peaks, strict=True)]
    assert store.upsert_photos(docs[:2500]).failed == {}
    store.refresh()
    matrix = store.vector_matrix()
    assert matrix.codes is not None and matrix.rows == 2500  # built by the run's refresh, with 8-bit codes

    queries = _clustered(rng, 30, dim)
    recall = 0.0
    for query in queries:
        hits = store.knn_photos(query, 10, 200)
        truth = _exact_top(vectors_[:2500], ids[:2500], query, 10)
        recall += len({h.id for h in hits} & set(truth)) / 10
        for hit in hits:  # re-scored: the float32 cosine, not the 8-bit estimate
            cos = float(vectors_[ids.index(hit.id)] @ query)
            assert hit.score == pytest.approx((1 + cos) / 2, abs=1e-6)
    assert recall / len(queries) >= 0.98

    even = SearchFilters(peaks=("Even",))  # half the photos: the 8-bit scan with the others set aside
    even_ids = [i for i, p in zip(ids[:2500], peaks, strict=False) if p == ["Even"]]
    even_vectors = np.stack([vectors_[ids.index(i)] for i in even_ids])
    hits = store.knn_photos(queries[0], 10, 200, even)
    assert [h.id for h in hits] == _exact_top(even_vectors, even_ids, queries[0], 10)
    rare = SearchFilters(peaks=("Rare",))  # 1 % of the photos: read exactly, all k of them
    rare_ids = [i for i, p in zip(ids[:2500], peaks, strict=False) if p == ["Rare"]]
    rare_vectors = np.stack([vectors_[ids.index(i)] for i in rare_ids])
    assert [h.id for h in store.knn_photos(queries[0], 10, 200, rare)] == _exact_top(
        rare_vectors, rare_ids, queries[0], 10
    )
    assert len(store.knn_photos(queries[0], 40, 200, rare)) == len(rare_ids) == 25

    assert store.upsert_photos(docs[2500:]).failed == {}  # new vectors: the matrix is rebuilt
    assert store.knn_photos(vectors_[2999], 1, 200)[0].id == ids[2999]
    assert store.vector_matrix().rows == 3000
    store.delete_photos([ids[2999]])
    assert store.knn_photos(vectors_[2999], 1, 200)[0].id != ids[2999]


def test_the_8bit_scan_keeps_k_under_any_filter_and_rescores_enough(tmp_path: Path) -> None:
    dim, rng = 24, np.random.default_rng(11)
    rows = _clustered(rng, 4000, dim)
    matrix = vectors.build_matrix(
        tmp_path / "m",
        [(pa.array([f"r{i}" for i in range(len(rows))]), rows)],
        dim,
        "g",
        quantise_from_rows=0,
    )
    assert matrix.codes is not None and matrix.codes.dtype == np.uint8
    # the codes reproduce every vector to within half a step per dimension
    steps = np.abs(rows).max(axis=0) / 127
    error = np.abs((matrix.codes.astype(np.float32) - 128) * steps - rows)
    assert np.all(error <= steps / 2 + 1e-6)
    query = _clustered(rng, 1, dim)[0]
    for share in (1.0, 0.5, 0.1):  # 10 % keeps the 8-bit scan (gathering starts below 6.25 %)
        allowed = rng.random(len(rows)) < share
        exact = rows @ query
        exact[~allowed] = -np.inf
        for k in (1, 10, 600):
            positions, cosines = vectors.nearest(matrix, query, k, allowed if share < 1 else None)
            want = min(k, int(allowed.sum()))
            assert len(positions) == want and allowed[positions].all()
            np.testing.assert_allclose(cosines, rows[positions] @ query, atol=1e-6)
            assert np.all(np.diff(cosines) <= 1e-7)
            truth = set(np.argsort(-exact)[:want].tolist())
            assert len(truth & set(positions.tolist())) >= 0.98 * want
    assert vectors.rescored(10) == vectors.RESCORE_MIN and vectors.rescored(5000) == 10_000


def test_embedded_matrix_survives_metadata_updates_and_new_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(store="embedded", data_dir=tmp_path / "store")
    store = EmbeddedStore(settings)
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)
    store.refresh()
    built = store.vector_matrix()
    builds: list[object] = []
    original = vectors.build_matrix

    def counted(*args: Any, **kwargs: Any) -> vectors.VectorMatrix:
        builds.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(vectors, "build_matrix", counted)
    store.update_photos({"dog": PhotoUpdate(predicted_peaks=["Pumori"])})
    assert store.vector_matrix() is built
    assert knn_paths(store, vec(0, 0, 0, 1), filters=SearchFilters(peaks=("Pumori",)))[0] == "dog"
    again = EmbeddedStore(settings)  # another process: opens the saved matrix
    assert knn_paths(again, vec(1, 0.1), k=3) == ["ama1", "ama2", "fiji"]
    assert builds == []


def test_embedded_exact_below_the_crossover(tmp_path: Path) -> None:
    store = EmbeddedStore(Settings(store="embedded", data_dir=tmp_path / "store"))
    store.ensure_indices(DIM)
    store.upsert_photos(ALBUM)
    assert store.vector_matrix().codes is None
    assert [h.id for h in store.knn_photos(vec(1, 0.1), 3, 3)] == ["ama1", "ama2", "fiji"]
