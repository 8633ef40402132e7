"""How far from the truth GPX geotagging puts the real trek photos (metres), and what a wrong zone looks like.

Every trek photo (JPEG and HEIC) is copied, its GPS stripped by exiftool, and placed by ``peaklens.gpx`` on a
track built from the originals as exiftool reads them (position, capture instant ``SubSecDateTimeOriginal``
or the GPS fix time ``GPSDateTime``). The error is the great-circle distance between the placed position and
the original's own GPS position.

    .venv/bin/python -m bench.geotag_error        (prints markdown; needs exiftool)

Tracks:
- *a fix at every capture instant*: the issue's test set-up; error = formatting of the GPX coordinates only;
- *fixes at the GPS fix times*: each photo's fix is stamped up to a second or two before the shutter, so a
  photo is interpolated between its own fix and the next photo's (refused when those are > 30 min apart);
- *the other photos only* (leave one out; a shot's JPEG and HEIC leave together): each photo placed between
  its neighbours in time, as a track logged every few minutes would place it;
- *camera zone taken as UTC*: the copies lose OffsetTimeOriginal and ``--camera-tz +00:00`` is given while
  the camera was on Nepal time (+05:45): the median gap shows it.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

import peaklens.imaging  # noqa: F401  (registers the HEIF opener)
from bench.common import TREK, table
from peaklens.exif import read_meta
from peaklens.gpx import Geotagger, TrackPoint, parse_zone
from peaklens.records import GeoPoint


@dataclass(frozen=True)
class Original:
    name: str
    point: GeoPoint
    captured: datetime
    fixed: datetime


def _moment(text: str) -> datetime:
    """exiftool's "2023:10:27 06:47:48.109+05:45" / "2023:10:27 01:02:47Z" as an aware UTC datetime."""
    text = text.replace("Z", "+00:00")
    stamp, zone = text[:-6], text[-6:]
    day, clock = stamp.split(" ")
    moment = datetime.fromisoformat(f"{day.replace(':', '-')}T{clock}{zone}")
    return moment.astimezone(timezone.utc)


def metres(a: GeoPoint, b: GeoPoint) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def originals(paths: list[Path]) -> list[Original]:
    done = subprocess.run(
        ["exiftool", "-j", "-n", "-SubSecDateTimeOriginal", "-GPSDateTime", "-GPSLatitude", "-GPSLongitude"]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        Original(
            Path(row["SourceFile"]).name,
            GeoPoint(float(row["GPSLatitude"]), float(row["GPSLongitude"])),
            _moment(str(row["SubSecDateTimeOriginal"])),
            _moment(str(row["GPSDateTime"])),
        )
        for row in json.loads(done.stdout)
    ]


def _without_gps(path: Path) -> bool:
    with Image.open(path) as image:
        return read_meta(image).gps is None


def place_all(
    copies: list[Path], points: list[TrackPoint], truth: dict[str, GeoPoint], **options: object
) -> list[object]:
    tagger = Geotagger(points, **options)  # type: ignore[arg-type]
    errors = []
    for path in copies:
        with Image.open(path) as image:
            meta = read_meta(image)
        assert meta.gps is None, path
        if tagger.place(meta, path.name):
            assert meta.gps is not None
            errors.append(metres(meta.gps, truth[path.name]))
    report = tagger.report
    median_gap = report.median_gap_s
    return [
        len(report.placed),
        report.unplaced,
        "-" if not errors else f"{statistics.median(errors):.2f}",
        "-" if not errors else f"{max(errors):.2f}",
        "-" if median_gap is None else f"{median_gap:.1f} s",
    ]


def main() -> None:
    photos = sorted((TREK / "jpeg").glob("*.jpg")) + sorted((TREK / "heic").glob("*.HEIC"))
    known = originals(photos)
    truth = {o.name: o.point for o in known}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copies = []
        for photo in photos:
            shutil.copy2(photo, folder / photo.name)
            copies.append(folder / photo.name)
        # exiftool refuses a file whose content is not its extension's (one trek ".HEIC" is a JPEG)
        subprocess.run(
            ["exiftool", "-q", "-overwrite_original", "-gps:all=", *map(str, copies)],
            check=False,
            capture_output=True,
        )
        copies = [path for path in copies if _without_gps(path)]

        def rounded(o: Original, when: datetime) -> TrackPoint:  # a GPX holds 8 decimals, milliseconds
            point = GeoPoint(round(o.point.lat, 8), round(o.point.lon, 8))
            return TrackPoint(when.replace(microsecond=when.microsecond // 1000 * 1000), point)

        at_capture = [rounded(o, o.captured) for o in known]
        at_fix = [rounded(o, o.fixed) for o in known]
        rows = [
            ["a fix at every capture instant", *place_all(copies, at_capture, truth)],
            ["fixes at the GPS fix times (max gap 30 min)", *place_all(copies, at_fix, truth)],
        ]
        loo_errors, loo_refused = [], 0
        for path in copies:  # the JPEG and HEIC of one shot share a stem: both leave the track
            others = [p for o, p in zip(known, at_capture, strict=True) if Path(o.name).stem != path.stem]
            result = place_all([path], others, truth)
            if result[0]:
                loo_errors.append(float(str(result[2])))
            else:
                loo_refused += 1
        rows.append(
            [
                "the other photos only (leave one out, max gap 30 min)",
                len(loo_errors),
                loo_refused,
                f"{statistics.median(loo_errors):.0f}" if loo_errors else "-",
                f"{max(loo_errors):.0f}" if loo_errors else "-",
                "-",
            ]
        )
        subprocess.run(
            ["exiftool", "-q", "-overwrite_original", "-OffsetTime*=", *map(str, copies)],
            check=False,
            capture_output=True,
        )
        rows.append(
            [
                "camera zone taken as UTC (+00:00; the camera was on +05:45)",
                *place_all(
                    copies, at_capture, truth, camera_tz=parse_zone("+00:00"), clock_offset=timedelta(0)
                ),
            ]
        )
    print(
        f"{len(copies)} of {len(photos)} trek photos (JPEG + HEIC), GPS stripped by exiftool (it refuses the "
        f"{len(photos) - len(copies)} whose content is not its extension's), placed by peaklens.gpx:\n"
    )
    print(table(["track", "placed", "not placed", "median error (m)", "max error (m)", "median gap"], rows))


if __name__ == "__main__":
    main()
