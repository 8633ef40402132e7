"""Magnetic compass headings (GPSImgDirectionRef = M) become true north with the World Magnetic Model.

The expected declination is the model's published value for Reykjavik in June 2024 (NOAA's calculator:
about 11.7° west), not a value computed by the code under test.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from peaklens.exif import PhotoMeta, read_meta, to_true_north
from peaklens.magnetic import declination_deg
from peaklens.records import GeoPoint
from tests.conftest import IndexedAlbum, run_cli
from tests.fixtures_images import exiftool_read, exiftool_write, make_exif, write_photo

REYKJAVIK = GeoPoint(64.1466, -21.9426)
PUBLISHED_DECLINATION_JUNE_2024 = -11.7  # west


def _compass_photo(path: Path, ref: str, *, gps: bool = True) -> Path:
    tags = {
        "GPSImgDirection": "100",
        "GPSImgDirectionRef": ref,
        "DateTimeOriginal": "2024:06:15 12:00:00",
        "OffsetTimeOriginal": "+00:00",
    }
    if gps:
        tags.update(
            {
                "GPSLatitude": "64.1466",
                "GPSLatitudeRef": "N",
                "GPSLongitude": "21.9426",
                "GPSLongitudeRef": "W",
            }
        )
    return exiftool_write(write_photo(path, exif=make_exif()), tags)


def _meta(path: Path) -> PhotoMeta:
    with Image.open(path) as image:
        return read_meta(image)


def test_reykjavik_declination_in_june_2024_is_the_published_value() -> None:
    value, model = declination_deg(REYKJAVIK, date(2024, 6, 15))
    assert value == pytest.approx(PUBLISHED_DECLINATION_JUNE_2024, abs=0.5)
    assert model == "WMM-2020"


def test_a_magnetic_heading_is_turned_to_true_north(tmp_path: Path) -> None:
    path = _compass_photo(tmp_path / "reykjavik.jpg", "M")
    assert exiftool_read([path], "GPSImgDirectionRef")[path.name]["GPSImgDirectionRef"] == "M"
    meta = _meta(path)
    assert meta.heading_ref == "M"
    assert meta.declination_deg == pytest.approx(PUBLISHED_DECLINATION_JUNE_2024, abs=0.5)
    assert meta.heading_deg == pytest.approx(100.0 + PUBLISHED_DECLINATION_JUNE_2024, abs=0.5)  # ~88.3
    assert meta.heading_deg == pytest.approx(100.0 + meta.declination_deg)
    assert meta.warnings == []


def test_a_true_heading_is_kept_as_it_is(tmp_path: Path) -> None:
    meta = _meta(_compass_photo(tmp_path / "true.jpg", "T"))
    assert (meta.heading_deg, meta.heading_ref, meta.declination_deg) == (100.0, "T", None)


def test_the_trek_photos_record_true_north() -> None:
    from tests.fixtures_images import TREK

    meta = _meta(TREK / "jpeg" / "IMG_2332.jpg")
    assert meta.heading_ref == "T" and meta.declination_deg is None
    assert meta.heading_deg == pytest.approx(86.397, abs=0.001)


def test_the_model_epoch_covering_the_date_is_used() -> None:
    assert declination_deg(REYKJAVIK, date(2024, 12, 31))[1] == "WMM-2020"
    assert declination_deg(REYKJAVIK, date(2025, 1, 1))[1] == "WMM-2025"
    # the field drifts east here by a few tenths of a degree a year, across the change of model too
    assert (
        abs(
            declination_deg(REYKJAVIK, date(2025, 1, 1))[0]
            - declination_deg(REYKJAVIK, date(2024, 12, 31))[0]
        )
        < 0.5
    )


def test_a_magnetic_heading_without_a_position_waits_for_one(tmp_path: Path) -> None:
    """A camera without GPS keeps its magnetic heading until a GPX track places it; then it is turned."""
    meta = _meta(_compass_photo(tmp_path / "nogps.jpg", "M", gps=False))
    assert (meta.heading_deg, meta.heading_ref, meta.declination_deg) == (100.0, "M", None)
    meta.gps = REYKJAVIK
    to_true_north(meta)
    assert meta.heading_deg == pytest.approx(100.0 + PUBLISHED_DECLINATION_JUNE_2024, abs=0.5)
    to_true_north(meta)  # once only
    assert meta.heading_deg == pytest.approx(100.0 + (meta.declination_deg or 0.0))


def test_a_magnetic_heading_without_a_date_uses_today_and_says_so() -> None:
    meta = PhotoMeta(gps=REYKJAVIK, heading_deg=100.0, heading_ref="M")
    to_true_north(meta)
    assert meta.declination_deg is not None and meta.heading_deg != 100.0
    assert meta.warnings == ["magnetic heading without a capture date: today's declination used"]


def test_a_date_before_every_model_gets_the_nearest_one_and_a_warning() -> None:
    meta = PhotoMeta(
        gps=REYKJAVIK, heading_deg=100.0, heading_ref="M",
        shot_time=datetime(2005, 6, 1, 12, tzinfo=timezone(timedelta(0))),
    )  # fmt: skip
    to_true_north(meta)
    assert meta.declination_deg is not None
    assert "no World Magnetic Model covers it" in meta.warnings[0]


def test_a_junk_reference_is_reported_and_taken_as_true_north(tmp_path: Path) -> None:
    exif = make_exif(gps=REYKJAVIK, heading=100.0)
    exif[0x8825][16] = "X"
    path = write_photo(tmp_path / "junk.jpg", exif=exif)
    meta = _meta(path)
    assert meta.heading_ref == "T" and meta.heading_deg == pytest.approx(100.0)
    assert any("reference" in w and "not T or M" in w for w in meta.warnings)


def test_identify_json_gives_the_true_heading_with_its_reference_and_declination(
    tmp_path: Path, indexed_album: IndexedAlbum, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in indexed_album.env.items():
        monkeypatch.setenv(key, value)
    path = _compass_photo(tmp_path / "reykjavik.jpg", "M")
    result = run_cli("identify", str(path), "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["heading_ref"] == "M"
    assert data["declination_deg"] == pytest.approx(PUBLISHED_DECLINATION_JUNE_2024, abs=0.5)
    assert data["camera"]["heading_deg"] == pytest.approx(100.0 + PUBLISHED_DECLINATION_JUNE_2024, abs=0.5)
