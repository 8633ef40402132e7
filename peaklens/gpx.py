"""Placing photos without GPS from a GPS track (GPX) by capture time, as exiftool's ``-geotag`` does.

A camera without GPS still knows when each photo was taken; a phone or watch logged where the trekker was
when. A photo's position is interpolated linearly between the two track points around its capture instant;
a photo in a gap between points longer than ``gpx_max_gap_s`` (the logger was off: a jeep ride, a flat
battery) or outside the track's time range is left without a position and counted, never guessed, unless a
fix lies within ``NEAREST_FIX_S`` of it (a phone stamps its fix a second or so before or after the shutter:
the photo takes that fix's position). The
photo files are never touched: the position goes to the store only (``gps_source`` "gpx").

Times: GPX times are UTC. A camera's clock is local: ``OffsetTimeOriginal`` gives its zone when the camera
wrote it; otherwise ``camera_tz`` (a zone name such as "Asia/Kathmandu", or "+05:45") says which zone the
clock was set to. ``camera_clock_offset`` ("+00:02:30") is how far the camera's clock was *ahead* of the
true time (the opposite sign of exiftool's ``-geosync``, which is added to the image time). A time from the
GPS clock is UTC and right already: neither applies to it. The median time between the photos and their
nearest track points is reported: minutes or hours there mean a wrong zone or clock offset.

Parsing is ``gpxpy``: the most used GPX library for Python (GPX 1.0 and 1.1, tracks, segments, routes and
waypoints), pure Python, typed; ``gpx`` (2026) is newer but far less used. Track points are used, as exiftool
does; route points rarely carry times and waypoints are places, not a trace.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peaklens.errors import BadInput
from peaklens.exif import PhotoMeta, to_true_north
from peaklens.records import GeoPoint

#: exiftool's default for interpolating between fixes (GeoMaxIntSecs)
DEFAULT_MAX_GAP_S = 1800.0
#: a photo this close in time to a fix takes that fix's position even at the edge of a long gap or just past
#: an end of the track (a walker covers less than 100 m in a minute; exiftool's GeoMaxExtSecs allows 30 min)
NEAREST_FIX_S = 60.0

_OFFSET_RE = re.compile(r"^([+-])(\d{1,2}):(\d{2})$")
_CLOCK_RE = re.compile(r"^([+-])?(\d{1,3}):(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class TrackPoint:
    """One logged fix: an aware UTC instant, a position and the elevation when the logger had one."""

    time: datetime
    point: GeoPoint
    elevation_m: float | None = None


@dataclass
class GeotagReport:
    """What placing did, for the index summary: photos placed, and photos left without a position by
    reason (relative paths), and the time from each timed photo to its nearest track point."""

    placed: list[str] = field(default_factory=list)
    outside_track: list[str] = field(default_factory=list)
    in_gap: list[str] = field(default_factory=list)
    no_time: list[str] = field(default_factory=list)
    no_zone: list[str] = field(default_factory=list)
    nearest_gaps_s: list[float] = field(default_factory=list)

    @property
    def median_gap_s(self) -> float | None:
        return statistics.median(self.nearest_gaps_s) if self.nearest_gaps_s else None

    @property
    def unplaced(self) -> int:
        return len(self.outside_track) + len(self.in_gap) + len(self.no_time) + len(self.no_zone)

    def not_placed(self) -> list[tuple[str, str]]:
        """(photo, why) for every photo left without a position, for ``--verbose``."""
        return [
            (name, why)
            for names, why in (
                (self.outside_track, "outside the track's time range"),
                (self.in_gap, "in a gap of the track"),
                (self.no_time, "no capture time"),
                (self.no_zone, "no time zone (no OffsetTimeOriginal, no --camera-tz)"),
            )
            for name in names
        ]

    def summary(self, max_gap_s: float) -> str:
        """One line: how many were placed, the median gap, and each reason a photo was not placed."""
        median = self.median_gap_s
        parts = [f"placed {len(self.placed)} photo(s) without GPS from the GPX track"]
        if median is not None:
            parts.append(f"median gap to the nearest track point {_duration(median)}")
        for count, reason in (
            (len(self.outside_track), "outside the track's time range"),
            (len(self.in_gap), f"in a gap of the track longer than {_duration(max_gap_s)}"),
            (len(self.no_time), "without a capture time"),
            (len(self.no_zone), "without a time zone (no OffsetTimeOriginal: pass --camera-tz)"),
        ):
            if count:
                parts.append(f"{count} {reason}")
        line = "; ".join(parts)
        if median is not None and median > max_gap_s:
            line += " — photos and track are far apart in time: a wrong --camera-tz or --camera-clock-offset?"
        return line


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def parse_zone(text: str) -> tzinfo:
    """A camera zone: an IANA name ("Asia/Kathmandu") or a fixed offset ("+05:45"); one line when neither."""
    text = text.strip()
    match = _OFFSET_RE.match(text)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        if delta > timedelta(hours=14) or int(minutes) >= 60:
            raise BadInput(f"Camera time zone {text!r} is out of range (-14:00 to +14:00).")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(
            f"Camera time zone {text!r} is neither a zone name (e.g. Asia/Kathmandu) nor an offset like +05:45."
        ) from None


def parse_clock_offset(text: str) -> timedelta:
    """``±HH:MM:SS``: how far the camera's clock was ahead of the true time."""
    match = _CLOCK_RE.match(text.strip())
    if not match:
        raise BadInput(f"Camera clock offset {text!r} is not like +00:02:30 (±HH:MM:SS).")
    sign, hours, minutes, seconds = match.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        raise BadInput(f"Camera clock offset {text!r}: minutes and seconds go up to 59.")
    delta = timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds))
    return -delta if sign == "-" else delta


def read_track(paths: Sequence[Path]) -> list[TrackPoint]:
    """Every timed track point of every file, sorted by time. A missing, unreadable or empty file is one
    line naming it."""
    import gpxpy
    import gpxpy.gpx

    points: list[TrackPoint] = []
    for path in paths:
        try:
            with Path(path).open(encoding="utf-8") as handle:
                parsed = gpxpy.parse(handle)
        except FileNotFoundError:
            raise BadInput(f"GPX file {path} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"GPX file {path} cannot be read: {exc}") from None
        except gpxpy.gpx.GPXException as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BadInput(f"GPX file {path} is not valid GPX: {first}") from None
        found = [
            TrackPoint(_utc(p.time), GeoPoint(p.latitude, p.longitude), p.elevation)
            for track in parsed.tracks
            for segment in track.segments
            for p in segment.points
            if p.time is not None
        ]
        if not found:
            raise BadInput(f"GPX file {path} has no track points with a time: nothing to place photos by.")
        points.extend(found)
    points.sort(key=lambda p: p.time)
    return points


def _utc(moment: datetime) -> datetime:
    """GPX times are UTC; a time written without a zone is read as UTC too."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class Geotagger:
    """Places photos on a track by their capture instant; keeps a ``GeotagReport`` of what it did."""

    def __init__(
        self,
        points: Sequence[TrackPoint],
        *,
        camera_tz: tzinfo | None = None,
        clock_offset: timedelta = timedelta(0),
        max_gap_s: float = DEFAULT_MAX_GAP_S,
    ) -> None:
        if not points:
            raise BadInput("The GPX track has no points with a time.")
        self.points = sorted(points, key=lambda p: p.time)
        self.times = [p.time.timestamp() for p in self.points]
        self.camera_tz = camera_tz
        self.clock_offset = clock_offset
        self.max_gap_s = max_gap_s
        self.report = GeotagReport()

    def fingerprint(self) -> str:
        """What the placements depend on: the points and the time settings (a change re-places photos)."""
        digest = hashlib.sha1()
        for p in self.points:
            digest.update(
                f"{p.time.timestamp():.3f},{p.point.lat:.7f},{p.point.lon:.7f},{p.elevation_m};".encode()
            )
        digest.update(f"{self.camera_tz}|{self.clock_offset.total_seconds()}|{self.max_gap_s}".encode())
        return digest.hexdigest()

    def instant(self, meta: PhotoMeta) -> datetime | None:
        """The true UTC instant of a capture time: its own offset, else the camera zone; less the camera's
        clock error (never for the GPS clock). None when the zone is unknown."""
        shot = meta.shot_time
        if shot is None:
            return None
        if shot.tzinfo is None:
            if self.camera_tz is None:
                return None
            shot = shot.replace(tzinfo=self.camera_tz)
        instant = shot.astimezone(timezone.utc)
        return instant if meta.time_source == "GPS" else instant - self.clock_offset

    def place(self, meta: PhotoMeta, name: str) -> bool:
        """Give a photo without a position the track's position at its capture instant (and the track's
        elevation when EXIF had no altitude), then turn a magnetic heading to true north. Returns whether
        it was placed; a photo with EXIF GPS is left as it is."""
        if meta.gps is not None:
            return False
        if meta.shot_time is None:
            self.report.no_time.append(name)
            return False
        instant = self.instant(meta)
        if instant is None:
            self.report.no_zone.append(name)
            return False
        placed = self.locate(instant)
        if placed is None:
            return self._refused(instant, name)
        point, elevation = placed
        meta.gps, meta.gps_source = point, "gpx"
        if meta.altitude_m is None and elevation is not None:
            meta.altitude_m = elevation
        to_true_north(meta)
        self.report.placed.append(name)
        self.report.nearest_gaps_s.append(self.nearest_gap_s(instant))
        return True

    def _refused(self, instant: datetime, name: str) -> bool:
        self.report.nearest_gaps_s.append(self.nearest_gap_s(instant))
        t = instant.timestamp()
        if t < self.times[0] or t > self.times[-1]:
            self.report.outside_track.append(name)
        else:
            self.report.in_gap.append(name)
        return False

    def nearest_gap_s(self, instant: datetime) -> float:
        t = instant.timestamp()
        i = bisect.bisect_left(self.times, t)
        near = [abs(self.times[j] - t) for j in (i - 1, i) if 0 <= j < len(self.times)]
        return min(near)

    def locate(self, instant: datetime) -> tuple[GeoPoint, float | None] | None:
        """The interpolated (position, elevation) at ``instant``; the nearest fix's when one is within
        ``NEAREST_FIX_S`` but the track does not surround the instant closely enough; else None (outside the
        track, or in a gap longer than ``max_gap_s``)."""
        t = instant.timestamp()
        i = bisect.bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            hit = self.points[i]
            return hit.point, hit.elevation_m
        if i == 0 or i == len(self.times) or self.times[i] - self.times[i - 1] > self.max_gap_s:
            nearest = min(
                (j for j in (i - 1, i) if 0 <= j < len(self.times)), key=lambda j: abs(self.times[j] - t)
            )
            if abs(self.times[nearest] - t) <= NEAREST_FIX_S:
                return self.points[nearest].point, self.points[nearest].elevation_m
            return None
        before, after = self.points[i - 1], self.points[i]
        span = self.times[i] - self.times[i - 1]
        share = (t - self.times[i - 1]) / span
        lat = before.point.lat + (after.point.lat - before.point.lat) * share
        lon = before.point.lon + _lon_step(before.point.lon, after.point.lon) * share
        lon = (lon + 180.0) % 360.0 - 180.0
        elevation = None
        if before.elevation_m is not None and after.elevation_m is not None:
            elevation = before.elevation_m + (after.elevation_m - before.elevation_m) * share
        return GeoPoint(lat, lon), elevation


def _lon_step(start: float, end: float) -> float:
    """The shorter way from ``start`` to ``end`` in longitude (a track across the antimeridian)."""
    return (end - start + 180.0) % 360.0 - 180.0


def geotagger_from_settings(
    gpx: Sequence[Path], camera_tz: str | None, clock_offset: str | None, max_gap_s: float
) -> Geotagger | None:
    """The geotagger the settings ask for (None without GPX files: a camera zone kept in the config file
    for the next track is no error); every value is checked here, before the store and the model load."""
    zone = parse_zone(camera_tz) if camera_tz else None
    offset = parse_clock_offset(clock_offset) if clock_offset else timedelta(0)
    if not gpx:
        return None
    return Geotagger(read_track(gpx), camera_tz=zone, clock_offset=offset, max_gap_s=max_gap_s)
