"""What users type as filters becomes exact SearchFilters, or one clear error."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from peaklens.errors import BadInput
from peaklens.filters import build_filters, parse_bbox, parse_time
from peaklens.records import BBox, GeoPoint


def test_bbox_in_elasticsearch_order() -> None:
    assert parse_bbox("28.1, 86.6, 27.7, 87.0") == BBox(28.1, 86.6, 27.7, 87.0)
    assert parse_bbox(None) is None and parse_bbox("  ") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("28.1,86.6,27.7", "TOP,LEFT,BOTTOM,RIGHT"),
        ("a,b,c,d", "TOP,LEFT,BOTTOM,RIGHT"),
        ("27.7,86.6,28.1,87.0", "BOTTOM <= TOP"),
        ("28,190,27,87", "within -180..180"),
        ("nan,86,27,87", "finite"),
        ("95,86,27,87", "BOTTOM <= TOP <= 90"),
    ],
)
def test_bad_bbox_says_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_bbox(text)


def test_bbox_contains_handles_the_antimeridian() -> None:
    box = BBox(10, 170, -10, -170)
    assert box.contains(GeoPoint(0, 175)) and box.contains(GeoPoint(0, -175))
    assert not box.contains(GeoPoint(0, 0))


def test_bare_dates_cover_whole_days_in_utc() -> None:
    start = parse_time("2023-10-20")
    end = parse_time("2023-10-20", end_of_day=True)
    assert start == datetime(2023, 10, 20, tzinfo=timezone.utc)
    assert end is not None and end - datetime(2023, 10, 20, tzinfo=timezone.utc) > timedelta(
        hours=23, minutes=59
    )


def test_datetimes_keep_their_offset() -> None:
    moment = parse_time("2023-10-21T07:30:00+05:45")
    assert moment is not None and moment.utcoffset() == timedelta(hours=5, minutes=45)
    assert parse_time("2023-10-21T07:30:00Z") == datetime(2023, 10, 21, 7, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["yesterday", "2023-13-01", "2023-02-30", "20231021T"])
def test_bad_dates_are_refused_clearly(text: str) -> None:
    with pytest.raises(BadInput, match="expected YYYY-MM-DD"):
        parse_time(text)


def test_empty_date_range_is_an_error() -> None:
    with pytest.raises(BadInput, match="Date range is empty"):
        build_filters(time_from="2023-11-02", time_to="2023-11-01")


def test_peak_names_resolve_through_the_catalog_and_unknown_ones_are_named() -> None:
    aliases = {"pumo ri": "Pumori", "pumori": "Pumori"}
    filters = build_filters(peaks=["Pumo Ri", "pumori", ""], resolve_peak=lambda n: aliases.get(n.casefold()))
    assert filters.peaks == ("Pumori",)
    with pytest.raises(BadInput, match="Unknown peak 'K2'"):
        build_filters(peaks=["K2"], resolve_peak=lambda n: aliases.get(n.casefold()))
