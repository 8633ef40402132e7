"""One indexed album on both stores, shared by the search tests (module-scoped fixtures)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from peaklens.config import Settings
from peaklens.embed.loader import load_embedder
from peaklens.index import index_album
from peaklens.search import Searcher
from peaklens.store.factory import open_store
from tests.conftest import SAMPLE_ALBUM, copy_trek_photos


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("search") / "album"
    shutil.copytree(SAMPLE_ALBUM, root, ignore=shutil.ignore_patterns("*.md"))
    return copy_trek_photos(root, 12)


@pytest.fixture(scope="module", params=["embedded", "noida"])
def searcher(
    request: pytest.FixtureRequest, album: Path, tiny_siglip: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Searcher]:
    if request.param == "embedded":
        settings = Settings(model=str(tiny_siglip), data_dir=tmp_path_factory.mktemp("store"))
    else:
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(
            model=str(tiny_siglip),
            store="elasticsearch",
            es_url=request.getfixturevalue("noida_url"),
            photos_index=f"search-{suffix}",
            peaks_index=f"search-peaks-{suffix}",
        )
    store = open_store(settings)
    embedder = load_embedder(settings)
    index_album(album, settings, embedder, store)
    yield Searcher(settings, store, embedder)
    store.close()
