"""Reading the EXIF a search needs: where (GPS, altitude, heading), when, and the lens.

Camera EXIF is often junk (zero denominators, NaN, strings where numbers belong), and one bad tag must not
cost the photo: ``read_meta`` never raises, it leaves the field empty and says why in ``warnings`` (what
``--verbose`` lists).

Capture time, from the first of these that holds a usable value (``time_source`` names it):

1. ``DateTimeOriginal`` with ``SubSecTimeOriginal`` and ``OffsetTimeOriginal``;
2. ``DateTimeDigitized`` with ``SubSecTimeDigitized`` and ``OffsetTimeDigitized``;
3. XMP ``exif:DateTimeOriginal``, then ``photoshop:DateCreated``, then ``xmp:CreateDate``
   (``"XMP:exif:DateTimeOriginal"`` ...); an XMP value without a time of day is skipped; one written in UTC
   ("...Z") is an instant like the GPS clock below (an explicit "+00:00" is a camera on UTC);
4. ``GPSDateStamp`` + ``GPSTimeStamp`` (``"GPS"``), which are UTC.

Never ModifyDate (EXIF ``DateTime``): that is when a program last saved the file, often years later.

``shot_time`` is the instant: aware when the source gave an offset, else naive (the store compares naive
values as UTC). ``local_time`` is always naive: the wall clock the camera showed, as written. It is what a
bare-date filter ("photos of 21 October") compares, like photo apps group by day, so a sunrise shot at
05:50 in Nepal (00:05 UTC) belongs to the day the photographer lived. A GPS-only time is converted to the
camera's zone when ``OffsetTimeOriginal``/``OffsetTimeDigitized`` names it (so is an XMP time in UTC); otherwise ``local_time`` stays
None (the UTC date can be a day off, and guessing a zone from the position is not reliable), so such a
photo matches instant filters but no calendar-day filter.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

from PIL import Image

from peaklens.records import GeoPoint

# Pillow warns once per broken EXIF block, from decode threads, on the user's console; ``read_meta``
# reports what it had to drop in ``PhotoMeta.warnings`` instead.
warnings.filterwarnings("ignore", message="Corrupt EXIF data", category=UserWarning)

IFD_EXIF = 0x8769
IFD_GPS = 0x8825

# GPS IFD tags
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4
GPS_ALT_REF, GPS_ALT = 5, 6
GPS_TIMESTAMP = 7
GPS_IMG_DIRECTION_REF, GPS_IMG_DIRECTION = 16, 17
GPS_DATESTAMP = 29
# IFD0 / Exif IFD tags
ORIENTATION = 0x0112
DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x9003, 0x9004
OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9011, 0x9012
SUBSEC_TIME_ORIGINAL, SUBSEC_TIME_DIGITIZED = 0x9291, 0x9292
FOCAL_LENGTH, FOCAL_LENGTH_35MM = 0x920A, 0xA405

_EXIF_TIME_TAGS = (
    (DATETIME_ORIGINAL, SUBSEC_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL, "DateTimeOriginal"),
    (DATETIME_DIGITIZED, SUBSEC_TIME_DIGITIZED, OFFSET_TIME_DIGITIZED, "DateTimeDigitized"),
)
XMP_NAMESPACES = {
    "exif": "http://ns.adobe.com/exif/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
XMP_TIME_TAGS = (("exif", "DateTimeOriginal"), ("photoshop", "DateCreated"), ("xmp", "CreateDate"))

ALTITUDE_RANGE_M = (-1_000.0, 50_000.0)  # Dead Sea shore to stratospheric balloons

_DATE_RE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
_DIGITS_RE = re.compile(r"^\s*[0-9]+\s*$")
_GPS_DATE_RE = re.compile(r"^(\d{4})[:\-/](\d{2})[:\-/](\d{2})$")
_XMP_DATE_RE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)
_DTD_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass
class PhotoMeta:
    """What EXIF says about a photo; every field is optional and ``warnings`` explains dropped values.

    ``shot_time``/``local_time``/``time_source``: see the module docstring. ``heading_deg`` is
    GPSImgDirection in [0, 360) against true north: ``heading_ref`` is GPSImgDirectionRef ("T", or "M" for a
    magnetic compass, turned to true north by ``to_true_north`` with ``declination_deg``). ``gps_source`` is
    "exif" when EXIF gave the position ("gpx" when ``peaklens.gpx`` placed it from a track).
    """

    gps: GeoPoint | None = None
    altitude_m: float | None = None
    heading_deg: float | None = None
    shot_time: datetime | None = None
    focal_length_mm: float | None = None
    focal_length_35mm: float | None = None
    warnings: list[str] = field(default_factory=list)
    orientation: int = 1  # EXIF Orientation (1-8), applied by the decoder
    local_time: datetime | None = None
    time_source: str | None = None
    gps_source: str | None = None
    heading_ref: str | None = None
    declination_deg: float | None = None


class _Junk(ValueError):
    """A tag value that cannot be used; the message is the warning."""


def _number(value: Any, what: str) -> float:
    """A finite float from an EXIF number (int, float, IFDRational, 1-tuple)."""
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool | str | bytes) or value is None:
        raise _Junk(f"{what} is not a number ({value!r:.40})")
    if getattr(value, "denominator", 1) == 0:
        raise _Junk(f"{what} has a zero denominator")
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        raise _Junk(f"{what} is not a number ({value!r:.40})") from None
    if not math.isfinite(number):
        raise _Junk(f"{what} is not a finite number")
    return number


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        raise _Junk(f"expected text, got {value!r:.40}")
    return value.strip("\x00 \t\r\n")


def _degrees(value: Any, what: str) -> float:
    """Degrees from (deg, min, sec) rationals, or from a single decimal value."""
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        raise _Junk(f"{what} has {len(parts)} parts")
    numbers = [_number(p, what) for p in parts]
    if any(n < 0 for n in numbers):
        raise _Junk(f"{what} has a negative part")
    return sum(n / 60**i for i, n in enumerate(numbers))


def _coordinate(gps: Mapping[int, Any], tag: int, ref_tag: int, what: str, signs: str, limit: float) -> float:
    degrees = _degrees(gps[tag], what)
    ref = _text(gps.get(ref_tag, signs[0]))[:1].upper() or signs[0]
    if ref not in signs:
        raise _Junk(f"{what} reference {ref!r} is not {signs[0]} or {signs[1]}")
    if degrees > limit:
        raise _Junk(f"{what} {degrees:g} is out of range")
    return -degrees if ref == signs[1] else degrees


def _read_gps(gps: Mapping[int, Any], meta: PhotoMeta) -> None:
    if GPS_LAT in gps or GPS_LON in gps:
        try:
            if GPS_LAT not in gps or GPS_LON not in gps:
                raise _Junk("GPS has only one of latitude and longitude")
            lat = _coordinate(gps, GPS_LAT, GPS_LAT_REF, "GPS latitude", "NS", 90.0)
            lon = _coordinate(gps, GPS_LON, GPS_LON_REF, "GPS longitude", "EW", 180.0)
            if not (lat == 0.0 and lon == 0.0):  # (0, 0) is what cameras write without a fix
                meta.gps = GeoPoint(lat, lon)
                meta.gps_source = "exif"
        except _Junk as exc:
            meta.warnings.append(f"{exc}; GPS position ignored")
    if GPS_ALT in gps:
        try:
            altitude = _number(gps[GPS_ALT], "GPS altitude")
            ref = gps.get(GPS_ALT_REF, 0)
            if isinstance(ref, bytes | str):
                ref = ref.encode() if isinstance(ref, str) else ref
                below = ref[:1] in (b"\x01", b"1")
            else:
                below = ref == 1
            altitude = -altitude if below else altitude
            if not ALTITUDE_RANGE_M[0] <= altitude <= ALTITUDE_RANGE_M[1]:
                raise _Junk(f"GPS altitude {altitude:g} m is out of range")
            meta.altitude_m = altitude
        except _Junk as exc:
            meta.warnings.append(f"{exc}; altitude ignored")
    if GPS_IMG_DIRECTION in gps:
        try:
            heading = _number(gps[GPS_IMG_DIRECTION], "GPS image direction")
            if not 0.0 <= heading <= 360.0:
                raise _Junk(f"GPS image direction {heading:g} is out of range")
            meta.heading_deg = heading % 360.0
            meta.heading_ref = _heading_ref(gps.get(GPS_IMG_DIRECTION_REF), meta.warnings)
        except _Junk as exc:
            meta.warnings.append(f"{exc}; heading ignored")


def _heading_ref(value: Any, warnings: list[str]) -> str:
    """GPSImgDirectionRef: "T" (true north, also when absent) or "M" (magnetic north)."""
    try:
        ref = _text(value)[:1].upper() if value is not None else "T"
    except _Junk:
        ref = "?"
    if ref not in ("T", "M"):
        warnings.append(f"GPS image direction reference {value!r:.20} is not T or M; taken as true north")
        return "T"
    return ref


def to_true_north(meta: PhotoMeta) -> None:
    """Turn a magnetic heading (``heading_ref`` "M") to true north once the photo has a position, with the
    World Magnetic Model's declination at its place and capture date (``peaklens.magnetic``). Does nothing
    for a true heading, a photo without a position (yet: a GPX track may place it later) or one already
    turned."""
    if (
        meta.heading_ref != "M"
        or meta.heading_deg is None
        or meta.gps is None
        or meta.declination_deg is not None
    ):
        return
    from peaklens.magnetic import photo_date, true_heading

    heading, declination, warnings = true_heading(
        meta.heading_deg, meta.gps, photo_date(meta.shot_time), meta.altitude_m
    )
    meta.heading_deg, meta.declination_deg = heading, declination
    meta.warnings.extend(warnings)


def _zone(value: Any, what: str, warnings: list[str]) -> timezone | None:
    """The zone of an EXIF offset tag ("+05:45"); None when absent, unknown ("   :  ") or junk (warned)."""
    if value is None:
        return None
    try:
        text = _text(value)
    except _Junk:
        text = ""
        warnings.append(f"{what} {value!r:.20} is not like +05:45; time kept without zone")
        return None
    if text.upper() == "Z":
        return timezone.utc
    if not text.strip(" :"):
        return None  # blanks with a colon: the standard "unknown"
    match = _OFFSET_RE.match(text)
    if not match:
        warnings.append(f"{what} {text!r:.20} is not like +05:45; time kept without zone")
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14) or int(minutes) >= 60:
        warnings.append(f"{what} {text!r:.20} is out of range; time kept without zone")
        return None
    return timezone(-delta if sign == "-" else delta)


def _microseconds(digits: str) -> int:
    """'109' (SubSecTime, or the digits after the decimal point) as microseconds: .109 s."""
    return int((digits + "000000")[:6])


def _subsec(value: Any, what: str, warnings: list[str]) -> int:
    if value is None:
        return 0
    try:
        text = _text(value)
    except _Junk:
        text = repr(value)
    if not text:
        return 0
    if not _DIGITS_RE.match(text):
        warnings.append(f"{what} {text!r:.20} is not digits; fraction of a second ignored")
        return 0
    return _microseconds(text.strip())


def _instant(stamp: datetime, what: str) -> datetime:
    """``stamp`` if its UTC instant exists (year 1..9999): the stores convert every aware time to UTC."""
    if stamp.tzinfo is not None:
        try:
            stamp.astimezone(timezone.utc)
        except OverflowError:
            raise _Junk(f"{what} {stamp.isoformat()} is out of range") from None
    return stamp


def _exif_time(value: Any, subsec: Any, offset: Any, what: str, warnings: list[str]) -> datetime | None:
    """``value`` ("2023:10:27 06:47:48") with its SubSecTime and OffsetTime tags; None for "unknown"."""
    text = _text(value)
    if not text or text.startswith("0000") or not text.strip(": 0"):
        return None  # the standard "unknown"
    match = _DATE_RE.match(text)
    if not match:
        raise _Junk(f"{what} {text!r:.40} is not a date")
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        stamp = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise _Junk(f"{what} {text!r:.40} is not a valid date") from None
    stamp = stamp.replace(microsecond=_subsec(subsec, f"{what} sub-seconds", warnings))
    zone = _zone(offset, f"{what} time offset", warnings)
    return _instant(stamp.replace(tzinfo=zone), what) if zone else stamp


def _xmp_packet(image: Image.Image) -> bytes | None:
    """The raw XMP packet every Pillow plugin (and pillow-heif) exposes in ``info``."""
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")  # the PNG key in Pillow < 11
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, bytes):
        return None
    raw = raw.strip(b"\x00 \t\r\n")
    return raw or None


def _xmp_times(packet: bytes, warnings: list[str]) -> dict[str, str]:
    """The capture-time properties of an XMP packet, keyed "prefix:Name", as written (attribute or element).

    Parsed with the standard library: XMP never declares a DTD, so a packet that does is refused before
    parsing, which leaves no entity tricks for expat to meet (and defusedxml is not needed).
    """
    if _DTD_RE.search(packet):
        warnings.append("XMP packet declares a DTD; XMP ignored")
        return {}
    try:
        root = ElementTree.fromstring(packet)
    except Exception as exc:  # ParseError, or LookupError/ValueError for an odd declared encoding
        warnings.append(f"XMP packet is not readable XML ({type(exc).__name__}); XMP ignored")
        return {}
    wanted = {f"{{{XMP_NAMESPACES[prefix]}}}{name}": f"{prefix}:{name}" for prefix, name in XMP_TIME_TAGS}
    found: dict[str, str] = {}
    for element in root.iter():
        for qualified, name in wanted.items():
            value = element.attrib.get(qualified)
            if value is None and element.tag == qualified:
                value = element.text
            if value and value.strip() and name not in found:
                found[name] = value.strip()
    return found


def _xmp_time(text: str, what: str) -> datetime:
    """An XMP date ("2023-10-27T06:47:48.5+05:45"); a bare date or month has no time of day to use."""
    match = _XMP_DATE_RE.match(text)
    if not match:
        raise _Junk(f"{what} {text!r:.40} is not a date")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if hour is None:
        raise _Junk(f"{what} {text!r:.40} has no time of day")
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            _microseconds(fraction or ""),
        )  # fmt: skip
    except ValueError:
        raise _Junk(f"{what} {text!r:.40} is not a valid date") from None
    if zone is None:
        return stamp
    if zone == "Z":
        return stamp.replace(tzinfo=timezone.utc)
    hours, minutes = int(zone[1:3]), int(zone[-2:])
    delta = timedelta(hours=hours, minutes=minutes)
    if delta > timedelta(hours=14) or minutes >= 60:
        raise _Junk(f"{what} {text!r:.40} has an offset out of range")
    return _instant(stamp.replace(tzinfo=timezone(-delta if zone[0] == "-" else delta)), what)


def _gps_time(gps: Mapping[int, Any]) -> datetime | None:
    """GPSDateStamp + GPSTimeStamp: the satellite clock, always UTC."""
    if GPS_DATESTAMP not in gps or GPS_TIMESTAMP not in gps:
        return None
    text = _text(gps[GPS_DATESTAMP])
    if not text or text.startswith("0000"):
        return None
    match = _GPS_DATE_RE.match(text)
    if not match:
        raise _Junk(f"GPS date {text!r:.20} is not a date")
    parts = gps[GPS_TIMESTAMP]
    if not isinstance(parts, tuple | list) or len(parts) != 3:
        raise _Junk(f"GPS time {parts!r:.40} is not hours, minutes, seconds")
    hours, minutes, seconds = (_number(p, "GPS time") for p in parts)
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60) or hours % 1 or minutes % 1:
        raise _Junk(f"GPS time {hours:g}:{minutes:g}:{seconds:g} is out of range")
    try:
        year, month, day_of_month = (int(g) for g in match.groups())
        day = datetime(year, month, day_of_month, tzinfo=timezone.utc)
    except ValueError:
        raise _Junk(f"GPS date {text!r:.20} is not a valid date") from None
    try:
        return day + timedelta(hours=int(hours), minutes=int(minutes), microseconds=round(seconds * 1e6))
    except OverflowError:
        raise _Junk(f"GPS date {text!r:.20} is out of range") from None


def _found(meta: PhotoMeta, stamp: datetime, source: str) -> None:
    meta.shot_time = stamp
    meta.local_time = stamp.replace(tzinfo=None)
    meta.time_source = source


def _read_time(image: Image.Image, ifd0: Mapping[int, Any], exif: Mapping[int, Any], gps: Mapping[int, Any],
               meta: PhotoMeta) -> None:  # fmt: skip
    """The first usable capture time, in the order of the module docstring; never ModifyDate."""

    def tag(number: int) -> Any:
        return exif.get(number, ifd0.get(number))  # some writers put Exif-IFD tags in IFD0

    for time_tag, subsec_tag, offset_tag, source in _EXIF_TIME_TAGS:
        if tag(time_tag) is None:
            continue
        try:
            stamp = _exif_time(tag(time_tag), tag(subsec_tag), tag(offset_tag), source, meta.warnings)
        except _Junk as exc:
            meta.warnings.append(f"{exc}; ignored")
            continue
        if stamp is not None:
            _found(meta, stamp, source)
            return
    packet = _xmp_packet(image)
    values = _xmp_times(packet, meta.warnings) if packet else {}
    for prefix, name in XMP_TIME_TAGS:
        text = values.get(f"{prefix}:{name}")
        if text is None:
            continue
        try:
            stamp = _xmp_time(text, f"XMP {prefix}:{name}")
        except _Junk as exc:
            meta.warnings.append(f"{exc}; ignored")
            continue
        if text.upper().endswith("Z"):  # a UTC reading, not the camera's clock: like the GPS clock
            _found_utc(meta, stamp, f"XMP:{prefix}:{name}", ifd0, exif)
        else:
            _found(meta, stamp, f"XMP:{prefix}:{name}")
        return
    try:
        moment = _gps_time(gps)
    except _Junk as exc:
        meta.warnings.append(f"{exc}; ignored")
        return
    if moment is not None:
        _found_utc(meta, moment, "GPS", ifd0, exif)


def _found_utc(
    meta: PhotoMeta, moment: datetime, source: str, ifd0: Mapping[int, Any], exif: Mapping[int, Any]
) -> None:
    """A UTC instant (GPS clock, an XMP date ending in "Z"): its wall clock is the camera's only when
    ``OffsetTimeOriginal``/``OffsetTimeDigitized`` names the zone; otherwise ``local_time`` stays None."""
    meta.time_source = source
    meta.shot_time = moment
    quiet: list[str] = []  # a junk offset was already reported with its own time, or does not matter here
    zone = None
    for offset_tag in (OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED):
        zone = zone or _zone(exif.get(offset_tag, ifd0.get(offset_tag)), "", quiet)
    if zone is not None:
        try:
            meta.shot_time = moment.astimezone(zone)
        except OverflowError:  # 9999-12-31 late in UTC: no wall clock to show, the UTC instant stays
            return
        meta.local_time = meta.shot_time.replace(tzinfo=None)


def _read_focal(ifd0: Mapping[int, Any], exif: Mapping[int, Any], meta: PhotoMeta) -> None:
    for tag, attr, what in (
        (FOCAL_LENGTH, "focal_length_mm", "focal length"),
        (FOCAL_LENGTH_35MM, "focal_length_35mm", "35 mm focal length"),
    ):
        value = exif.get(tag, ifd0.get(tag))
        if value is None:
            continue
        try:
            number = _number(value, what)
        except _Junk as exc:
            meta.warnings.append(f"{exc}; ignored")
            continue
        if number > 0:  # 0 means "unknown"
            setattr(meta, attr, number)


def _ifd(exif: Image.Exif, tag: int, meta: PhotoMeta, what: str) -> Mapping[int, Any]:
    held = exif.get(tag)
    if isinstance(held, Mapping):
        return held  # an Exif built in memory holds the sub-IFD itself, not an offset
    try:
        ifd = exif.get_ifd(tag)
    except Exception as exc:  # Pillow raises many types on a broken sub-IFD
        meta.warnings.append(f"{what} block is unreadable ({type(exc).__name__})")
        return {}
    return ifd if isinstance(ifd, Mapping) else {}


def read_meta(image: Image.Image) -> PhotoMeta:
    """GPS, altitude, heading, capture time and focal length from ``image``'s EXIF; never raises."""
    meta = PhotoMeta()
    try:
        exif = image.getexif()
    except Exception as exc:
        meta.warnings.append(f"EXIF is unreadable ({type(exc).__name__}: {exc})")
        return meta
    try:
        ifd0: Mapping[int, Any] = dict(exif)
        orientation = ifd0.get(ORIENTATION, 1)
        if isinstance(orientation, int) and 1 <= orientation <= 8:
            meta.orientation = orientation
        exif_ifd = _ifd(exif, IFD_EXIF, meta, "Exif")
        gps_ifd = _ifd(exif, IFD_GPS, meta, "GPS")
        _read_gps(gps_ifd, meta)
        _read_time(image, ifd0, exif_ifd, gps_ifd, meta)
        _read_focal(ifd0, exif_ifd, meta)
        to_true_north(meta)
    except Exception as exc:  # the promise is "never raises": keep what was read
        meta.warnings.append(f"EXIF could not be fully read ({type(exc).__name__}: {exc})")
    return meta
