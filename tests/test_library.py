"""The application layer gives the same answer on every path: identify, similar, the stored photo, a click, a
catalog built by another process, terrain added later — all on real trek photos and the real SRTM tiles."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from peaklens.config import Settings
from peaklens.library import Library
from peaklens.records import SearchFilters
from tests.conftest import REPO, TREK_JPEGS

DEM_TILES = sorted((REPO.parent / "shared" / "dem").glob("*.hgt"))
#: a trek photo with GPS and compass looking at Ama Dablam (docs/GEO-LABELS.md)
PHOTO = "IMG_2332.jpg"

pytestmark = pytest.mark.skipif(
    not DEM_TILES or not TREK_JPEGS, reason="needs ../shared/dem and ../shared/trek"
)


def _settings(tiny_siglip: Path, root: Path) -> Settings:
    return Settings(model=str(tiny_siglip), data_dir=root / "store", store="embedded", precision="fp32")


@pytest.fixture(scope="module")
def library(tiny_siglip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """Four trek photos (one of them IMG_2332) indexed with the terrain registered."""
    root = tmp_path_factory.mktemp("library")
    album = root / "album"
    album.mkdir()
    chosen = [p for p in TREK_JPEGS if p.name == PHOTO] + [p for p in TREK_JPEGS if p.name != PHOTO][:3]
    for path in chosen:
        shutil.copy(path, album / path.name)
    library = Library.create(_settings(tiny_siglip, root))
    library.add_terrain(DEM_TILES)
    library.index(album)
    yield library
    library.store.close()


def _stored(library: Library, name: str) -> str:
    hit = next(a.hit for a in library.browse(limit=100) if a.hit.path.endswith(name))
    return hit.id


def test_identify_similar_and_the_stored_photo_place_the_peaks_alike(library: Library) -> None:
    photo = Library.load_photo(Path(library.album_root() or ".") / PHOTO)
    identified = library.identify(photo)
    similar = library.similar(photo, k=10)
    stored = library.photo(_stored(library, PHOTO))
    assert identified.frame is not None and similar.identification.frame is not None
    assert stored is not None and stored.frame is not None
    assert identified.frame.terrain_checked and stored.frame.terrain_checked
    # the same peaks in the same places on the three paths (the registration runs on each; same terrain)
    for view in (similar.identification.frame, stored.frame):
        assert view.heading_source == identified.frame.heading_source
        for peak in identified.frame.peaks:
            other = view.by_id(peak.peak_id)
            assert other is not None
            assert other.occluded == peak.occluded and other.in_frame == peak.in_frame, peak.name
            if peak.x is not None and 0.0 <= peak.x <= 1.0:  # in the picture (outside, x runs to ±∞)
                assert other.x == pytest.approx(peak.x, abs=0.01), peak.name
    assert [p.name for p in similar.identification.peaks] == [p.name for p in identified.peaks]
    # every photo of the answer carries its own frame, like search --json
    assert similar.photos and all(p.frame is not None for p in similar.photos if p.hit.gps is not None)
    assert all(
        p.hit.predicted_peaks[0] == similar.peak.name or similar.peak.name in p.hit.predicted_peaks
        for p in similar.photos
    )


def test_a_peak_hidden_by_terrain_is_never_shown_in_frame(library: Library) -> None:
    photo = Library.load_photo(Path(library.album_root() or ".") / PHOTO)
    for peak in library.identify(photo, k=22).peaks:
        assert peak.placed is not None
        if peak.placed.occluded:
            assert not peak.placed.in_frame, peak.name


def test_a_click_fixes_the_heading_and_survives_a_catalog_rebuild(library: Library) -> None:
    photo_id = _stored(library, PHOTO)
    before = library.photo(photo_id)
    assert before is not None and before.frame is not None
    target = next(p for p in before.frame.peaks if p.name == "Ama Dablam")
    corrected = library.correct_heading(photo_id, target.peak_id, 0.25)
    assert corrected.frame is not None and corrected.hit.heading_source == "user"
    placed = corrected.frame.by_id(target.peak_id)
    assert placed is not None and placed.x == pytest.approx(0.25, abs=1e-6)
    # the stored in-frame peaks follow the new frame (predicted again, not left from the old heading)
    assert sorted(corrected.hit.peaks_in_frame) == sorted(p.name for p in corrected.frame.in_frame())
    library.build_catalog()  # a catalog rebuild predicts every photo again: the click stays
    after = library.photo(photo_id)
    assert after is not None and after.frame is not None and after.hit.heading_source == "user"
    again = after.frame.by_id(target.peak_id)
    assert again is not None and again.x == pytest.approx(0.25, abs=1e-6)
    # a click's height fixes the pitch: the clicked summit then stands at that height (x and y both)
    clicked = library.correct_heading(photo_id, target.peak_id, 0.4, 0.3)
    assert clicked.frame is not None
    summit = clicked.frame.by_id(target.peak_id)
    # the roll a registration found stays, and x and y are solved together with it: the summit is where clicked
    # (to the 0.001° the pitch is stored with)
    assert summit is not None and summit.x == pytest.approx(0.4, abs=1e-4)
    assert summit.y == pytest.approx(0.3, abs=1e-4)
    back = library.reset_heading(photo_id)
    assert back.hit.heading_source == "compass"


def test_a_catalog_built_by_another_process_is_seen_at_the_next_action(
    library: Library, tmp_path: Path
) -> None:
    other = Library.create(library.settings)  # as `peaklens catalog build` in another process
    peaks = tmp_path / "peaks.yaml"
    peaks.write_text(
        "- {id: ama-dablam, names: [Ama Dablam], lat: 27.8617, lon: 86.8614, elev_m: 6812}\n"
        "- {id: imaginary-ri, names: [Imaginary Ri], lat: 27.90, lon: 86.80, elev_m: 6001}\n"
    )
    before = library.peaks().fingerprint
    assert library.peaks().resolve("Imaginary Ri") is None
    try:
        other.build_catalog(peaks)
        assert library.peaks().fingerprint != before
        assert library.peaks().resolve("imaginary ri") == "Imaginary Ri"
        filters = library.resolve_peaks(SearchFilters(), ["Imaginary Ri"])
        assert filters.peaks == ("Imaginary Ri",)
    finally:
        other.build_catalog()


def test_adding_terrain_places_the_stored_photos_again_at_once(tiny_siglip: Path, tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for path in TREK_JPEGS[:2]:
        shutil.copy(path, album / path.name)
    library = Library.create(_settings(tiny_siglip, tmp_path))
    library.index(album)
    assert all(a.frame is None or not a.frame.terrain_checked for a in map(library.photo, _ids(library)) if a)
    change = library.add_terrain(DEM_TILES)
    assert change.tiles == ["N27E086", "N27E087", "N28E086", "N28E087"]
    assert change.replaced == 2
    framed = [library.photo(i) for i in _ids(library)]
    assert all(a is not None and a.frame is not None and a.frame.terrain_checked for a in framed)
    library.store.close()


def _ids(library: Library) -> list[str]:
    return [a.hit.id for a in library.browse(limit=100)]
