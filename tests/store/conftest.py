"""A ``store`` fixture over every backend: embedded (LanceDB), the Elasticsearch emulator (always), and a real
Elasticsearch when PEAKLENS_ES_URL is set. Each test gets fresh indices."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from peaklens.config import Settings
from peaklens.store.base import PhotoStore
from peaklens.store.factory import open_store
from tests.es_server import real_es_url

BACKENDS = ["embedded", "noida"] + (["real-es"] if real_es_url() else [])
DIM = 8


def backend_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    suffix = uuid.uuid4().hex[:10]
    if backend == "embedded":
        return Settings(store="embedded", data_dir=tmp_path / "store")
    url = request.getfixturevalue("noida_url") if backend == "noida" else real_es_url()
    return Settings(
        store="elasticsearch",
        es_url=url,
        photos_index=f"test-photos-{suffix}",
        peaks_index=f"test-peaks-{suffix}",
        es_max_retries=1,
    )


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PhotoStore]:
    settings = backend_settings(request.param, tmp_path, request)
    opened = open_store(settings)
    opened.ensure_indices(DIM)
    yield opened
    if settings.store == "elasticsearch":
        es = opened.es  # type: ignore[attr-defined]
        for index in (settings.photos_index, settings.peaks_index, f"{settings.photos_index}-meta"):
            es.options(ignore_status=404).indices.delete(index=index)
    opened.close()
