"""EXIF as a user's photos carry it: real trek photos, HEIC, and the junk broken cameras write."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from peaklens.exif import PhotoMeta, read_meta
from peaklens.records import GeoPoint
from tests.fixtures_images import ALBUM, TREK, junk_exif, make_exif, write_photo

pytestmark = pytest.mark.filterwarnings("ignore:Corrupt EXIF data")

NPT = timezone(timedelta(hours=5, minutes=45))


def meta_of(path: Path) -> PhotoMeta:
    with Image.open(path) as image:
        return read_meta(image)


def test_trek_jpeg_has_signed_gps_altitude_heading_and_nepal_time() -> None:
    meta = meta_of(TREK / "jpeg" / "IMG_1512.jpg")
    assert meta.gps is not None
    assert meta.gps.lat == pytest.approx(27.0 + 41 / 60 + 13.68 / 3600)  # 27°41'13.68" N (Lukla)
    assert meta.gps.lon == pytest.approx(86.0 + 43 / 60 + 53.72 / 3600)  # 86°43'53.72" E
    assert meta.altitude_m == pytest.approx(2851.07, abs=0.01)
    assert meta.heading_deg == pytest.approx(330.95, abs=0.01)
    assert meta.shot_time == datetime(2023, 10, 27, 6, 47, 48, tzinfo=NPT)
    assert meta.focal_length_mm == pytest.approx(6.86)
    assert meta.focal_length_35mm == 48
    assert meta.warnings == []


def test_every_trek_jpeg_is_in_the_khumbu_with_a_heading_and_an_offset() -> None:
    paths = sorted((TREK / "jpeg").glob("*.jpg"))
    assert len(paths) == 100
    for path in paths:
        meta = meta_of(path)
        assert meta.gps is not None, path.name
        assert 27.6 <= meta.gps.lat <= 28.0 and 86.7 <= meta.gps.lon <= 86.9, (path.name, meta.gps)
        assert meta.heading_deg is not None and 0.0 <= meta.heading_deg < 360.0
        assert meta.shot_time is not None and meta.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
        assert meta.altitude_m is not None and 2500 < meta.altitude_m < 5700
        assert meta.warnings == []


def test_every_heic_gives_the_same_place_time_and_lens_as_its_jpeg() -> None:
    heics = sorted((TREK / "heic").glob("*.HEIC"))
    assert len(heics) == 25
    for heic_path in heics:
        heic, jpeg = meta_of(heic_path), meta_of(TREK / "jpeg" / f"{heic_path.stem}.jpg")
        assert heic.gps is not None and heic.gps == jpeg.gps, heic_path.name
        assert heic.shot_time is not None and heic.shot_time == jpeg.shot_time, heic_path.name
        assert heic.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
        assert heic.heading_deg == jpeg.heading_deg and heic.altitude_m == jpeg.altitude_m, heic_path.name
        assert heic.focal_length_35mm == jpeg.focal_length_35mm and heic.warnings == []


def test_album_photo_from_aarhus() -> None:
    meta = meta_of(ALBUM / "exif" / "ColorfulCups.jpg")
    assert meta.gps == GeoPoint(pytest.approx(56.156, abs=1e-3), pytest.approx(10.208, abs=1e-3))  # type: ignore[arg-type]
    assert meta.shot_time == datetime(2014, 4, 29, 14, 25, 26)  # no offset recorded: naive
    assert meta.shot_time.tzinfo is None


def test_photo_without_exif_has_empty_meta(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(path)
    assert meta_of(path) == PhotoMeta()


@pytest.mark.parametrize(
    "fmt,suffix", [("JPEG", ".jpg"), ("HEIF", ".heic"), ("PNG", ".png"), ("WEBP", ".webp")]
)
def test_written_exif_reads_back_in_every_format(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = write_photo(
        tmp_path / f"p{suffix}", gps=(-33.8568, 151.2153), altitude=-12.5, heading=359.99,
        shot_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
        focal35=26, fmt=fmt,
    )  # fmt: skip
    meta = meta_of(path)
    assert meta.gps is not None
    assert meta.gps.lat == pytest.approx(-33.8568, abs=1e-6) and meta.gps.lon == pytest.approx(
        151.2153, abs=1e-6
    )
    assert meta.altitude_m == pytest.approx(-12.5)  # below sea level
    assert meta.heading_deg == pytest.approx(359.99)
    assert meta.shot_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(-timedelta(hours=3, minutes=30)))
    assert meta.focal_length_35mm == 26
    assert meta.warnings == []


def test_western_hemisphere_is_negative_and_zero_zero_is_no_fix(tmp_path: Path) -> None:
    west = meta_of(write_photo(tmp_path / "w.jpg", gps=(40.7, -74.0)))
    assert west.gps is not None and west.gps.lon == pytest.approx(-74.0) and west.gps.lat > 0
    nowhere = meta_of(write_photo(tmp_path / "z.jpg", gps=(0.0, 0.0)))
    assert nowhere.gps is None


def test_time_falls_back_to_digitized_then_datetime(tmp_path: Path) -> None:
    exif = make_exif()
    exif[0x0132] = "2020:05:06 07:08:09"
    exif[0x8769] = {0x9004: "2021:05:06 07:08:09", 0x9012: "+01:00"}
    assert meta_of(write_photo(tmp_path / "d.jpg", exif=exif)).shot_time == datetime(
        2021, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=1))
    )
    exif = make_exif()
    exif[0x0132] = "2020:05:06 07:08:09"
    exif[0x8769] = {0x9003: "0000:00:00 00:00:00"}  # the standard "unknown"
    meta = meta_of(write_photo(tmp_path / "t.jpg", exif=exif))
    assert meta.shot_time == datetime(2020, 5, 6, 7, 8, 9)
    assert meta.warnings == []


def test_junk_exif_leaves_fields_empty_with_warnings(tmp_path: Path) -> None:
    meta = meta_of(write_photo(tmp_path / "junk.jpg", exif=junk_exif()))
    assert (meta.gps, meta.altitude_m, meta.heading_deg, meta.shot_time, meta.focal_length_mm) == (None,) * 5
    assert meta.focal_length_35mm is None  # 0 means unknown
    text = " | ".join(meta.warnings)
    assert "zero denominator" in text and "GPS position ignored" in text
    assert "720 is out of range" in text and "not a date" in text


@pytest.mark.parametrize(
    "gps,needle",
    [
        ({1: "N", 2: (91.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)}, "out of range"),
        ({1: "N", 2: (float("nan"), 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)}, "finite"),
        ({1: "N", 2: "27.7", 3: "E", 4: (10.0, 0.0, 0.0)}, "not a number"),
        ({1: "N", 2: (27.0, 1.0, 2.0, 3.0, 4.0), 3: "E", 4: (10.0, 0.0, 0.0)}, "parts"),
        ({1: 7, 2: (27.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)}, "expected text"),
        ({1: "N", 2: (27.0, 0.0, 0.0)}, "only one"),
    ],
)
def test_gps_junk_types_are_dropped(gps: dict[int, object], needle: str) -> None:
    image = Image.new("RGB", (4, 4))
    image.getexif()[0x8825] = gps  # what Pillow hands us after parsing odd files
    meta = read_meta(image)
    assert meta.gps is None
    assert any(needle in w for w in meta.warnings), meta.warnings


def test_bad_offset_keeps_the_local_time_naive() -> None:
    image = Image.new("RGB", (4, 4))
    image.getexif()[0x8769] = {0x9003: "2023:10:27 06:47:48", 0x9011: "Nepal"}
    meta = read_meta(image)
    assert meta.shot_time == datetime(2023, 10, 27, 6, 47, 48)
    assert any("offset" in w for w in meta.warnings)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_read_meta_never_raises_on_random_exif_bytes(blob: bytes) -> None:
    for data in (
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + blob,
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + blob,
    ):
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4)).save(buffer, format="PNG", exif=data)
        buffer.seek(0)
        with Image.open(buffer) as image:
            assert isinstance(read_meta(image), PhotoMeta)
