"""A camera without GPS and a phone's track: ``peaklens index ALBUM --gpx FILE`` from a shell.

Trek photos are copied and their GPS stripped by exiftool; the track is written by the test from the
originals' own positions and capture instants as exiftool reads them. Every photo comes back within metres;
one photo outside the track's time range stays without GPS and is counted; the files are never touched.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import timezone
from pathlib import Path

import pytest

from tests.cli_support import ok, one_error_line, run
from tests.conftest import TREK_JPEGS, peaklens_env
from tests.fixtures_images import exiftool, exiftool_moment, exiftool_read

#: every 9th trek photo: a dozen photos over the whole trek, days apart
PICKED = TREK_JPEGS[::9]
EARTH_RADIUS_M = 6_371_008.8


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance, written here so the check does not lean on peaklens.geo."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def write_track(path: Path, originals: list[Path]) -> dict[str, tuple[float, float]]:
    """A GPX track with one point per original: its GPS position at its capture instant (UTC)."""
    read = exiftool_read(originals, "SubSecDateTimeOriginal", "GPSLatitude", "GPSLongitude", "GPSAltitude")
    points = []
    for row in read.values():
        instant = exiftool_moment(str(row["SubSecDateTimeOriginal"])).astimezone(timezone.utc)
        points.append((instant, float(row["GPSLatitude"]), float(row["GPSLongitude"]), row["GPSAltitude"]))
    points.sort()
    body = "".join(
        f'<trkpt lat="{lat:.8f}" lon="{lon:.8f}"><ele>{ele}</ele>'
        f"<time>{when.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z</time></trkpt>"
        for when, lat, lon, ele in points
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="peaklens-tests" '
        f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{body}</trkseg></trk></gpx>\n',
        encoding="utf-8",
    )
    return {name: (float(row["GPSLatitude"]), float(row["GPSLongitude"])) for name, row in read.items()}


@pytest.fixture
def shell(tmp_path: Path, tiny_siglip: Path) -> dict[str, str]:
    """The environment of a shell with the tiny model and a fresh store (as in test_cli_process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLENS_")}
    return {**clean, **peaklens_env(tiny_siglip, tmp_path), "COLUMNS": "200"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def stripped(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple[float, float]]]:
    """An album of GPS-stripped copies plus one copy taken a month before the track, and the track."""
    album = tmp_path / "camera"
    album.mkdir()
    for original in PICKED:
        (album / original.name).write_bytes(original.read_bytes())
    early = album / "EARLY.jpg"
    early.write_bytes(PICKED[0].read_bytes())
    exiftool("-q", "-overwrite_original", "-gps:all=", *(str(p) for p in sorted(album.iterdir())))
    exiftool("-q", "-overwrite_original", "-DateTimeOriginal=2023:09:01 10:00:00", str(early))
    left = exiftool_read(sorted(album.iterdir()), "GPSLatitude", "GPSLongitude")
    assert all("GPSLatitude" not in row for row in left.values())
    truth = write_track(tmp_path / "phone.gpx", list(PICKED))
    return album, tmp_path / "phone.gpx", truth


def test_stripped_trek_photos_come_back_within_metres(
    stripped: tuple[Path, Path, dict[str, tuple[float, float]]], shell: dict[str, str]
) -> None:
    album, track, truth = stripped
    before = {p.name: digest(p) for p in album.iterdir()}
    done = ok(run(shell, "index", str(album), "--gpx", str(track), "--no-progress"))
    assert f"placed {len(PICKED)} photo(s) without GPS from the GPX track" in done.stdout
    assert "1 outside the track's time range" in done.stdout
    assert "median gap to the nearest track point 0 s" in done.stdout
    hits = json.loads(ok(run(shell, "search", "mountain", "--k", "50", "--json")).stdout)
    by_name = {Path(h["path"]).name: h for h in hits}
    assert set(by_name) == {p.name for p in PICKED} | {"EARLY.jpg"}
    errors = []
    for name, (lat, lon) in truth.items():
        hit = by_name[name]
        assert hit["gps_source"] == "gpx", name
        errors.append(metres((hit["gps"]["lat"], hit["gps"]["lon"]), (lat, lon)))
        assert hit["frame"] is not None  # placed photos get the peak geometry
    assert max(errors) < 5.0, errors
    assert by_name["EARLY.jpg"]["gps"] is None and by_name["EARLY.jpg"]["gps_source"] is None
    assert {p.name: digest(p) for p in album.iterdir()} == before  # the photos are never touched
    without_track = ok(run(shell, "index", str(album), "--no-progress"))  # keeps what the track placed
    assert (
        f"skipped {len(PICKED) + 1} unchanged" in without_track.stdout
        and "placed" not in without_track.stdout
    )
    verbose = ok(
        run(shell, "index", str(album), "--gpx", str(track), "--camera-clock-offset", "+00:00:01", "-v")
    )
    assert "EARLY.jpg: outside the track's time range" in verbose.stderr  # a new clock places them again
    assert f"updated {len(PICKED) + 1}" in verbose.stdout


def test_a_camera_zone_places_photos_without_an_offset_tag(
    stripped: tuple[Path, Path, dict[str, tuple[float, float]]], shell: dict[str, str]
) -> None:
    album, track, _ = stripped
    photos = sorted(p for p in album.iterdir() if p.name != "EARLY.jpg")
    (album / "EARLY.jpg").unlink()
    exiftool("-q", "-overwrite_original", "-OffsetTime*=", *(str(p) for p in photos))
    done = ok(run(shell, "index", str(album), "--gpx", str(track), "--no-progress"))
    assert f"{len(photos)} without a time zone (no OffsetTimeOriginal: pass --camera-tz)" in done.stdout
    done = ok(
        run(shell, "index", str(album), "--gpx", str(track), "--camera-tz", "Asia/Kathmandu", "--no-progress")
    )
    assert f"placed {len(photos)} photo(s)" in done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--gpx", "missing.gpx"], "GPX file missing.gpx does not exist."),
        (["--camera-tz", "+05:45"], "give it with --gpx"),
        (["--gpx", "{track}", "--camera-clock-offset", "2min"], "Camera clock offset '2min'"),
    ],
)
def test_bad_geotag_arguments_are_one_line_before_the_model_loads(
    stripped: tuple[Path, Path, dict[str, tuple[float, float]]],
    shell: dict[str, str],
    args: list[str],
    needle: str,
) -> None:
    album, track, _ = stripped
    done = run(shell, "index", str(album), *(a.replace("{track}", str(track)) for a in args))
    assert needle in one_error_line(done)
    assert not Path(shell["PEAKLENS_DATA_DIR"]).exists()
