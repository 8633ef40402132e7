"""Filter parsing details that mutation testing showed no other test holds (docs/TESTING.md): the edges of a
bounding box, how a date is written, and that every parsed part reaches the SearchFilters."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest

from peaklens.errors import BadInput
from peaklens.filters import build_filters, filters_from_ui, parse_bbox, parse_when, utc
from peaklens.records import BBox


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
