"""The exact JSON sent to Elasticsearch: mappings from SYSTEM.md, filters inside ``knn.filter``, facets.

The last test puts a recording HTTP proxy between the official client and the emulator, so what is checked is
what really went over the wire."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peaklens.config import Settings
from peaklens.errors import StoreUnavailable
from peaklens.records import BBox, SearchFilters
from peaklens.store.elastic import (
    ElasticStore,
    display_url,
    facets_body,
    knn_body,
    peaks_mapping,
    photos_mapping,
)
from tests.es_server import free_port

NPT = timezone(timedelta(hours=5, minutes=45))
HNSW = {"type": "hnsw", "m": 16, "ef_construction": 128}


def test_photos_mapping_is_the_design_plus_documented_extras() -> None:
    props = photos_mapping(768)["properties"]
    assert props["path"] == {"type": "keyword"}
    assert props["clip_image"] == {
        "type": "dense_vector",
        "dims": 768,
        "index": True,
        "similarity": "cosine",
        "index_options": HNSW,
    }
    assert props["predicted_peaks"] == {"type": "keyword"}
    assert props["gps"] == {"type": "geo_point"}
    assert props["shot_time"] == {"type": "date"}
    assert set(props) - {"path", "clip_image", "predicted_peaks", "gps", "shot_time"} == {
        "peak_scores",
        "altitude_m",
        "heading_deg",
        "file_size",
        "file_mtime",
        "extra",
    }


def test_peaks_mapping_is_the_design() -> None:
    assert peaks_mapping(768, m=32, ef_construction=200) == {
        "properties": {
            "id": {"type": "keyword"},
            "names": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "latlon": {"type": "geo_point"},
            "elev_m": {"type": "integer"},
            "text_embed": {
                "type": "dense_vector",
                "dims": 768,
                "index": True,
                "similarity": "cosine",
                "index_options": {"type": "hnsw", "m": 32, "ef_construction": 200},
            },
        }
    }


def test_knn_body_without_filters() -> None:
    body = knn_body([0.5, 0.25], 60, 2000)
    assert body == {
        "knn": {"field": "clip_image", "query_vector": [0.5, 0.25], "k": 60, "num_candidates": 2000},
        "_source": [
            "path",
            "predicted_peaks",
            "gps",
            "shot_time",
            "peak_scores",
            "altitude_m",
            "heading_deg",
            "extra",
        ],
        "size": 60,
    }
    assert knn_body([1.0], 100, 10)["knn"]["num_candidates"] == 100  # never fewer candidates than k


def test_every_filter_goes_inside_knn_filter() -> None:
    filters = SearchFilters(
        bbox=BBox(28.1, 86.6, 27.7, 87.0),
        time_from=datetime(2023, 10, 20, tzinfo=NPT),
        time_to=datetime(2023, 10, 31, 23, 59, 59, tzinfo=NPT),
        peaks=("Pumori",),
    )
    body = knn_body([1.0], 60, 2000, filters)
    assert "query" not in body  # a top-level query next to knn would be a union
    assert body["knn"]["filter"] == [
        {
            "geo_bounding_box": {
                "gps": {"top_left": {"lat": 28.1, "lon": 86.6}, "bottom_right": {"lat": 27.7, "lon": 87.0}}
            }
        },
        {"range": {"shot_time": {"gte": "2023-10-20T00:00:00+05:45", "lte": "2023-10-31T23:59:59+05:45"}}},
        {"term": {"predicted_peaks": "Pumori"}},
    ]
    several = knn_body([1.0], 5, 50, SearchFilters(peaks=("Pumori", "Nuptse")))
    assert several["knn"]["filter"] == [{"terms": {"predicted_peaks": ["Pumori", "Nuptse"]}}]
    naive = knn_body([1.0], 5, 50, SearchFilters(time_from=datetime(2023, 10, 20)))
    assert naive["knn"]["filter"] == [{"range": {"shot_time": {"gte": "2023-10-20T00:00:00Z"}}}]


def test_facets_body_is_a_terms_aggregation() -> None:
    assert facets_body() == {
        "size": 0,
        "query": {"match_all": {}},
        "aggs": {
            "peaks": {
                "terms": {
                    "field": "predicted_peaks",
                    "size": 100,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        },
    }
    assert facets_body(SearchFilters(peaks=("Pumori",)))["query"] == {
        "bool": {"filter": [{"term": {"predicted_peaks": "Pumori"}}]}
    }


@pytest.fixture
def recording_proxy(noida_url: str) -> Iterator[tuple[str, list[tuple[str, str, dict]]]]:
    seen: list[tuple[str, str, dict]] = []

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            try:
                parsed = json.loads(body) if body and not self.path.startswith("/_bulk") else {}
            except ValueError:
                parsed = {}
            seen.append((self.command, self.path, parsed))
            request = urllib.request.Request(noida_url + self.path, data=body, method=self.command)
            for key in ("Content-Type", "Accept"):
                if self.headers.get(key):
                    request.add_header(key, self.headers[key])
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    status, headers, payload = reply.status, reply.headers, reply.read()
            except urllib.error.HTTPError as err:
                status, headers, payload = err.code, err.headers, err.read()
            self.send_response(status)
            for key in ("Content-Type", "X-Elastic-Product"):
                if headers.get(key):
                    self.send_header(key, headers[key])
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_store_sends_exactly_these_bodies(
    recording_proxy: tuple[str, list[tuple[str, str, dict]]],
) -> None:
    url, seen = recording_proxy
    store = ElasticStore(
        Settings(store="elasticsearch", es_url=url, photos_index="wire-photos", peaks_index="wire-peaks")
    )
    try:
        store.ensure_indices(4)
        created = {path: body for method, path, body in seen if method == "PUT"}
        assert created["/wire-photos"] == {"mappings": photos_mapping(4)}
        assert created["/wire-peaks"] == {"mappings": peaks_mapping(4)}
        filters = SearchFilters(bbox=BBox(28.1, 86.6, 27.7, 87.0), peaks=("Pumori",))
        store.knn_photos([1.0, 0.0, 0.0, 0.0], 7, 300, filters)  # type: ignore[arg-type]
        searches = [body for method, path, body in seen if path.startswith("/wire-photos/_search")]
        assert searches[-1] == knn_body([1.0, 0.0, 0.0, 0.0], 7, 300, filters)
        store.peak_facets()
        searches = [body for method, path, body in seen if path.startswith("/wire-photos/_search")]
        assert searches[-1] == facets_body()
    finally:
        for index in ("wire-photos", "wire-peaks", "wire-photos-meta"):
            store.es.options(ignore_status=404).indices.delete(index=index)


# --- connection failures: one line, the URL, never a secret -----------------------------------------------
SECRET = "s3cret-Key-0451"


def test_an_unreachable_server_is_one_line_naming_the_url_not_the_key() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    store = ElasticStore(
        Settings(store="elasticsearch", es_url=url, es_api_key=SECRET, es_max_retries=0, photos_index="x")
    )
    with pytest.raises(StoreUnavailable) as caught:
        store.ensure_indices(8)
    assert str(caught.value) == (
        f"Elasticsearch at {url} is not reachable (connection refused). Start it or set PEAKLENS_ES_URL."
    )


def test_credentials_inside_the_url_are_never_shown() -> None:
    port = free_port()
    store = ElasticStore(
        Settings(store="elasticsearch", es_url=f"http://elastic:{SECRET}@127.0.0.1:{port}", es_max_retries=0)
    )
    with pytest.raises(StoreUnavailable) as caught:
        store.count_photos()
    assert SECRET not in str(caught.value) and f"http://127.0.0.1:{port}" in str(caught.value)
    assert display_url(f"https://u:{SECRET}@es.example:9243/x") == "https://es.example:9243/x"


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """Answers every request like a secured Elasticsearch given bad credentials."""

    class Refuse(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            payload = json.dumps(
                {"error": {"type": "security_exception", "reason": "unable to authenticate"}, "status": 401}
            ).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _refuse

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_refused_credentials_are_one_line_without_the_password(refusing_server: str) -> None:
    store = ElasticStore(
        Settings(store="elasticsearch", es_url=refusing_server, es_username="elastic", es_password=SECRET)
    )
    with pytest.raises(StoreUnavailable) as caught:
        store.ensure_indices(8)
    message = str(caught.value)
    assert message.startswith(f"Elasticsearch at {refusing_server} refused the credentials (HTTP 401)")
    assert SECRET not in message and "\n" not in message
