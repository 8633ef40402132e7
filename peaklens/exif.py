"""Reading the EXIF a search needs: where (GPS, altitude, heading), when, and the lens.

Camera EXIF is often junk (zero denominators, NaN, strings where numbers belong), and one bad tag must not
cost the photo: ``read_meta`` never raises, it leaves the field empty and says why in ``warnings``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

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
GPS_IMG_DIRECTION = 17
# IFD0 / Exif IFD tags
ORIENTATION = 0x0112
DATETIME = 0x0132
DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x9003, 0x9004
OFFSET_TIME, OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9010, 0x9011, 0x9012
FOCAL_LENGTH, FOCAL_LENGTH_35MM = 0x920A, 0xA405

ALTITUDE_RANGE_M = (-1_000.0, 50_000.0)  # Dead Sea shore to stratospheric balloons

_DATE_RE = re.compile(r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


@dataclass
class PhotoMeta:
    """What EXIF says about a photo; every field is optional and ``warnings`` explains dropped values.

    ``shot_time`` is timezone-aware when the camera recorded an offset (OffsetTimeOriginal), else naive.
    ``heading_deg`` is GPSImgDirection in [0, 360).
    """

    gps: GeoPoint | None = None
    altitude_m: float | None = None
    heading_deg: float | None = None
    shot_time: datetime | None = None
    focal_length_mm: float | None = None
    focal_length_35mm: float | None = None
    warnings: list[str] = field(default_factory=list)
    orientation: int = 1  # EXIF Orientation (1-8), applied by the decoder


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
        except _Junk as exc:
            meta.warnings.append(f"{exc}; heading ignored")


def _parse_time(value: Any, offset: Any, what: str, warnings: list[str]) -> datetime | None:
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
    if offset is None:
        return stamp
    try:
        off_match = _OFFSET_RE.match(_text(offset))
    except _Junk:
        off_match = None
    if not off_match:
        warnings.append(f"time offset {offset!r:.20} is not like +05:45; time kept without zone")
        return stamp
    sign, hours, minutes = off_match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        warnings.append(f"time offset {offset!r:.20} is out of range; time kept without zone")
        return stamp
    return stamp.replace(tzinfo=timezone(-delta if sign == "-" else delta))


def _read_time(ifd0: Mapping[int, Any], exif: Mapping[int, Any], meta: PhotoMeta) -> None:
    candidates = (
        (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, exif, "DateTimeOriginal"),
        (DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED, exif, "DateTimeDigitized"),
        (DATETIME, OFFSET_TIME, ifd0, "DateTime"),
    )
    for tag, offset_tag, source, what in candidates:
        value = source.get(tag, ifd0.get(tag))
        if value is None:
            continue
        offset = exif.get(offset_tag, ifd0.get(offset_tag))
        try:
            stamp = _parse_time(value, offset, what, meta.warnings)
        except _Junk as exc:
            meta.warnings.append(f"{exc}; ignored")
            continue
        if stamp is not None:
            meta.shot_time = stamp
            return


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
        _read_time(ifd0, exif_ifd, meta)
        _read_focal(ifd0, exif_ifd, meta)
    except Exception as exc:  # the promise is "never raises": keep what was read
        meta.warnings.append(f"EXIF could not be fully read ({type(exc).__name__}: {exc})")
    return meta
