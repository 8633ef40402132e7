"""The catalog and the stored predictions stay in step: a new catalog re-predicts every stored photo (no
re-embedding), catalog builds take the index lock, a custom catalog is never swapped silently, bulk_size holds."""

from __future__ import annotations

import contextlib
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from peaklens.catalog_sync import build_catalog, ensure_catalog
from peaklens.config import Settings
from peaklens.embed.loader import load_embedder
from peaklens.errors import BadInput
from peaklens.index import index_album
from peaklens.store.factory import open_store
from peaklens.store.lock import StoreBusy, index_lock
from tests.conftest import SAMPLE_ALBUM

TWO_PEAKS = """
- id: alpha
  names: [Alpha Peak]
  lat: 46.0
  lon: 7.0
  elev_m: 4000
- id: beta
  names: [Beta Peak]
  lat: 46.1
  lon: 7.1
  elev_m: 3900
"""


@pytest.fixture
def setup(tmp_path: Path, tiny_siglip: Path) -> tuple[Path, Settings]:
    album = tmp_path / "album"
    shutil.copytree(SAMPLE_ALBUM / "mountains", album)
    settings = Settings(model=str(tiny_siglip), data_dir=tmp_path / "store", bulk_size=3, batch_size=2)
    return album, settings


@pytest.mark.parametrize("backend", ["embedded", "noida"])
def test_a_new_catalog_repredicts_every_stored_photo_without_embedding_again(
    setup: tuple[Path, Settings], tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    album, settings = setup
    if backend == "noida":
        suffix = uuid.uuid4().hex[:8]
        settings = settings.model_copy(
            update={
                "store": "elasticsearch",
                "es_url": request.getfixturevalue("noida_url"),
                "photos_index": f"repredict-{suffix}",
                "peaks_index": f"repredict-peaks-{suffix}",
            }
        )
    store = open_store(settings)
    embedder = load_embedder(settings)
    index_album(album, settings, embedder, store)
    before = {hit.path: hit for hit in store.list_photos()}
    vectors = {hit.id: store.get_photo_vector(hit.id) for hit in before.values()}
    assert before and all(set(hit.predicted_peaks) - {"Alpha Peak", "Beta Peak"} for hit in before.values())

    peaks_file = tmp_path / "alps.yaml"
    peaks_file.write_text(TWO_PEAKS)
    lines: list[str] = []
    embedded_images: list[int] = []
    original = embedder.embed_images
    embedder.embed_images = lambda images: embedded_images.append(len(images)) or original(images)  # type: ignore[method-assign, func-returns-value]
    build_catalog(store, embedder, settings, peaks_file=peaks_file, refs_dir=None, say=lines.append)
    embedder.embed_images = original  # type: ignore[method-assign]

    assert embedded_images == []
    assert any(f"predicted the peaks of {len(before)} stored photo(s) again" in line for line in lines)
    after = store.list_photos()
    assert {h.path for h in after} == set(before)
    for hit in after:
        assert set(hit.predicted_peaks) == {"Alpha Peak", "Beta Peak"}
        assert np.allclose(store.get_photo_vector(hit.id), vectors[hit.id])  # type: ignore[arg-type]
    assert {name for name, _ in store.peak_facets()} == {"Alpha Peak", "Beta Peak"}

    # the next index run has nothing to re-predict and skips every photo
    report = index_album(album, settings, embedder, store)
    assert report.repredicted == 0 and report.unchanged == len(before)


def test_a_geo_setting_change_repredicts_on_the_next_index(setup: tuple[Path, Settings]) -> None:
    album, settings = setup
    store = open_store(settings)
    embedder = load_embedder(settings)
    index_album(album, settings, embedder, store)
    changed = settings.model_copy(update={"top_k_peaks": 1})
    report = index_album(album, changed, embedder, store)
    assert report.repredicted == report.unchanged > 0
    assert all(len(hit.predicted_peaks) == 1 for hit in store.list_photos())


def test_catalog_build_waits_for_no_one_and_refuses_while_an_index_run_holds_the_store(
    setup: tuple[Path, Settings],
) -> None:
    _album, settings = setup
    store = open_store(settings)
    embedder = load_embedder(settings)
    with _held_by_another_thread(settings), pytest.raises(StoreBusy):
        build_catalog(store, embedder, settings, peaks_file=None, refs_dir=None, say=lambda _: None)
    with index_lock(settings):  # the thread that holds the lock (as `peaklens index` does) may go on
        build_catalog(store, embedder, settings, peaks_file=None, refs_dir=None, say=lambda _: None)


@contextlib.contextmanager
def _held_by_another_thread(settings: Settings) -> Iterator[None]:
    """The store lock held by another thread (as an index run elsewhere in the process, or another process)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with index_lock(settings):
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(60)
    try:
        yield
    finally:
        release.set()
        holder.join(60)


def test_a_custom_catalog_is_never_swapped_for_the_default_when_the_model_changes(
    setup: tuple[Path, Settings], tmp_path: Path
) -> None:
    _album, settings = setup
    store = open_store(settings)
    embedder = load_embedder(settings)
    peaks_file = tmp_path / "alps.yaml"
    peaks_file.write_text(TWO_PEAKS)
    build_catalog(store, embedder, settings, peaks_file=peaks_file, refs_dir=None, say=lambda _: None)
    meta = store.get_meta()
    meta["catalog_model"] = "some/other-model"
    store.set_meta(meta)
    with pytest.raises(BadInput, match=r"catalog build --peaks .*alps\.yaml"):
        ensure_catalog(store, embedder, settings, say=lambda _: None)
    assert {p.id for p in store.all_peaks()} == {"alpha", "beta"}


def test_bulk_size_sets_the_size_of_every_write(
    setup: tuple[Path, Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _album, settings = setup
    album = tmp_path / "whole"
    shutil.copytree(SAMPLE_ALBUM, album, ignore=shutil.ignore_patterns("*.md"))
    settings = settings.model_copy(update={"bulk_size": 5, "batch_size": 4})
    monkeypatch.setattr("peaklens.index.FLUSH_SECONDS", 1e9)  # a slow machine must not flush early here
    store = open_store(settings)
    sizes: list[int] = []
    original = store.upsert_photos
    store.upsert_photos = lambda docs: sizes.append(len(docs)) or original(docs)  # type: ignore[method-assign, func-returns-value]
    photos = 16
    report = index_album(album, settings, load_embedder(settings), store)
    assert report.added == photos
    assert sum(sizes) == photos
    assert sizes == [5, 5, 5, 1]


def test_the_summary_rate_is_the_embedding_rate_the_progress_bar_shows(setup: tuple[Path, Settings]) -> None:
    album, settings = setup
    report = index_album(
        album,
        settings,
        load_embedder(settings),
        open_store(settings),
    )
    # a fresh store builds the catalog first: that time is in the total, not in the photos/s
    assert 0 < report.embed_phase_seconds < report.seconds
    rate = report.embedded / report.embed_phase_seconds
    assert f"{rate:.1f} photos/s while embedding" in report.summary()
    assert f"{report.seconds:.1f} s in all" in report.summary()
