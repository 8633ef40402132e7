"""Decoding what users put in albums: every photo comes out RGB and upright, every broken file as one reason."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peaklens.imaging import BadImage, LoadedPhoto, decode_many, open_photo, open_upload
from peaklens.scan import scan_album
from tests.fixtures_images import TREK, write_bad_album, write_photo

HEIC = TREK / "heic"

# upright pixel size of each good file written by write_bad_album
GOOD_SIZES = {
    "Sub Folder/UPPER.JPG": (40, 30),
    "alpha.png": (40, 30),
    "palette.png": (32, 32),
    "gray16.png": (60, 40),
    "cmyk.jpg": (50, 40),
    "junk_gps.jpg": (64, 48),
    "plain.jpg": (64, 48),
    "rotated.jpg": (48, 64),  # stored 64x48 with orientation 6
    "nested/deeper/shot.webp": (64, 48),
    "trek.heic": (96, 64),
}


@pytest.fixture(scope="module")
def bad_album(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("album")
    return root, write_bad_album(root)


def test_every_file_of_a_messy_album_decodes_or_says_why(bad_album: tuple[Path, dict[str, str]]) -> None:
    root, expected = bad_album
    assert {k for k, v in expected.items() if v == "ok"} == set(GOOD_SIZES)
    for rel, outcome in expected.items():
        if outcome == "ok":
            photo = open_photo(root / rel)
            assert photo.image.mode == "RGB", rel
            assert photo.image.size == GOOD_SIZES[rel] == (photo.width, photo.height), rel
        else:
            with pytest.raises(BadImage) as info:
                open_photo(root / rel)
            assert outcome in str(info.value), (rel, str(info.value))


def test_bad_file_reasons_are_plain_words(bad_album: tuple[Path, dict[str, str]]) -> None:
    root, _ = bad_album
    reasons = {}
    for name in ("empty.jpg", "truncated.jpg", "notes.jpg", "bomb.png"):
        with pytest.raises(BadImage) as info:
            open_photo(root / name)
        reasons[name] = str(info.value)
    assert reasons == {
        "empty.jpg": "empty file (0 bytes)",
        "truncated.jpg": "truncated or corrupt image data",
        "notes.jpg": "not an image (cannot identify image file)",
        "bomb.png": "image too large: 40000x40000 pixels exceeds the 178 megapixel limit",
    }


def test_missing_file_and_folder_are_bad_images_too(tmp_path: Path) -> None:
    with pytest.raises(BadImage, match="not found"):
        open_photo(tmp_path / "gone.jpg")
    with pytest.raises(BadImage, match="folder"):
        open_photo(tmp_path)


def test_pixel_limit_is_checked_from_the_header(tmp_path: Path) -> None:
    path = write_photo(tmp_path / "p.jpg", size=(640, 480))
    with pytest.raises(BadImage, match=r"image too large: 640x480 pixels exceeds the 100000 pixel limit"):
        open_photo(path, max_pixels=100_000)


def test_transparency_is_composited_onto_white(bad_album: tuple[Path, dict[str, str]]) -> None:
    root, _ = bad_album
    alpha = open_photo(root / "alpha.png").image
    assert alpha.getpixel((5, 15)) == (0, 0, 255)  # opaque blue half
    assert alpha.getpixel((35, 15)) == (255, 255, 255)  # transparent red half: white, not red or black
    palette = open_photo(root / "palette.png").image
    assert palette.getpixel((5, 5)) == (255, 255, 255) and palette.getpixel((25, 5)) == (255, 0, 0)


def test_sixteen_bit_grey_is_scaled_not_clipped(bad_album: tuple[Path, dict[str, str]]) -> None:
    root, _ = bad_album
    array = np.asarray(open_photo(root / "gray16.png").image).astype(int)
    assert array[0, 0].tolist() == [0, 0, 0] and array[-1, -1].tolist() == [255, 255, 255]
    assert 110 < array.mean() < 145  # a full gradient, not a white (clipped) or black (truncated) image


@pytest.mark.parametrize("mode,peak", [("I", 65535), ("I", 200), ("F", 3.5)])
def test_wide_tiffs_come_out_as_a_visible_gradient(tmp_path: Path, mode: str, peak: float) -> None:
    values = np.linspace(0, peak, 30 * 20).reshape(20, 30)
    path = tmp_path / "wide.tif"
    Image.fromarray(values.astype(np.int32 if mode == "I" else np.float32), mode).save(path)
    array = np.asarray(open_photo(path).image).astype(int)
    assert array[0, 0, 0] == 0 and array[-1, -1, 0] >= 200


def test_cmyk_jpeg_keeps_its_colour(bad_album: tuple[Path, dict[str, str]]) -> None:
    root, _ = bad_album
    r, g, b = open_photo(root / "cmyk.jpg").image.getpixel((25, 20))  # type: ignore[misc]
    assert r > 240 and g < 15 and b < 15


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".heic", ".tif"])
def test_exif_orientation_makes_the_photo_upright(tmp_path: Path, suffix: str) -> None:
    path = write_photo(tmp_path / f"r{suffix}", size=(64, 48), orientation=6)  # white marker stored top-left
    photo = open_photo(path)
    assert photo.image.size == (48, 64) and (photo.width, photo.height) == (48, 64)
    pixels = np.asarray(photo.image)
    assert pixels[4, 44].min() > 230  # rotated 90° clockwise: the marker is now top-right
    assert pixels[4, 4].max() < 230


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".heic", ".tif"])
def test_big_photos_are_reduced_to_target_and_small_ones_never_upscaled(tmp_path: Path, suffix: str) -> None:
    big = open_photo(write_photo(tmp_path / f"big{suffix}", size=(2000, 1500)), target=448)
    assert big.image.size == (448, 336) and (big.width, big.height) == (2000, 1500)
    small = open_photo(write_photo(tmp_path / f"small{suffix}", size=(64, 48)), target=448)
    assert small.image.size == (64, 48)
    assert np.asarray(small.image).shape == (48, 64, 3)  # pixels usable after the file is closed


def test_real_jpeg_is_decoded_small_with_its_meta() -> None:
    photo = open_photo(TREK / "jpeg" / "IMG_1512.jpg", target=224)
    assert photo.image.mode == "RGB" and max(photo.image.size) == 224
    assert (photo.width, photo.height) == (768, 1024)
    assert photo.meta.gps is not None and 27.6 < photo.meta.gps.lat < 28.0


def test_heic_uses_its_embedded_thumbnail_and_keeps_the_primary_exif() -> None:
    path = HEIC / "IMG_1512.HEIC"
    photo = open_photo(path, target=448)
    assert photo.image.size == (312, 416)  # the 416 px embedded thumbnail, upright
    assert (photo.width, photo.height) == (3024, 4032)
    jpeg = open_photo(TREK / "jpeg" / "IMG_1512.jpg")
    assert photo.meta.gps == jpeg.meta.gps and photo.meta.shot_time == jpeg.meta.shot_time
    full = open_photo(path, target=448, min_side=10_000)  # no thumbnail is that big: full decode
    assert full.image.size == (336, 448)

    def at_224(image: Image.Image) -> np.ndarray:
        return np.asarray(image.resize((224, 224), Image.Resampling.BICUBIC), dtype=np.float64)

    assert np.abs(at_224(photo.image) - at_224(full.image)).mean() < 8.0  # same picture


def test_heic_without_thumbnail_and_jpeg_named_heic_still_decode() -> None:
    no_thumb = open_photo(HEIC / "IMG_2443.HEIC")
    assert no_thumb.image.size == (448, 336) and (no_thumb.width, no_thumb.height) == (4032, 3024)
    disguised = open_photo(HEIC / "IMG_2733.HEIC")  # really a JPEG: content decides, not the name
    assert disguised.image.mode == "RGB" and max(disguised.image.size) == 448


def test_truncated_heic_is_a_bad_image(tmp_path: Path) -> None:
    data = (HEIC / "IMG_1512.HEIC").read_bytes()
    path = tmp_path / "cut.heic"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(BadImage, match=r"^truncated or corrupt image data"):
        open_photo(path)


def test_upload_size_cap_and_guards(tmp_path: Path) -> None:
    mb = 1024 * 1024
    with pytest.raises(BadImage, match=r"^upload is 52\.3 MB; the limit is 40 MB$"):
        open_upload(b"\0" * int(52.3 * mb), max_bytes=40 * mb)
    with pytest.raises(BadImage, match="empty file"):
        open_upload(b"", max_bytes=mb)
    with pytest.raises(BadImage, match="not an image"):
        open_upload(b"<html>hello</html>", max_bytes=mb)
    heic = open_upload((HEIC / "IMG_1512.HEIC").read_bytes(), max_bytes=40 * mb)
    assert heic.image.mode == "RGB" and heic.meta.gps is not None
    png = write_photo(tmp_path / "u.png", size=(900, 600))
    assert open_upload(png.read_bytes(), max_bytes=mb, target=300).image.size == (300, 200)


def test_decode_many_keeps_input_order_and_reports_bad_files(bad_album: tuple[Path, dict[str, str]]) -> None:
    root, expected = bad_album
    files = scan_album(root)
    results = list(decode_many(files, target=224, workers=4, prefetch=3))
    assert [f.rel_path for f, _ in results] == [f.rel_path for f in files]
    for file, result in results:
        if expected[file.rel_path] == "ok":
            assert isinstance(result, LoadedPhoto) and result.image.mode == "RGB"
        else:
            assert isinstance(result, BadImage) and expected[file.rel_path] in str(result)


def test_decode_many_on_real_heics_overlaps_and_can_stop_early() -> None:
    files = scan_album(HEIC)
    assert len(files) == 25
    start = time.perf_counter()
    decoded = decode_many(files, target=448, workers=2, prefetch=4)
    first = [next(decoded) for _ in range(3)]
    decoded.close()  # stopping early must not hang or decode the rest
    assert time.perf_counter() - start < 10
    assert [f.rel_path for f, _ in first] == [f.rel_path for f in files[:3]]
    assert all(isinstance(r, LoadedPhoto) for _, r in first)
    assert list(decode_many([], target=448, workers=2)) == []
