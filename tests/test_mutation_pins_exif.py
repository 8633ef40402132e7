"""EXIF details that mutation testing showed no other test holds (docs/TESTING.md): every range edge, every
way a tag can be written, and the exact warning a user sees with --verbose. Tags are set on an in-memory
image (the same ``Image.Exif`` Pillow builds from a file); expected values are worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from peaklens.exif import PhotoMeta, read_meta
from peaklens.records import GeoPoint

GPS, EXIF = 0x8825, 0x8769
NPT = timezone(timedelta(hours=5, minutes=45))
TREK = {1: "N", 2: (27.5,), 3: "E", 4: (86.5,)}  # a plain position to add tags to


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
    gps = {**TREK, 6: IFDRational(raw, 1)}
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
    meta = meta_with({**TREK, 5: ref, 6: raw})
    assert meta.altitude_m is None and meta.warnings == [f"{warning}; altitude ignored"]


@pytest.mark.parametrize(("raw", "heading"), [(0.0, 0.0), (359.99, 359.99), (360.0, 0.0), ((75.5,), 75.5)])
def test_headings(raw: Any, heading: float) -> None:
    meta = meta_with({**TREK, 17: raw})
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
    meta = meta_with({**TREK, 17: raw})
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
    utc_only = meta_with({**TREK, **GPS_TIME})
    moment = datetime(2023, 10, 21, 1, 45, 30, 500_000, tzinfo=timezone.utc)
    assert (utc_only.shot_time, utc_only.time_source, utc_only.local_time) == (moment, "GPS", None)
    with_zone = meta_with({**TREK, **GPS_TIME}, exif={OFFSET_DIGITIZED: "+05:45"})
    assert with_zone.shot_time == moment and with_zone.shot_time is not None
    assert with_zone.shot_time.utcoffset() == timedelta(hours=5, minutes=45)
    assert with_zone.local_time == datetime(2023, 10, 21, 7, 30, 30, 500_000)
    assert with_zone.warnings == []
    junk_zone = meta_with({**TREK, **GPS_TIME}, exif={OFFSET_ORIGINAL: "junk", OFFSET_DIGITIZED: "+05:45"})
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
    meta = meta_with({**TREK, 29: date, 7: hms})
    assert meta.shot_time is None and meta.warnings == [warning]


def test_gps_time_needs_both_tags_and_a_known_date() -> None:
    for only_one in ({**TREK, 29: "2023:10:21"}, {**TREK, 7: (1, 0, 0)}):
        meta = meta_with(only_one)
        assert meta.shot_time is None and meta.warnings == []
    unknown = meta_with({**TREK, 29: "0000:00:00", 7: (1, 0, 0)})
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
