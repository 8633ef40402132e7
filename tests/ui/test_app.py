"""The page's widget logic through Streamlit's AppTest: browsing without the model, scores, facets, errors,
settings (secrets included) reaching the stores from the environment."""

from __future__ import annotations

import base64
import http.server
import threading
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from streamlit.testing.v1 import AppTest

from peaklens.config import Settings
from peaklens.records import BBox
from peaklens.store.factory import open_store
from tests.conftest import IndexedAlbum

APP = str(Path(__file__).resolve().parents[2] / "peaklens" / "ui" / "app.py")


def _env(indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in indexed_album.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PEAKLENS_ALBUM", str(indexed_album.album))


@pytest.fixture
def app(indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    _env(indexed_album, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [s.value for s in at.subheader]
        + [card_text(h.value) for h in at.get("html")]
    )


def card_text(html: str) -> str:
    """The words of an HTML block as the browser shows them, each paragraph, badge and button on a line."""

    class Words(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.in_style = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.in_style = tag == "style"
            if tag in ("p", "div", "span", "button"):
                self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            self.in_style = False

        def handle_data(self, data: str) -> None:
            if not self.in_style:
                self.parts.append(data)

    words = Words()
    words.feed(html)
    return "".join(words.parts)


def score_lines(at: AppTest) -> list[str]:
    """Each card's score line ("score 0.0312 · visual 0.5120 · confidence 40%")."""
    return [line for line in _texts(at).splitlines() if line.startswith("score ")]


def test_browsing_needs_no_model_and_shows_no_score(
    indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(indexed_album, monkeypatch)
    monkeypatch.setenv("PEAKLENS_MODEL", "/nonexistent/model-folder")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception and not at.error  # the store alone paints the first page
    assert "Your photos" in _texts(at)
    assert "Your photos" in _texts(at) and " · 2023-" in _texts(at)  # the cards are there, with their times
    assert not score_lines(at)
    at.text_input(key="query").input("snowy mountain").run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)  # the model loads only for a query


def test_a_peak_query_shows_the_fused_score_it_is_ordered_by_and_the_visual_one(app: AppTest) -> None:
    """The card names the scores as the CLI does: `score` (the fused RRF score of a query naming a peak,
    between 0 and 2/61) and `visual` (the cosine score, (1 + cos) / 2, near 0.5)."""
    peak = app.sidebar.checkbox[0].label.rsplit(" (", 1)[0]
    app.text_input(key="query").input(peak).run()
    scores = score_lines(app)
    assert scores
    for line in scores:
        fused = float(line.split()[1])
        visual = float(line.split(" · visual ")[1].split()[0])
        assert 0.0 < fused <= 2 / 61 and 0.3 < visual < 0.7, line
    app.text_input(key="query").input("snowy mountain").run()
    scores = score_lines(app)
    assert scores and all("visual" not in s and "confidence" in s for s in scores)


def test_facet_counts_follow_the_area_filter(app: AppTest, indexed_album: IndexedAlbum) -> None:
    box = BBox(27.86, 86.68, 27.60, 86.80)
    store = open_store(Settings(store="embedded", data_dir=Path(indexed_album.env["PEAKLENS_DATA_DIR"])))
    try:
        inside = [h for h in store.list_photos(limit=1000) if h.gps is not None and box.contains(h.gps)]
    finally:
        store.close()
    expected: dict[str, int] = {}
    for hit in inside:
        for name in hit.predicted_peaks:
            expected[name] = expected.get(name, 0) + 1
    app.session_state["area::box"] = box
    app.run()
    assert not app.exception
    shown = {
        c.label.rsplit(" (", 1)[0]: int(c.label.rsplit("(", 1)[1].rstrip(")")) for c in app.sidebar.checkbox
    }
    assert shown == expected
    assert any(c.value == f"1–{len(inside)} of {len(inside)} photos" for c in app.caption)


def test_an_unreachable_store_is_a_message_not_a_traceback(
    indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(indexed_album, monkeypatch)
    monkeypatch.setenv("PEAKLENS_STORE", "elasticsearch")
    monkeypatch.setenv("PEAKLENS_ES_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PEAKLENS_ES_MAX_RETRIES", "0")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception
    assert any("not reachable" in e.value for e in at.error)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the Elasticsearch emulator and remembers its Authorization header."""

    upstream = ""
    seen: ClassVar[list[str | None]] = []

    def _forward(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        request = urllib.request.Request(self.upstream + self.path, data=body, method=self.command)
        for name in ("Content-Type", "Accept"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                status, headers, data = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as err:
            status, headers, data = err.code, err.headers, err.read()
        self.send_response(status)
        for name in ("Content-Type", "X-Elastic-Product"):
            if headers.get(name):
                self.send_header(name, headers[name])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recording_proxy(noida_url: str) -> Iterator[type[_Recorder]]:
    handler = type("Recorder", (_Recorder,), {"upstream": noida_url, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_the_ui_sends_the_configured_elasticsearch_password(
    indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch, recording_proxy: type[_Recorder]
) -> None:
    """Settings travel as PEAKLENS_* (as `peaklens ui` sets them): the real password, never pydantic's mask."""
    _env(indexed_album, monkeypatch)
    monkeypatch.setenv("PEAKLENS_STORE", "elasticsearch")
    monkeypatch.setenv("PEAKLENS_ES_URL", recording_proxy.url)  # type: ignore[attr-defined]
    monkeypatch.setenv("PEAKLENS_ES_USERNAME", "album-reader")
    monkeypatch.setenv("PEAKLENS_ES_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("PEAKLENS_PHOTOS_INDEX", "ui-credentials-photos")
    monkeypatch.setenv("PEAKLENS_PEAKS_INDEX", "ui-credentials-peaks")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception
    expected = "Basic " + base64.b64encode(b"album-reader:s3cret-pass").decode()
    assert recording_proxy.seen, "the UI never reached Elasticsearch"
    assert set(recording_proxy.seen) == {expected}


def test_missing_model_weights_are_a_message_on_the_first_query(
    indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(indexed_album, monkeypatch)
    monkeypatch.setenv("PEAKLENS_MODEL", "/nonexistent/model-folder-2")
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.text_input(key="query").input("prayer flags").run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)
