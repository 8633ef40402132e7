"""The line above a grid: where the page is among every photo the filters let through."""

from __future__ import annotations

import pytest

from peaklens.search import ResultList
from peaklens.ui.grid import count_caption, text_total


@pytest.mark.parametrize(
    ("shown", "total", "line"),
    [
        (24, 95, "1–24 of 95 photos"),
        (48, 95, "1–48 of 95 photos"),  # after "Show more"
        (8, 8, "1–8 of 8 photos"),
        (1, 1, "1 of 1 photo"),
        (1, 7, "1 of 7 photos"),
        (24, 20, "1–24 of 24 photos"),  # photos indexed since the count: never fewer than shown
    ],
)
def test_the_count_line_says_where_the_page_is(shown: int, total: int, line: str) -> None:
    assert count_caption(shown, total) == line


def test_a_text_query_counts_every_photo_under_the_filters_less_those_below_the_confidence_cut() -> None:
    assert text_total(95, ResultList([], 0, 0.0), 24, more=True) == 95
    assert text_total(95, ResultList([], 30, 0.2), 24, more=True) == 65
    assert text_total(95, ResultList([], 80, 0.2), 10, more=False) == 10  # the last page: what is shown
    assert (
        text_total(20, ResultList([], 0, 0.0), 24, more=True) == 25
    )  # a photo indexed since: one more at least
