"""What the page says in words, through Streamlit's AppTest: how many photos there are and where the page is,
the filter chips naming their kind, human labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from peaklens.ui import grid
from tests.conftest import IndexedAlbum

APP = str(Path(__file__).resolve().parents[2] / "peaklens" / "ui" / "app.py")
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff"}


@pytest.fixture
def app(indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    for key, value in indexed_album.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PEAKLENS_ALBUM", str(indexed_album.album))
    monkeypatch.setattr(grid, "PAGE_SIZE", 5)  # pages smaller than the album
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def album_size(indexed_album: IndexedAlbum) -> int:
    return sum(1 for p in indexed_album.album.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)


def test_the_grid_says_how_many_photos_there_are_and_where_the_page_is(
    app: AppTest, indexed_album: IndexedAlbum
) -> None:
    total = album_size(indexed_album)
    captions = [c.value for c in app.caption]
    assert f"1–5 of {total} photos" in captions
    app.button(key="more::browse").click().run()
    assert f"1–10 of {total} photos" in [c.value for c in app.caption]
    # a peak facet: the count beside the box is the count above the grid
    box = app.sidebar.checkbox[0]
    count = int(box.label.rsplit("(", 1)[1].rstrip(")"))
    box.check().run()
    assert not app.exception
    shown = min(count, 5)
    expected = f"1 of {count} photo" if count == 1 else f"1–{shown} of {count} photos"
    assert expected in [c.value for c in app.caption]


def test_a_typed_query_counts_every_photo_it_can_show(app: AppTest, indexed_album: IndexedAlbum) -> None:
    app.text_input(key="query").input("snowy mountain").run()
    assert not app.exception
    assert f"1–5 of {album_size(indexed_album)} photos" in [c.value for c in app.caption]


def test_chips_say_which_kind_of_peak_filter_they_are_and_follow_the_facets(app: AppTest) -> None:
    box = app.sidebar.checkbox[0]
    peak = box.label.rsplit(" (", 1)[0]
    box.check().run()
    assert f"✕ {peak} (model)" in [b.label for b in app.button]
    app.sidebar.radio(key="facet_field").set_value("In frame (GPS + compass)").run()
    assert not app.exception
    assert not any(b.label.startswith(f"✕ {peak}") for b in app.button)  # no chip without a ticked box
    assert not any(b.label == "Clear all" for b in app.button)


def test_advanced_settings_have_human_labels(app: AppTest) -> None:
    labels = [n.label for n in app.sidebar.number_input]
    assert labels and all("_" not in label for label in labels)
    assert "Photos compared per query" in labels
