"""The page's widget logic through Streamlit's AppTest: searching, filtering, errors as messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import IndexedAlbum

APP = str(Path(__file__).resolve().parents[2] / "peaklens" / "ui" / "app.py")


@pytest.fixture
def app(indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    for key, value in indexed_album.env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    )


def test_opening_the_page_browses_the_album_with_peak_facets(app: AppTest) -> None:
    assert "Your photos" in _texts(app)
    labels = [c.label for c in app.sidebar.checkbox]
    assert labels and all("(" in label for label in labels)  # "Ama Dablam (12)"


def test_a_text_query_shows_scored_results(app: AppTest) -> None:
    app.text_input(key="query").input("snowy mountain").run()
    texts = _texts(app)
    assert "Results for “snowy mountain”" in texts
    assert "score **0." in texts and "confidence" in texts


def test_a_peak_checkbox_narrows_the_results_to_that_peak(app: AppTest) -> None:
    app.text_input(key="query").input("mountain").run()
    box = app.sidebar.checkbox[0]
    peak = box.label.rsplit(" (", 1)[0]
    count = int(box.label.rsplit("(", 1)[1].rstrip(")"))
    box.check().run()
    captions = [c.value for c in app.caption if c.value.endswith("photo(s)")]
    assert captions and int(captions[0].split()[0]) == min(count, 60)
    badges = [m.value for m in app.markdown if ":blue-badge[" in m.value]
    assert badges and all(peak in b for b in badges)


def test_an_area_with_no_photos_says_so_and_suggests_widening(app: AppTest) -> None:
    app.sidebar.selectbox(key="geo_preset").select("Everest Base Camp area").run()
    app.text_input(key="query").input("mountain").run()
    assert any("widen the filters" in i.value for i in app.info)


def test_an_unreachable_store_is_a_message_not_a_traceback(
    indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in indexed_album.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PEAKLENS_STORE", "elasticsearch")
    monkeypatch.setenv("PEAKLENS_ES_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PEAKLENS_ES_MAX_RETRIES", "0")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert any("not reachable" in e.value for e in at.error)


def test_missing_model_weights_are_a_message(
    indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in indexed_album.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PEAKLENS_MODEL", "/nonexistent/model-folder")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)
