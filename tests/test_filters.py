"""What users type or pick as filters becomes exact SearchFilters, or one clear error."""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

from peaklens.errors import BadInput
from peaklens.filters import build_filters, filters_from_ui, parse_bbox, parse_when, utc
from peaklens.records import BBox, GeoPoint, SearchFilters

NPT = timezone(timedelta(hours=5, minutes=45))


def test_bbox_in_elasticsearch_order() -> None:
    assert parse_bbox("28.1, 86.6, 27.7, 87.0") == BBox(28.1, 86.6, 27.7, 87.0)
    assert parse_bbox(None) is None  # the option was not given


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_bbox_is_an_error_not_no_filter(text: str) -> None:
    with pytest.raises(BadInput, match="Bounding box is empty: expected TOP,LEFT,BOTTOM,RIGHT"):
        parse_bbox(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("28.1,86.6,27.7", "TOP,LEFT,BOTTOM,RIGHT"),
        ("a,b,c,d", "TOP,LEFT,BOTTOM,RIGHT"),
        ("27.7,86.6,28.1,87.0", "BOTTOM <= TOP"),
        ("28,190,27,87", "within -180..180"),
        ("nan,86,27,87", "finite"),
        ("95,86,27,87", "BOTTOM <= TOP <= 90"),
        ("28.1,87.0,27.7,86.6", "LEFT 87 is east of RIGHT 86.6; give the western edge first"),
        ("28,-10,27,-20", "LEFT -10 is east of RIGHT -20"),
        ("28,10,27,0", "LEFT 10 is east of RIGHT 0"),
    ],
)
def test_bad_bbox_says_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_bbox(text)


def test_a_box_across_the_antimeridian_is_kept() -> None:
    box = parse_bbox("10,170,-10,-170")  # Fiji to Samoa
    assert box == BBox(10, 170, -10, -170)
    assert box.contains(GeoPoint(0, 175)) and box.contains(GeoPoint(0, -175))
    assert not box.contains(GeoPoint(0, 0))


def test_bare_dates_are_local_calendar_days() -> None:
    filters = build_filters(time_from="2023-10-21", time_to="2023-10-24")
    assert (filters.day_from, filters.day_to) == (date(2023, 10, 21), date(2023, 10, 24))
    assert filters.time_from is None and filters.time_to is None
    one_side = build_filters(time_to="2023-10-24")
    assert (one_side.day_from, one_side.day_to) == (None, date(2023, 10, 24))
    assert parse_when("2023-10-21") == date(2023, 10, 21)


def test_datetimes_with_an_offset_are_instants() -> None:
    filters = build_filters(time_from="2023-10-21T07:30:00+05:45", time_to="2023-10-21T07:30:00Z")
    assert filters.time_from == datetime(2023, 10, 21, 7, 30, tzinfo=NPT)
    assert filters.time_from is not None and filters.time_from.utcoffset() == timedelta(hours=5, minutes=45)
    assert filters.time_to == datetime(2023, 10, 21, 7, 30, tzinfo=timezone.utc)
    assert filters.day_from is None and filters.day_to is None


def test_a_day_and_an_instant_can_be_combined() -> None:
    filters = build_filters(time_from="2023-10-21", time_to="2023-10-24T18:00+05:45")
    assert filters.day_from == date(2023, 10, 21) and filters.day_to is None
    assert filters.time_from is None and filters.time_to == datetime(2023, 10, 24, 18, 0, tzinfo=NPT)


@pytest.mark.parametrize("text", ["2023-10-21T07:30", "2023-10-21 07:30:00"])
def test_a_datetime_without_offset_asks_for_one(text: str) -> None:
    with pytest.raises(
        BadInput, match=r"has no UTC offset: expected YYYY-MM-DD .* like 2023-10-21T07:30\+05:45"
    ):
        build_filters(time_from=text)


@pytest.mark.parametrize("text", ["yesterday", "20231021T", "0001-01-01T00:00+05:00"])
def test_bad_dates_are_refused_clearly(text: str) -> None:
    with pytest.raises(BadInput, match="expected YYYY-MM-DD"):
        parse_when(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2023-11-31", r"no such day \(November 2023 has days 01 to 30\)"),
        ("2023-02-29", r"no such day \(February 2023 has days 01 to 28\)"),
        ("2024-02-30", r"no such day \(February 2024 has days 01 to 29\)"),  # a leap year
        ("2023-11-00", r"no such day \(November 2023 has days 01 to 30\)"),
        ("2023-13-01", r"no such month \(months run from 01 to 12\)"),
        ("2023-11-31T07:30+05:45", r"no such day \(November 2023"),
    ],
)
def test_a_day_that_does_not_exist_is_named_as_such(text: str, message: str) -> None:
    """The form is right, the day is not: repeating the expected form would send the user hunting a typo."""
    with pytest.raises(BadInput, match=message) as caught:
        parse_when(text)
    assert "expected YYYY-MM-DD" not in str(caught.value)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2023-11-02", "2023-11-01"),
        ("2023-10-21T08:00+05:45", "2023-10-21T07:59+05:45"),
        # 21 Oct starts first at UTC+14: 2023-10-20T10:00Z; an instant before that ends the range too early
        ("2023-10-21", "2023-10-20T09:59Z"),
        # 21 Oct ends last at UTC-12: 2023-10-22T12:00Z; an instant from then on starts the range too late
        ("2023-10-22T12:00Z", "2023-10-21"),
    ],
)
def test_empty_date_range_is_an_error(start: str, end: str) -> None:
    with pytest.raises(BadInput, match="Date range is empty"):
        build_filters(time_from=start, time_to=end)


@pytest.mark.parametrize(
    ("start", "end"),
    [("2023-10-21", "2023-10-20T10:00Z"), ("2023-10-22T11:59Z", "2023-10-21"), ("2023-10-21", "2023-10-21")],
)
def test_ranges_that_some_time_zone_can_fill_are_kept(start: str, end: str) -> None:
    filters = build_filters(time_from=start, time_to=end)
    assert not filters.is_empty()


def test_peak_names_resolve_through_the_catalog_and_unknown_ones_are_named() -> None:
    aliases = {"pumo ri": "Pumori", "pumori": "Pumori", "ama dablam": "Ama Dablam"}
    filters = build_filters(peaks=["Pumo Ri", "pumori", ""], resolve_peak=lambda n: aliases.get(n.casefold()))
    assert filters.peaks == ("Pumori",)
    with pytest.raises(BadInput, match="Unknown peak 'K2'"):
        build_filters(peaks=["K2"], resolve_peak=lambda n: aliases.get(n.casefold()))


def test_peaks_in_frame_resolve_like_peaks() -> None:
    aliases = {"pumo ri": "Pumori", "ama dablam": "Ama Dablam"}
    filters = build_filters(
        peaks_in_frame=["Ama Dablam", "PUMO RI", "ama dablam"],
        resolve_peak=lambda n: aliases.get(n.casefold()),
    )
    assert filters.peaks_in_frame == ("Ama Dablam", "Pumori") and filters.peaks == ()
    with pytest.raises(BadInput, match="Unknown peak 'Cho Oyu'"):
        build_filters(peaks_in_frame=["Cho Oyu"], resolve_peak=lambda n: aliases.get(n.casefold()))


# --- the UI's widgets ---------------------------------------------------------------------------------------


def test_ui_range_covers_local_days() -> None:
    filters = filters_from_ui((date(2023, 10, 21), date(2023, 10, 24)), None, ["Pumori"], ["Ama Dablam"])
    assert filters == SearchFilters(
        day_from=date(2023, 10, 21),
        day_to=date(2023, 10, 24),
        peaks=("Pumori",),
        peaks_in_frame=("Ama Dablam",),
    )


@pytest.mark.parametrize("picked", [date(2023, 10, 21), (date(2023, 10, 21),), [date(2023, 10, 21)]])
def test_ui_single_day_means_that_one_day(picked: object) -> None:
    filters = filters_from_ui(picked)  # type: ignore[arg-type]  # every shape Streamlit's date_input returns
    assert (filters.day_from, filters.day_to) == (date(2023, 10, 21), date(2023, 10, 21))
    assert filters.time_from is None and filters.time_to is None


@pytest.mark.parametrize("picked", [None, (), []])
def test_ui_without_days_has_no_date_filter(picked: object) -> None:
    assert filters_from_ui(picked).is_empty()  # type: ignore[arg-type]


def test_ui_pick_covering_the_whole_album_is_no_date_filter() -> None:
    album = (date(2023, 10, 20), date(2023, 11, 2))
    assert filters_from_ui(album, album_days=album).is_empty()  # the picker's opening value: undated stay in
    assert filters_from_ui((date(2023, 10, 1), date(2023, 11, 30)), album_days=album).is_empty()
    narrowed = filters_from_ui((date(2023, 10, 21), date(2023, 11, 2)), album_days=album)
    assert (narrowed.day_from, narrowed.day_to) == (date(2023, 10, 21), date(2023, 11, 2))
    single = filters_from_ui(date(2023, 10, 20), album_days=(date(2023, 10, 20), date(2023, 10, 20)))
    assert single.is_empty()


def test_ui_box_is_checked_like_typed_boxes() -> None:
    box = BBox(28.1, 86.5, 27.7, 87.1)
    assert filters_from_ui(None, box).bbox == box
    with pytest.raises(
        BadInput, match=r"Bounding box '28.1,87.1,27.7,86.5': LEFT 87.1 is east of RIGHT 86.5"
    ):
        filters_from_ui(None, BBox(28.1, 87.1, 27.7, 86.5))
    with pytest.raises(BadInput, match="BOTTOM <= TOP"):
        filters_from_ui(None, BBox(27.7, 86.5, 28.1, 87.1))


# --- instants: naive capture times are UTC everywhere, whatever zone the server runs in --------------------


@pytest.fixture
def server_in_nepal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone set to UTC+05:45 (POSIX TZ: no tzdata needed)."""
    monkeypatch.setenv("TZ", "NPT-5:45")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_utc_takes_naive_times_as_utc_whatever_the_server_zone(server_in_nepal: None) -> None:
    naive = datetime(2023, 10, 27, 1, 2, 47)
    epoch = calendar.timegm((2023, 10, 27, 1, 2, 47))  # seconds since 1970 for 2023-10-27T01:02:47Z
    assert utc(naive) == datetime(2023, 10, 27, 1, 2, 47, tzinfo=timezone.utc)
    assert utc(naive).timestamp() == epoch
    assert naive.timestamp() == epoch - (
        5 * 3600 + 45 * 60
    )  # why sorting must not call .timestamp() on naive


def test_utc_converts_aware_times_and_orders_mixed_ones() -> None:
    assert utc(datetime(2023, 10, 27, 6, 47, 48, tzinfo=NPT)) == datetime(
        2023, 10, 27, 1, 2, 48, tzinfo=timezone.utc
    )
    # 07:00 in Nepal is 01:15 UTC: before a naive (UTC) 06:00 the same day
    times = [datetime(2023, 10, 27, 6, 0), datetime(2023, 10, 27, 7, 0, tzinfo=NPT)]
    assert sorted(times, key=utc) == [times[1], times[0]]


def test_the_album_day_range_uses_local_days_and_skips_gps_clock_times() -> None:
    from peaklens.filters import album_day_range
    from peaklens.records import PhotoHit

    nepal = timezone(timedelta(hours=5, minutes=45))

    def hit(**fields: object) -> PhotoHit:
        return PhotoHit("a", "a.jpg", 1.0, [], [], None, fields.pop("shot_time", None), **fields)  # type: ignore[arg-type]

    photos = [
        hit(shot_time=datetime(2023, 10, 21, 0, 30, tzinfo=nepal), local_time=datetime(2023, 10, 21, 0, 30)),
        hit(shot_time=datetime(2023, 10, 25, 9, 0)),
        hit(shot_time=datetime(2023, 10, 30, 1, 0, tzinfo=timezone.utc), time_source="GPS"),
        hit(),
    ]
    assert album_day_range(photos) == (date(2023, 10, 21), date(2023, 10, 25))
    assert album_day_range([hit()]) is None


# --- pinned by mutation testing (was test_mutation_pins_filters.py): Filter parsing details that mutation testing showed no other test holds (docs/TESTING.md): the edges of a
@pytest.mark.parametrize(
    "text",
    ["90,-180,-90,180", "0,-180,0,-180", "0,180,0,180", "10,170,-10,-170"],  # poles, 180° lines, a point
)
def test_boxes_on_the_edges_are_accepted(text: str) -> None:
    top, left, bottom, right = (float(v) for v in text.split(","))
    assert parse_bbox(text) == BBox(top, left, bottom, right)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0,-90.5,0", "need -90 <= BOTTOM <= TOP <= 90"),
        ("90.5,0,0,0", "need -90 <= BOTTOM <= TOP <= 90"),
        ("0,-180.5,0,0", "longitudes must be within -180..180"),
        ("0,180.5,0,0", "longitudes must be within -180..180"),
        ("0,0,0,-180.5", "longitudes must be within -180..180"),
        ("0,0,0,180.5", "longitudes must be within -180..180"),
        ("10,0,-10,-10", "LEFT 0 is east of RIGHT -10"),  # 0 is no longitude east of the 180° line
    ],
)
def test_boxes_past_the_edges_are_refused(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_bbox(text)


def test_the_message_quotes_the_box_as_the_user_typed_it() -> None:
    with pytest.raises(BadInput) as caught:
        parse_bbox("10, 20, 0, 10")
    assert str(caught.value) == (
        "Bounding box '10, 20, 0, 10': LEFT 20 is east of RIGHT 10; give the western edge first "
        "(only a box across the 180° meridian has LEFT > 0 > RIGHT, e.g. 10,170,-10,-170)."
    )


UTC_0730 = datetime(2023, 10, 21, 7, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   ", None),
        ("2023-10-21T07:30z", UTC_0730),
        ("2023-10-21T07:30Z", UTC_0730),
        ("2023-10-21 13:15 +05:45", UTC_0730),
    ],
)
def test_ways_of_writing_a_moment(text: str, expected: datetime | None) -> None:
    assert parse_when(text) == expected


def test_a_range_from_and_to_the_same_instant_is_not_empty() -> None:
    same = "2023-10-21T07:30+05:45"
    filters = build_filters(time_from=same, time_to=same)
    assert filters.time_from == filters.time_to == datetime(2023, 10, 21, 1, 45, tzinfo=timezone.utc)


def test_an_instant_to_the_last_day_there_is_does_not_overflow() -> None:
    filters = build_filters(time_from="2023-10-21T07:30Z", time_to="9999-12-31")
    assert filters.day_to == date.max and filters.time_from == UTC_0730


def test_every_parsed_part_reaches_the_filters() -> None:
    filters = build_filters(
        bbox="28.1,86.6,27.7,87.0", peaks=["", "Lhotse", "Lhotse"], peaks_in_frame=["Pumori"]
    )
    assert filters.bbox == BBox(28.1, 86.6, 27.7, 87.0)
    assert filters.peaks == ("Lhotse",) and filters.peaks_in_frame == ("Pumori",)


def test_ui_days_given_as_datetimes_count_as_their_dates() -> None:
    filters = filters_from_ui((datetime(2023, 10, 22, 23, 0), date(2023, 10, 21)))
    assert (filters.day_from, filters.day_to) == (date(2023, 10, 21), date(2023, 10, 22))


def test_utc_never_depends_on_the_servers_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    try:
        moment = utc(datetime(2023, 10, 21, 13, 15, tzinfo=timezone(timedelta(hours=5, minutes=45))))
        assert moment.utcoffset() == timedelta(0) and moment.hour == 7
        assert utc(datetime(2023, 10, 21, 7, 30)) == UTC_0730
    finally:
        monkeypatch.undo()
        time.tzset()
