"""Indexing with a DEM registers the photos, keeps their camera in the store, and a user's correction survives a
terrain change — on real trek photos and the real tiles of ../shared/dem, the tiny model, an embedded store.

The field of view is checked against the EXIF 35 mm focal length read here with Pillow (the diagonal rule by
hand), the aspect against the photo's upright size.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from peaklens.config import load_settings
from peaklens.dem import add_tiles
from peaklens.embed.loader import load_embedder
from peaklens.frame import camera_of_hit
from peaklens.index import index_album, replace_after_terrain_change
from peaklens.records import PhotoUpdate
from peaklens.store.factory import open_store

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTOS = ["IMG_2195.jpg", "IMG_2114.jpg", "IMG_2844.jpg"]

pytestmark = pytest.mark.skipif(
    not (SHARED / "dem" / "N27E086.hgt").is_file() or not (SHARED / "trek" / "jpeg").is_dir(),
    reason="needs ../shared/dem and ../shared/trek",
)


def _hand_hfov_and_aspect(path: Path) -> tuple[float, float]:
    with Image.open(path) as img:
        focal_35 = float(img.getexif().get_ifd(0x8769)[0xA405])
        width, height = ImageOps.exif_transpose(img).size
    across = math.hypot(36.0, 24.0) * width / math.hypot(width, height)
    return math.degrees(2 * math.atan(across / (2 * focal_35))), height / width


def test_indexing_registers_keeps_the_camera_and_a_user_correction_survives_a_terrain_change(
    tmp_path: Path, tiny_siglip: Path
) -> None:
    album = tmp_path / "album"
    album.mkdir()
    for name in PHOTOS:
        shutil.copyfile(SHARED / "trek" / "jpeg" / name, album / name)
    settings = load_settings(model=str(tiny_siglip), data_dir=tmp_path / "store", store="embedded")
    add_tiles(Path(settings.data_dir), [SHARED / "dem" / "N27E086.hgt"])  # every camera stands on it
    store = open_store(settings)
    report = index_album(album, settings, load_embedder(settings), store)
    assert report.registered + report.registration_gave_up == len(PHOTOS)
    hits = {hit.path: hit for hit, _ in next(store.iter_photo_vectors())}
    assert set(hits) == set(PHOTOS)
    registered = [h for h in hits.values() if h.heading_source == "registered"]
    assert len(registered) == report.registered >= 1
    for name, hit in hits.items():
        hfov, aspect = _hand_hfov_and_aspect(album / name)
        assert hit.extra["hfov_deg"] == pytest.approx(hfov, abs=1e-3)
        assert hit.extra["aspect"] == pytest.approx(aspect, abs=1e-3)
        camera = camera_of_hit(hit)  # what re-placing the photo later uses: the kept field of view
        assert camera is not None and camera.hfov_deg == pytest.approx(hfov, abs=1e-3)
        if hit.heading_source == "registered":
            assert isinstance(hit.extra["pitch_deg"], float) and camera.pitch_deg == hit.extra["pitch_deg"]
            frame = hit.extra["frame"]
            assert isinstance(frame, dict) and frame["heading_source"] == "registered"
            assert frame["label_height"] == "projected"

    # a user drags one label: heading_source "user"; then more terrain arrives
    user = registered[0]
    store.update_photos({user.id: PhotoUpdate(heading_offset_deg=1.25, heading_source="user")})
    add_tiles(Path(settings.data_dir), [SHARED / "dem" / "N27E087.hgt"])
    assert replace_after_terrain_change(store, settings, lambda _line: None) == len(PHOTOS)
    after = {hit.id: hit for hit, _ in next(store.iter_photo_vectors())}
    kept = after[user.id]
    assert (kept.heading_source, kept.heading_offset_deg) == ("user", 1.25)
    frame = kept.extra["frame"]
    assert (
        isinstance(frame, dict) and frame["heading_source"] == "user" and frame["heading_offset_deg"] == 1.25
    )
    assert frame["terrain"] == "checked"
    store.close()
