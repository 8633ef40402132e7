"""The exact JSON sent to Elasticsearch: mappings from docs/DESIGN.md, filters inside ``knn.filter``, facets.

The last test puts a recording HTTP proxy between the official client and the emulator, so what is checked is
what really went over the wire."""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from pydantic import SecretStr

from peaklens.config import Settings
from peaklens.errors import StoreUnavailable
from peaklens.records import BBox, PhotoDoc, PhotoUpdate, SearchFilters
from peaklens.store.elastic import (
    ElasticStore,
    display_url,
    facets_body,
    knn_body,
    peaks_mapping,
    photo_source,
    photos_mapping,
    update_source,
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
        "local_time",
        "local_date",
        "time_source",
        "peaks_in_frame",
        "heading_offset_deg",
        "heading_source",
        "gps_source",
        "heading_ref",
        "declination_deg",
    }
    assert props["gps_source"] == props["heading_ref"] == {"type": "keyword"}
    assert props["declination_deg"] == {"type": "float"}
    assert props["local_time"] == {"type": "date", "format": "strict_date_optional_time"}
    assert props["local_date"] == {"type": "date", "format": "strict_date"}
    assert props["peaks_in_frame"] == props["time_source"] == props["heading_source"] == {"type": "keyword"}
    assert props["heading_offset_deg"] == {"type": "float"}


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
            "text_vector": {"type": "dense_vector", "dims": 768, "index": False},
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
            "local_time",
            "time_source",
            "peaks_in_frame",
            "heading_offset_deg",
            "heading_source",
            "gps_source",
            "heading_ref",
            "declination_deg",
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
    local = SearchFilters(
        day_from=date(2023, 10, 21), day_to=date(2023, 10, 22), peaks=("Pumori",), peaks_in_frame=("Lhotse",)
    )
    assert knn_body([1.0], 5, 50, local)["knn"]["filter"] == [
        {"range": {"local_date": {"gte": "2023-10-21", "lte": "2023-10-22"}}},
        {"term": {"predicted_peaks": "Pumori"}},
        {"term": {"peaks_in_frame": "Lhotse"}},
    ]
    frame_any = knn_body(
        [1.0], 5, 50, SearchFilters(peaks_in_frame=("Lhotse", "Nuptse"), day_to=date(2023, 1, 2))
    )
    assert frame_any["knn"]["filter"] == [
        {"range": {"local_date": {"lte": "2023-01-02"}}},
        {"terms": {"peaks_in_frame": ["Lhotse", "Nuptse"]}},
    ]


def test_photo_source_derives_the_local_day_from_the_camera_clock() -> None:
    night = PhotoDoc(
        id="a",
        path="a.jpg",
        vector=np.ones(1),
        shot_time=datetime(2023, 10, 21, 0, 30, tzinfo=NPT),
        local_time=datetime(2023, 10, 21, 0, 30),
        time_source="DateTimeOriginal",
        peaks_in_frame=["Lhotse"],
        heading_offset_deg=-2.0,
        heading_source="skyline",
    )
    source = photo_source(night)
    assert source["shot_time"] == "2023-10-21T00:30:00+05:45"
    assert source["local_time"] == "2023-10-21T00:30:00" and source["local_date"] == "2023-10-21"
    assert (source["time_source"], source["peaks_in_frame"]) == ("DateTimeOriginal", ["Lhotse"])
    assert (source["heading_offset_deg"], source["heading_source"]) == (-2.0, "skyline")
    no_clock = PhotoDoc(
        id="b", path="b.jpg", vector=np.ones(1), shot_time=datetime(2023, 10, 21, 0, 30, tzinfo=NPT)
    )
    assert (
        photo_source(no_clock)["local_date"] == "2023-10-21" and photo_source(no_clock)["local_time"] is None
    )


def test_update_source_sends_only_the_given_fields_never_the_vector() -> None:
    assert update_source(PhotoUpdate(predicted_peaks=["Lhotse"], peak_scores=[0.5])) == {
        "predicted_peaks": ["Lhotse"],
        "peak_scores": [0.5],
    }
    assert update_source(PhotoUpdate(heading_offset_deg=0.0, heading_source="user", extra={})) == {
        "heading_offset_deg": 0.0,
        "heading_source": "user",
        "extra": {},
    }


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
    assert facets_body(size=5, field="peaks_in_frame")["aggs"]["peaks"]["terms"]["field"] == "peaks_in_frame"


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
        Settings(
            store="elasticsearch",
            es_url=url,
            photos_index="wire-photos",
            peaks_index="wire-peaks",
            bulk_size=2,
        )
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
        store.peak_facets(field="peaks_in_frame", size=7)
        searches = [body for method, path, body in seen if path.startswith("/wire-photos/_search")]
        assert searches[-1] == facets_body(size=7, field="peaks_in_frame")
        bulks_before = sum(1 for _, path, _ in seen if path.startswith("/_bulk"))
        docs = [PhotoDoc(id=f"d{i}", path=f"d{i}.jpg", vector=[1.0, 0.0, 0.0, 0.0]) for i in range(5)]  # type: ignore[arg-type]
        assert len(store.upsert_photos(docs).written) == 5
        assert sum(1 for _, path, _ in seen if path.startswith("/_bulk")) - bulks_before == 3  # bulk_size 2
        assert sorted(store.update_photos({"d0": PhotoUpdate(heading_source="user")}).written) == ["d0"]
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


# --- credentials from Settings reach the server unmasked ---------------------------------------------------
@pytest.fixture
def header_recorder() -> Iterator[tuple[str, list[str | None]]]:
    """Answers GET / like Elasticsearch 8 and records each request's Authorization header."""
    seen: list[str | None] = []

    class Record(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(self.headers.get("Authorization"))
            payload = json.dumps(
                {"version": {"number": "8.15.3"}, "tagline": "You Know, for Search"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_an_api_key_from_settings_is_sent_unmasked(header_recorder: tuple[str, list[str | None]]) -> None:
    url, seen = header_recorder
    store = ElasticStore(Settings(store="elasticsearch", es_url=url, es_api_key=SecretStr(SECRET)))
    store.es.info()
    assert seen == [f"ApiKey {SECRET}"]


def test_basic_auth_from_settings_is_sent_unmasked(header_recorder: tuple[str, list[str | None]]) -> None:
    url, seen = header_recorder
    store = ElasticStore(
        Settings(store="elasticsearch", es_url=url, es_username="elastic", es_password=SECRET)
    )
    store.es.info()
    expected = base64.b64encode(f"elastic:{SECRET}".encode()).decode()  # RFC 7617, computed here
    assert seen == [f"Basic {expected}"]
