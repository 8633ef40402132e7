"""EXIF as a user's photos carry it: real trek photos, HEIC, and the junk broken cameras write."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from peaklens.exif import PhotoMeta, read_meta
from peaklens.records import GeoPoint
from tests.fixtures_images import (
    ALBUM,
    TREK,
    exiftool_moment,
    exiftool_read,
    exiftool_write,
    junk_exif,
    make_exif,
    write_photo,
)

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
    assert meta.shot_time == datetime(2023, 10, 27, 6, 47, 48, 109_000, tzinfo=NPT)  # SubSecTimeOriginal 109
    assert meta.local_time == datetime(2023, 10, 27, 6, 47, 48, 109_000)
    assert meta.time_source == "DateTimeOriginal"
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
    assert meta.local_time == datetime(2023, 10, 27, 6, 47, 48)
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


# --- capture time: which tag, and what exiftool reads from the same file -----------------------------------


def plain_photo(path: Path) -> Path:
    """A photo with no time tags at all (only Make), for exiftool to write into."""
    return write_photo(path, exif=make_exif())


def test_date_time_original_keeps_its_offset_and_subseconds(tmp_path: Path) -> None:
    path = exiftool_write(
        plain_photo(tmp_path / "dto.jpg"),
        {"DateTimeOriginal": "2023:10:21 05:50:12", "OffsetTimeOriginal": "+05:45", "SubSecTimeOriginal": "25",
         "CreateDate": "2023:10:21 05:55:00", "ModifyDate": "2024:01:02 20:00:00"},
    )  # fmt: skip
    reference = exiftool_read([path], "SubSecDateTimeOriginal")[path.name]["SubSecDateTimeOriginal"]
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(reference))
    assert meta.shot_time == datetime(2023, 10, 21, 5, 50, 12, 250_000, tzinfo=NPT)  # "25" is .25 s
    assert meta.local_time == datetime(2023, 10, 21, 5, 50, 12, 250_000)  # the camera's wall clock
    assert meta.time_source == "DateTimeOriginal" and meta.warnings == []


def test_without_date_time_original_the_digitized_time_is_used(tmp_path: Path) -> None:
    path = exiftool_write(
        plain_photo(tmp_path / "dtd.jpg"),
        {"CreateDate": "2023:10:24 23:30:00", "OffsetTimeDigitized": "-03:30", "SubSecTimeDigitized": "5",
         "ModifyDate": "2024:01:02 20:00:00", "OffsetTime": "+01:00"},
    )  # fmt: skip
    read = exiftool_read([path], "SubSecCreateDate", "DateTimeOriginal")[path.name]
    assert "DateTimeOriginal" not in read
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(read["SubSecCreateDate"]))
    assert meta.shot_time == datetime(
        2023, 10, 24, 23, 30, 0, 500_000, tzinfo=timezone(-timedelta(hours=3.5))
    )
    assert meta.local_time == datetime(2023, 10, 24, 23, 30, 0, 500_000)  # 25 Oct in UTC, 24 Oct locally
    assert meta.time_source == "DateTimeDigitized"


def test_a_date_time_original_without_offset_stays_naive_wall_clock(tmp_path: Path) -> None:
    path = exiftool_write(plain_photo(tmp_path / "naive.jpg"), {"DateTimeOriginal": "2019:02:03 04:05:06"})
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(
        str(exiftool_read([path], "DateTimeOriginal")[path.name]["DateTimeOriginal"])
    )
    assert meta.shot_time == datetime(2019, 2, 3, 4, 5, 6) and meta.shot_time.tzinfo is None
    assert meta.local_time == datetime(2019, 2, 3, 4, 5, 6)


def test_only_modify_date_gives_no_capture_time(tmp_path: Path) -> None:
    """ModifyDate is when a program last saved the file: using it would date a 2014 photo to 2015."""
    path = exiftool_write(
        plain_photo(tmp_path / "edited.jpg"), {"ModifyDate": "2015:11:17 19:27:07", "OffsetTime": "+01:00"}
    )
    assert exiftool_read([path], "ModifyDate")[path.name]["ModifyDate"] == "2015:11:17 19:27:07"
    meta = meta_of(path)
    assert (meta.shot_time, meta.local_time, meta.time_source) == (None, None, None)
    assert meta.warnings == []


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".heic"])
def test_only_xmp_gives_the_xmp_date_time_original(tmp_path: Path, suffix: str) -> None:
    path = exiftool_write(
        plain_photo(tmp_path / f"xmp{suffix}"),
        {"XMP-exif:DateTimeOriginal": "2023:10:21 05:50:12.5+05:45", "XMP-xmp:CreateDate": "2020:01:01 00:00:00",
         "ModifyDate": "2024:01:02 20:00:00"},
    )  # fmt: skip
    reference = exiftool_read([path], "XMP-exif:DateTimeOriginal")[path.name]["DateTimeOriginal"]
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(reference))
    assert meta.shot_time == datetime(2023, 10, 21, 5, 50, 12, 500_000, tzinfo=NPT)
    assert meta.local_time == datetime(2023, 10, 21, 5, 50, 12, 500_000)
    assert meta.time_source == "XMP:exif:DateTimeOriginal" and meta.warnings == []


def test_xmp_photoshop_date_created_comes_before_xmp_create_date(tmp_path: Path) -> None:
    path = exiftool_write(
        plain_photo(tmp_path / "ps.jpg"),
        {"XMP-photoshop:DateCreated": "2021:06:07 08:09:10", "XMP-xmp:CreateDate": "2020:01:01 00:00:00Z"},
    )
    read = exiftool_read([path], "XMP-photoshop:DateCreated")[path.name]
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(read["DateCreated"])) == datetime(2021, 6, 7, 8, 9, 10)
    assert meta.time_source == "XMP:photoshop:DateCreated"


def test_xmp_written_as_attributes_reads_like_exiftool(tmp_path: Path) -> None:
    """Adobe tools write XMP properties as attributes of rdf:Description; exiftool writes elements."""
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmp:CreateDate="2022-12-31T23:59:58Z"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    path = tmp_path / "attr.jpg"
    Image.new("RGB", (16, 16)).save(path, format="JPEG", xmp=packet.encode())
    reference = exiftool_read([path], "XMP-xmp:CreateDate")[path.name]["CreateDate"]
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(reference))
    assert meta.shot_time == datetime(2022, 12, 31, 23, 59, 58, tzinfo=timezone.utc)
    assert meta.time_source == "XMP:xmp:CreateDate"


def test_only_gps_time_is_utc_with_no_local_day(tmp_path: Path) -> None:
    path = exiftool_write(
        plain_photo(tmp_path / "gps.jpg"),
        {"GPSDateStamp": "2023:10:21", "GPSTimeStamp": "00:05:30.5", "ModifyDate": "2024:01:02 20:00:00"},
    )
    reference = exiftool_read([path], "GPSDateTime")[path.name]["GPSDateTime"]
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(reference))
    assert meta.shot_time == datetime(2023, 10, 21, 0, 5, 30, 500_000, tzinfo=timezone.utc)
    assert meta.local_time is None  # the camera's zone is unknown: its calendar day is too
    assert meta.time_source == "GPS"


def test_gps_time_takes_the_camera_zone_when_an_offset_names_it(tmp_path: Path) -> None:
    path = exiftool_write(
        plain_photo(tmp_path / "gps_npt.jpg"),
        {"GPSDateStamp": "2023:10:20", "GPSTimeStamp": "23:59:00", "OffsetTimeOriginal": "+05:45"},
    )
    reference = exiftool_moment(str(exiftool_read([path], "GPSDateTime")[path.name]["GPSDateTime"]))
    meta = meta_of(path)
    assert meta.shot_time == reference  # the same instant ...
    assert meta.shot_time is not None and meta.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
    assert meta.local_time == datetime(2023, 10, 21, 5, 44)  # ... on 21 Oct in Nepal (23:59 + 5:45)
    assert meta.time_source == "GPS"


def test_trek_photo_without_camera_times_falls_back_to_its_gps_clock(tmp_path: Path) -> None:
    path = tmp_path / "IMG_1512.jpg"
    path.write_bytes((TREK / "jpeg" / "IMG_1512.jpg").read_bytes())
    exiftool_write(path, {"DateTimeOriginal": "", "CreateDate": ""})
    read = exiftool_read([path], "GPSDateTime", "OffsetTimeOriginal", "DateTimeOriginal")[path.name]
    assert "DateTimeOriginal" not in read and read["OffsetTimeOriginal"] == "+05:45"
    meta = meta_of(path)
    assert meta.shot_time == exiftool_moment(str(read["GPSDateTime"]))  # 2023:10:27 01:02:47Z
    assert meta.local_time == datetime(2023, 10, 27, 6, 47, 47)
    assert meta.time_source == "GPS"


def test_real_trek_photos_agree_with_exiftool() -> None:
    jpegs = sorted((TREK / "jpeg").glob("*.jpg"))[::20]
    heics = sorted((TREK / "heic").glob("*.HEIC"))[::5]
    assert len(jpegs) == 5 and len(heics) == 5
    for group in (jpegs, heics):  # JPEG and HEIC share stems: exiftool reads each kind on its own
        read = exiftool_read(group, "SubSecDateTimeOriginal", "GPSDateTime", "ModifyDate")
        for path in group:
            meta = meta_of(path)
            moment = exiftool_moment(str(read[path.name]["SubSecDateTimeOriginal"]))
            assert meta.shot_time == moment, path.name
            assert meta.local_time == moment.replace(tzinfo=None), path.name
            assert meta.time_source == "DateTimeOriginal" and meta.warnings == [], path.name
            gps_clock = exiftool_moment(str(read[path.name]["GPSDateTime"]))
            assert abs(meta.shot_time - gps_clock) < timedelta(minutes=1), path.name  # two clocks, one moment


def test_blank_offset_is_the_standard_unknown_not_junk() -> None:
    image = Image.new("RGB", (4, 4))
    image.getexif()[0x8769] = {0x9003: "2023:10:27 06:47:48", 0x9011: "   :  ", 0x9291: "  "}
    meta = read_meta(image)
    assert meta.shot_time == datetime(2023, 10, 27, 6, 47, 48) and meta.warnings == []


@pytest.mark.parametrize(
    ("packet", "needle"),
    [
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/"/>', "DTD"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed></x:xmpmeta>", "not readable XML"),
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description'
            b' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:DateCreated="2023-10-21"/></rdf:RDF>',
            "has no time of day",
        ),
    ],
)
def test_unusable_xmp_is_reported_and_the_gps_clock_used(tmp_path: Path, packet: bytes, needle: str) -> None:
    exif = make_exif()
    exif[0x8825] = {7: (IFDRational(1, 1), IFDRational(2, 1), IFDRational(47, 1)), 29: "2023:10:27"}
    path = tmp_path / "bad_xmp.jpg"
    Image.new("RGB", (16, 16)).save(path, format="JPEG", exif=exif.tobytes(), xmp=packet)
    meta = meta_of(path)
    assert meta.time_source == "GPS" and meta.shot_time == datetime(
        2023, 10, 27, 1, 2, 47, tzinfo=timezone.utc
    )
    assert any(needle in w for w in meta.warnings), meta.warnings


@pytest.mark.parametrize(
    ("gps", "needle"),
    [
        ({7: (IFDRational(25, 1), IFDRational(0, 1), IFDRational(0, 1)), 29: "2023:10:27"}, "out of range"),
        (
            {7: (IFDRational(1, 0), IFDRational(0, 1), IFDRational(0, 1)), 29: "2023:10:27"},
            "zero denominator",
        ),
        (
            {7: (IFDRational(1, 1), IFDRational(0, 1), IFDRational(0, 1)), 29: "2023:02:30"},
            "not a valid date",
        ),
        ({7: (IFDRational(1, 1),), 29: "2023:10:27"}, "hours, minutes, seconds"),
    ],
)
def test_junk_gps_clock_is_dropped_with_a_warning(gps: dict[int, object], needle: str) -> None:
    image = Image.new("RGB", (4, 4))
    image.getexif()[0x8825] = gps
    meta = read_meta(image)
    assert meta.shot_time is None and meta.time_source is None
    assert any(needle in w for w in meta.warnings), meta.warnings


def test_a_time_with_no_utc_instant_is_dropped_for_the_next_source() -> None:
    """9999-12-31 23:59:59 at UTC-14 would be year 10000 in UTC, which no store can hold."""
    image = Image.new("RGB", (4, 4))
    image.getexif()[0x8769] = {
        0x9003: "9999:12:31 23:59:59", 0x9011: "-14:00", 0x9004: "2023:10:27 06:47:48", 0x9012: "+05:45",
    }  # fmt: skip
    meta = read_meta(image)
    assert meta.shot_time == datetime(2023, 10, 27, 6, 47, 48, tzinfo=NPT)
    assert meta.time_source == "DateTimeDigitized"
    assert any("out of range" in w for w in meta.warnings), meta.warnings


# --- pinned by mutation testing (was test_mutation_pins_exif.py): EXIF details that mutation testing showed no other test holds (docs/TESTING.md): every range edge, every
GPS, EXIF = 0x8825, 0x8769
PLAIN_POSITION = {1: "N", 2: (27.5,), 3: "E", 4: (86.5,)}  # a plain position to add tags to


def meta_with(
    gps: dict[int, Any] | None = None,
    exif: dict[int, Any] | None = None,
    ifd0: dict[int, Any] | None = None,
    xmp: bytes | str | None = None,
) -> PhotoMeta:
    image = Image.new("RGB", (4, 4))
    tags = image.getexif()
    for tag, value in (ifd0 or {}).items():
        tags[tag] = value
    if gps is not None:
        tags[GPS] = gps
    if exif is not None:
        tags[EXIF] = exif
    if xmp is not None:
        image.info["xmp"] = xmp
    return read_meta(image)


# --- position -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        ({1: "S", 2: (27, 41, 13.68), 3: "W", 4: (86, 43, 53.72)}, GeoPoint(-27.68713333, -86.73158889)),
        ({1: "s", 2: (27.5,), 3: "w", 4: (86.5,)}, GeoPoint(-27.5, -86.5)),  # lower-case references
        ({2: (27.5,), 4: (86.5,)}, GeoPoint(27.5, 86.5)),  # no references: north and east
        ({1: b"N\x00", 2: 27.5, 3: "E", 4: IFDRational(173, 2)}, GeoPoint(27.5, 86.5)),
        ({1: "N", 2: (90,), 3: "E", 4: (180,)}, GeoPoint(90.0, 180.0)),
        ({1: "", 2: (27.5,), 3: "", 4: (86.5,)}, GeoPoint(27.5, 86.5)),  # empty references: the default
        (
            {1: "N", 2: (51.4779,), 3: "E", 4: (0,)},
            GeoPoint(51.4779, 0.0),
        ),  # Greenwich: only (0, 0) is no fix
        ({1: "S", 2: (0,), 3: "W", 4: (78.5,)}, GeoPoint(0.0, -78.5)),  # on the equator
    ],
)
def test_positions(gps: dict[int, Any], expected: GeoPoint) -> None:
    meta = meta_with(gps)
    assert meta.gps is not None and meta.warnings == []
    assert (meta.gps.lat, meta.gps.lon) == (pytest.approx(expected.lat), pytest.approx(expected.lon))


@pytest.mark.parametrize(
    ("gps", "warning"),
    [
        ({1: "X", 2: (27.5,), 3: "E", 4: (86.5,)}, "GPS latitude reference 'X' is not N or S"),
        ({1: "N", 2: (27.5,), 3: "Q", 4: (86.5,)}, "GPS longitude reference 'Q' is not E or W"),
        ({1: "N", 2: (90.5,), 3: "E", 4: (86.5,)}, "GPS latitude 90.5 is out of range"),
        ({1: "N", 2: (27.5,), 3: "E", 4: (180.5,)}, "GPS longitude 180.5 is out of range"),
        ({1: "N", 2: (27, 30, 0, 0), 3: "E", 4: (86.5,)}, "GPS latitude has 4 parts"),
        ({1: "N", 2: (), 3: "E", 4: (86.5,)}, "GPS latitude has 0 parts"),
        ({1: "N", 2: (27, -30, 0), 3: "E", 4: (86.5,)}, "GPS latitude has a negative part"),
        ({1: "N", 2: (27.5,)}, "GPS has only one of latitude and longitude"),
        ({3: "E", 4: (86.5,)}, "GPS has only one of latitude and longitude"),
        ({1: "N", 2: (IFDRational(1, 0),), 3: "E", 4: (86.5,)}, "GPS latitude has a zero denominator"),
        ({1: "N", 2: ("27",), 3: "E", 4: (86.5,)}, "GPS latitude is not a number ('27')"),
        ({1: "N", 2: (float("nan"),), 3: "E", 4: (86.5,)}, "GPS latitude is not a finite number"),
        ({1: 7, 2: (27.5,), 3: "E", 4: (86.5,)}, "expected text, got 7"),
    ],
)
def test_broken_positions_are_dropped_with_the_reason(gps: dict[int, Any], warning: str) -> None:
    meta = meta_with(gps)
    assert meta.gps is None
    assert meta.warnings == [f"{warning}; GPS position ignored"]


def test_no_fix_is_no_position_and_no_warning() -> None:
    meta = meta_with({1: "N", 2: (0, 0, 0), 3: "E", 4: (0, 0, 0)})
    assert meta.gps is None and meta.warnings == []


@pytest.mark.parametrize(
    ("ref", "raw", "altitude"),
    [
        (0, 3860, 3860.0),
        (1, 20, -20.0),
        (b"\x01", 20, -20.0),
        ("1", 20, -20.0),
        (b"\x00", 20, 20.0),
        ("0", 20, 20.0),
        (None, 50_000, 50_000.0),  # no reference: above sea level
        (1, 1_000, -1_000.0),
    ],
)
def test_altitudes(ref: Any, raw: float, altitude: float) -> None:
    gps = {**PLAIN_POSITION, 6: IFDRational(raw, 1)}
    if ref is not None:
        gps[5] = ref
    meta = meta_with(gps)
    assert meta.altitude_m == altitude and meta.warnings == []


@pytest.mark.parametrize(
    ("ref", "raw", "warning"),
    [
        (1, 1000.5, "GPS altitude -1000.5 m is out of range"),
        (0, 50_000.5, "GPS altitude 50000.5 m is out of range"),
        (0, IFDRational(5, 0), "GPS altitude has a zero denominator"),
        (0, True, "GPS altitude is not a number (True)"),
        (0, None, "GPS altitude is not a number (None)"),
        (0, float("inf"), "GPS altitude is not a finite number"),
    ],
)
def test_broken_altitudes(ref: Any, raw: Any, warning: str) -> None:
    meta = meta_with({**PLAIN_POSITION, 5: ref, 6: raw})
    assert meta.altitude_m is None and meta.warnings == [f"{warning}; altitude ignored"]


@pytest.mark.parametrize(("raw", "heading"), [(0.0, 0.0), (359.99, 359.99), (360.0, 0.0), ((75.5,), 75.5)])
def test_headings(raw: Any, heading: float) -> None:
    meta = meta_with({**PLAIN_POSITION, 17: raw})
    assert meta.heading_deg == pytest.approx(heading) and meta.warnings == []


@pytest.mark.parametrize(
    ("raw", "warning"),
    [
        (360.5, "GPS image direction 360.5 is out of range"),
        (-0.5, "GPS image direction -0.5 is out of range"),
        ("north", "GPS image direction is not a number ('north')"),
    ],
)
def test_headings_out_of_range(raw: Any, warning: str) -> None:
    meta = meta_with({**PLAIN_POSITION, 17: raw})
    assert meta.heading_deg is None and meta.warnings == [f"{warning}; heading ignored"]


# --- capture time ----------------------------------------------------------------------------------------

ORIGINAL, DIGITIZED = 0x9003, 0x9004
OFFSET_ORIGINAL, OFFSET_DIGITIZED = 0x9011, 0x9012
SUBSEC_ORIGINAL, SUBSEC_DIGITIZED = 0x9291, 0x9292


@pytest.mark.parametrize(
    ("offset", "zone"),
    [
        ("+05:45", NPT),
        ("+0545", NPT),
        ("-05:00", timezone(-timedelta(hours=5))),
        ("+14:00", timezone(timedelta(hours=14))),
        ("Z", timezone.utc),
        ("z", timezone.utc),
        (b"+05:45\x00", NPT),
    ],
)
def test_offsets(offset: Any, zone: timezone) -> None:
    meta = meta_with(exif={ORIGINAL: "2023:10:21 07:30:00", OFFSET_ORIGINAL: offset})
    assert meta.shot_time == datetime(2023, 10, 21, 7, 30, tzinfo=zone)
    assert meta.shot_time is not None and meta.shot_time.utcoffset() == zone.utcoffset(None)
    assert meta.local_time == datetime(2023, 10, 21, 7, 30) and meta.warnings == []


@pytest.mark.parametrize(
    ("offset", "warning"),
    [
        ("+14:15", "DateTimeOriginal time offset '+14:15' is out of range; time kept without zone"),
        ("+05:60", "DateTimeOriginal time offset '+05:60' is out of range; time kept without zone"),
        ("0545", "DateTimeOriginal time offset '0545' is not like +05:45; time kept without zone"),
        (545, "DateTimeOriginal time offset 545 is not like +05:45; time kept without zone"),
        ("   :  ", None),  # the standard "unknown"
    ],
)
def test_offsets_that_leave_the_time_naive(offset: Any, warning: str | None) -> None:
    meta = meta_with(exif={ORIGINAL: "2023:10:21 07:30:00", OFFSET_ORIGINAL: offset})
    assert meta.shot_time == datetime(2023, 10, 21, 7, 30) and meta.shot_time.tzinfo is None
    assert meta.warnings == ([warning] if warning else [])


@pytest.mark.parametrize(
    ("subsec", "micro", "warning"),
    [
        ("109", 109_000, None),
        ("5", 500_000, None),
        ("1234567", 123_456, None),
        (b"25\x00", 250_000, None),
        ("", 0, None),
        ("1a", 0, "DateTimeOriginal sub-seconds '1a' is not digits; fraction of a second ignored"),
        (7, 700_000, None),  # a number where text belongs: its digits
        ((1, 2), 0, "DateTimeOriginal sub-seconds '(1, 2)' is not digits; fraction of a second ignored"),
    ],
)
def test_sub_seconds(subsec: Any, micro: int, warning: str | None) -> None:
    meta = meta_with(exif={ORIGINAL: "2023:10:21 07:30:00", SUBSEC_ORIGINAL: subsec})
    assert meta.shot_time == datetime(2023, 10, 21, 7, 30, 0, micro)
    assert meta.warnings == ([warning] if warning else [])


@pytest.mark.parametrize(
    ("exif", "ifd0", "shot", "source"),
    [
        # unknown original: the digitized time, with its own sub-seconds and offset
        (
            {ORIGINAL: "0000:00:00 00:00:00", DIGITIZED: "2023:10:21 07:30:00", SUBSEC_DIGITIZED: "5",
             OFFSET_DIGITIZED: "+05:45", SUBSEC_ORIGINAL: "9", OFFSET_ORIGINAL: "-01:00"},
            {},
            datetime(2023, 10, 21, 7, 30, 0, 500_000, tzinfo=NPT),
            "DateTimeDigitized",
        ),
        ({ORIGINAL: "    :  :     :  :  ", DIGITIZED: "2023-10-21 07:30:00"}, {}, datetime(2023, 10, 21, 7, 30), "DateTimeDigitized"),
        ({ORIGINAL: "", DIGITIZED: "2023/10/21T07:30:00"}, {}, datetime(2023, 10, 21, 7, 30), "DateTimeDigitized"),
        ({}, {ORIGINAL: "2023:10:21 07:30:00"}, datetime(2023, 10, 21, 7, 30), "DateTimeOriginal"),  # in IFD0
    ],
)  # fmt: skip
def test_time_sources_in_order(
    exif: dict[int, Any], ifd0: dict[int, Any], shot: datetime, source: str
) -> None:
    meta = meta_with(exif=exif, ifd0=ifd0)
    assert (meta.shot_time, meta.time_source, meta.warnings) == (shot, source, [])
    assert meta.local_time == shot.replace(tzinfo=None)


@pytest.mark.parametrize(
    ("value", "warning"),
    [
        ("2023:13:40 07:30:00", "DateTimeOriginal '2023:13:40 07:30:00' is not a valid date; ignored"),
        ("yesterday", "DateTimeOriginal 'yesterday' is not a date; ignored"),
        (b"\xff\xfe", "DateTimeOriginal '��' is not a date; ignored"),
    ],
)
def test_broken_times_fall_through_with_the_reason(value: Any, warning: str) -> None:
    meta = meta_with(exif={ORIGINAL: value, DIGITIZED: "2023:10:21 07:30:00"})
    assert meta.time_source == "DateTimeDigitized" and meta.warnings == [warning]


def test_an_offset_that_pushes_a_time_past_year_9999_is_refused() -> None:
    meta = meta_with(exif={ORIGINAL: "0001:01:01 00:00:00", OFFSET_ORIGINAL: "+05:45"})
    assert meta.shot_time is None
    assert meta.warnings == ["DateTimeOriginal 0001-01-01T00:00:00+05:45 is out of range; ignored"]


def _xmp(body: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


@pytest.mark.parametrize(
    ("body", "shot", "source"),
    [
        (
            'xmp:CreateDate="2023-10-21T09:00:00" photoshop:DateCreated="2023-10-21T08:00:00">'
            "<exif:DateTimeOriginal>2023-10-21T07:30:15.5+05:45</exif:DateTimeOriginal>",
            datetime(2023, 10, 21, 7, 30, 15, 500_000, tzinfo=NPT),
            "XMP:exif:DateTimeOriginal",
        ),
        (
            'xmp:CreateDate="2023-10-21T09:00Z" photoshop:DateCreated="2023-10-21">',  # a bare date is skipped
            datetime(2023, 10, 21, 9, 0, tzinfo=timezone.utc),
            "XMP:xmp:CreateDate",
        ),
        ('photoshop:DateCreated="2023-10-21T08:00:00-0100">', datetime(2023, 10, 21, 8, tzinfo=timezone(-timedelta(hours=1))), "XMP:photoshop:DateCreated"),
        ('xmp:CreateDate="2023-10-21T08:00:00,25">', datetime(2023, 10, 21, 8, 0, 0, 250_000), "XMP:xmp:CreateDate"),
    ],
)  # fmt: skip
def test_xmp_times_in_order(body: str, shot: datetime, source: str) -> None:
    meta = meta_with(xmp=_xmp(body))
    assert (meta.shot_time, meta.time_source) == (shot, source)
    assert meta.warnings == ([] if "2023-10-21\"" not in body else [
        "XMP photoshop:DateCreated '2023-10-21' has no time of day; ignored"
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("xmp", "warning"),
    [
        (_xmp('xmp:CreateDate="2023-10-21T08:00+14:30">'), "XMP xmp:CreateDate '2023-10-21T08:00+14:30' has an offset out of range; ignored"),
        (_xmp('xmp:CreateDate="2023-10-21T08:00+05:60">'), "XMP xmp:CreateDate '2023-10-21T08:00+05:60' has an offset out of range; ignored"),
        (_xmp('xmp:CreateDate="2023-02-30T08:00">'), "XMP xmp:CreateDate '2023-02-30T08:00' is not a valid date; ignored"),
        (_xmp('xmp:CreateDate="last week">'), "XMP xmp:CreateDate 'last week' is not a date; ignored"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', "XMP packet declares a DTD; XMP ignored"),
        (b"<x:xmpmeta", "XMP packet is not readable XML (ParseError); XMP ignored"),
    ],
)  # fmt: skip
def test_broken_xmp_times(xmp: bytes | str, warning: str) -> None:
    meta = meta_with(xmp=xmp)
    assert meta.shot_time is None and meta.warnings == [warning]


def test_an_empty_xmp_packet_is_no_packet() -> None:
    assert meta_with(xmp=b"\x00 \n").warnings == []


GPS_TIME = {29: "2023:10:21", 7: (IFDRational(1, 1), IFDRational(45, 1), IFDRational(305, 10))}


def test_gps_time_is_utc_and_shown_in_the_cameras_zone_when_it_names_one() -> None:
    utc_only = meta_with({**PLAIN_POSITION, **GPS_TIME})
    moment = datetime(2023, 10, 21, 1, 45, 30, 500_000, tzinfo=timezone.utc)
    assert (utc_only.shot_time, utc_only.time_source, utc_only.local_time) == (moment, "GPS", None)
    with_zone = meta_with({**PLAIN_POSITION, **GPS_TIME}, exif={OFFSET_DIGITIZED: "+05:45"})
    assert with_zone.shot_time == moment and with_zone.shot_time is not None
    assert with_zone.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
    assert with_zone.local_time == datetime(2023, 10, 21, 7, 30, 30, 500_000)
    assert with_zone.warnings == []
    junk_zone = meta_with(
        {**PLAIN_POSITION, **GPS_TIME}, exif={OFFSET_ORIGINAL: "junk", OFFSET_DIGITIZED: "+05:45"}
    )
    assert junk_zone.local_time == datetime(2023, 10, 21, 7, 30, 30, 500_000) and junk_zone.warnings == []


@pytest.mark.parametrize(
    ("date", "hms", "warning"),
    [
        ("2023:10:21", (24, 0, 0), "GPS time 24:0:0 is out of range; ignored"),
        ("2023:10:21", (1, 60, 0), "GPS time 1:60:0 is out of range; ignored"),
        ("2023:10:21", (1, 0, 60), "GPS time 1:0:60 is out of range; ignored"),
        ("2023:10:21", (1.5, 0, 0), "GPS time 1.5:0:0 is out of range; ignored"),
        ("2023:10:21", (1, 0.5, 0), "GPS time 1:0.5:0 is out of range; ignored"),
        ("2023:10:21", (-1, 0, 0), "GPS time -1:0:0 is out of range; ignored"),
        ("2023:10:21", (1, 0), "GPS time (1, 0) is not hours, minutes, seconds; ignored"),
        ("2023:02:30", (1, 0, 0), "GPS date '2023:02:30' is not a valid date; ignored"),
        ("21.10.2023", (1, 0, 0), "GPS date '21.10.2023' is not a date; ignored"),
        ("9999:12:31", (23, 59, 59.9999999), "GPS date '9999:12:31' is out of range; ignored"),
    ],
)
def test_broken_gps_times(date: str, hms: tuple[float, ...], warning: str) -> None:
    meta = meta_with({**PLAIN_POSITION, 29: date, 7: hms})
    assert meta.shot_time is None and meta.warnings == [warning]


def test_gps_time_needs_both_tags_and_a_known_date() -> None:
    for only_one in ({**PLAIN_POSITION, 29: "2023:10:21"}, {**PLAIN_POSITION, 7: (1, 0, 0)}):
        meta = meta_with(only_one)
        assert meta.shot_time is None and meta.warnings == []
    unknown = meta_with({**PLAIN_POSITION, 29: "0000:00:00", 7: (1, 0, 0)})
    assert unknown.shot_time is None and unknown.warnings == []


# --- lens and orientation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "focal", "focal35", "warnings"),
    [
        ({0x920A: IFDRational(686, 100), 0xA405: 48}, 6.86, 48.0, []),
        ({0x920A: 0, 0xA405: 0}, None, None, []),  # 0 means unknown
        ({0x920A: "wide", 0xA405: 24}, None, 24.0, ["focal length is not a number ('wide'); ignored"]),
        (
            {0x920A: 5.0, 0xA405: IFDRational(1, 0)},
            5.0,
            None,
            ["35 mm focal length has a zero denominator; ignored"],
        ),
        ({0x920A: 0.8}, 0.8, None, []),  # below 1 mm is still a length; only 0 is unknown
    ],
)
def test_focal_lengths(
    tags: dict[int, Any], focal: float | None, focal35: float | None, warnings: list[str]
) -> None:
    meta = meta_with(exif=tags)
    assert (meta.focal_length_mm, meta.focal_length_35mm, meta.warnings) == (
        pytest.approx(focal) if focal else None,
        focal35,
        warnings,
    )


@pytest.mark.parametrize(("raw", "orientation"), [(6, 6), (8, 8), (1, 1), (9, 1), (0, 1), ("6", 1)])
def test_orientation(raw: Any, orientation: int) -> None:
    assert meta_with(ifd0={0x0112: raw}).orientation == orientation


def test_focal_lengths_written_in_ifd0_are_read() -> None:
    meta = meta_with(ifd0={0x920A: 5.0, 0xA405: 28})
    assert (meta.focal_length_mm, meta.focal_length_35mm) == (5.0, 28.0)


def test_an_xmp_offset_of_fourteen_hours_is_the_last_one_accepted() -> None:
    meta = meta_with(xmp=_xmp('xmp:CreateDate="2023-10-21T08:00+14:00">'))
    assert meta.shot_time == datetime(2023, 10, 21, 8, tzinfo=timezone(timedelta(hours=14)))
