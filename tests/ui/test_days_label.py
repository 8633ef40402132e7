"""The date picker's button names the days picked, whatever the picker holds while a range is being typed."""

from __future__ import annotations

from datetime import date

from peaklens.ui.rail import days_label


def test_a_range_a_single_day_and_a_range_half_typed() -> None:
    first, last = date(2023, 10, 24), date(2023, 11, 4)
    assert days_label((first, last)) == "Capture days: 2023-10-24 – 2023-11-04"
    assert days_label((first, first)) == "Capture days: 2023-10-24"
    assert days_label(first) == "Capture days: 2023-10-24"
    assert days_label((first,)) == "Capture days: 2023-10-24"  # the end not typed yet


def test_nothing_picked_is_any_day() -> None:
    assert days_label(()) == "Capture days: any"
    assert days_label(None) == "Capture days: any"
