"""Placing photos without GPS on a GPX track: interpolation, gaps, the time range, camera clocks and zones.

Expected positions are worked out by hand from the track's points (midpoints, thirds), not by the code."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from peaklens.config import load_settings
from peaklens.errors import BadInput
from peaklens.exif import PhotoMeta
from peaklens.gpx import (
    Geotagger,
    TrackPoint,
    geotagger_from_settings,
    parse_clock_offset,
    parse_zone,
    read_track,
)
from peaklens.records import GeoPoint

UTC = timezone.utc
NPT = timezone(timedelta(hours=5, minutes=45))
T0 = datetime(2023, 10, 27, 1, 0, 0, tzinfo=UTC)

GPX_HEAD = '<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'


def write_gpx(path: Path, segments: list[list[tuple[str, float, float, float | None]]]) -> Path:
    body = "".join(
        "<trkseg>"
        + "".join(
            f'<trkpt lat="{lat}" lon="{lon}">' + (f"<ele>{ele}</ele>" if ele is not None else "")
            + f"<time>{when}</time></trkpt>"
            for when, lat, lon, ele in segment
        )
        + "</trkseg>"
        for segment in segments
    )  # fmt: skip
    path.write_text(f"{GPX_HEAD}<trk><name>t</name>{body}</trk></gpx>", encoding="utf-8")
    return path


def track(*points: tuple[int, float, float, float | None]) -> list[TrackPoint]:
    return [TrackPoint(T0 + timedelta(seconds=s), GeoPoint(lat, lon), ele) for s, lat, lon, ele in points]


LINE = track((0, 27.80, 86.70, 3400.0), (60, 27.81, 86.73, 3460.0), (4000, 27.90, 86.80, 4000.0))


def meta_at(moment: datetime | None, **fields: object) -> PhotoMeta:
    return PhotoMeta(shot_time=moment, **fields)  # type: ignore[arg-type]


def test_a_photo_between_two_points_is_placed_on_the_line_between_them() -> None:
    tagger = Geotagger(LINE)
    meta = meta_at((T0 + timedelta(seconds=20)).astimezone(NPT))  # a third of the way from 0 s to 60 s
    assert tagger.place(meta, "a.jpg")
    assert meta.gps is not None and meta.gps_source == "gpx"
    assert meta.gps.lat == pytest.approx(27.80 + 0.01 / 3) and meta.gps.lon == pytest.approx(86.70 + 0.03 / 3)
    assert meta.altitude_m == pytest.approx(3420.0)
    assert tagger.report.placed == ["a.jpg"] and tagger.report.nearest_gaps_s == [20.0]


def test_a_photo_on_a_track_point_gets_that_point() -> None:
    tagger = Geotagger(LINE)
    meta = meta_at(T0 + timedelta(seconds=60), altitude_m=3500.0)
    assert tagger.place(meta, "b.jpg")
    assert meta.gps == GeoPoint(27.81, 86.73)
    assert meta.altitude_m == 3500.0  # the camera's own altitude is kept


def test_a_gap_longer_than_the_limit_is_refused_and_counted() -> None:
    tagger = Geotagger(LINE, max_gap_s=1800)
    meta = meta_at(T0 + timedelta(seconds=2000))  # between 60 s and 4000 s: a 3940 s gap
    assert not tagger.place(meta, "gap.jpg")
    assert meta.gps is None and meta.gps_source is None
    assert tagger.report.in_gap == ["gap.jpg"]
    wide = Geotagger(LINE, max_gap_s=4000)
    assert wide.place(meta_at(T0 + timedelta(seconds=2030)), "gap.jpg")  # half way: 27.855, 86.765


def test_a_photo_outside_the_track_time_range_stays_without_gps_and_is_counted() -> None:
    tagger = Geotagger(LINE)
    for name, seconds in (("early.jpg", -61), ("late.jpg", 4061)):
        meta = meta_at(T0 + timedelta(seconds=seconds))
        assert not tagger.place(meta, name)
        assert meta.gps is None
    assert tagger.report.outside_track == ["early.jpg", "late.jpg"]
    assert tagger.report.placed == [] and tagger.report.unplaced == 2


def test_a_fix_within_a_minute_places_a_photo_at_a_gap_edge_or_just_past_an_end() -> None:
    tagger = Geotagger(LINE, max_gap_s=1800)
    for seconds, where in (
        (90, GeoPoint(27.81, 86.73)),
        (-60, GeoPoint(27.80, 86.70)),
        (4030, GeoPoint(27.90, 86.80)),
    ):
        meta = meta_at(T0 + timedelta(seconds=seconds))
        assert tagger.place(meta, f"{seconds}.jpg"), seconds
        assert meta.gps == where
    assert not tagger.place(meta_at(T0 + timedelta(seconds=121)), "121.jpg")  # 61 s from the fix at 60 s
    assert tagger.report.in_gap == ["121.jpg"]


def test_a_placed_photo_with_a_magnetic_compass_is_turned_to_true_north() -> None:
    """Reykjavik's declination in June 2024 is about -11.7° (the model's published value)."""
    reykjavik = track((0, 64.1466, -21.9426, None), (60, 64.1466, -21.9426, None))
    june = datetime(2024, 6, 15, 12, 0, 30, tzinfo=UTC)
    tagger = Geotagger([TrackPoint(june + (p.time - T0) - timedelta(seconds=30), p.point) for p in reykjavik])
    meta = meta_at(june, heading_deg=100.0, heading_ref="M")
    assert tagger.place(meta, "compass.jpg")
    assert meta.heading_deg == pytest.approx(88.3, abs=0.5) and meta.declination_deg == pytest.approx(
        -11.7, abs=0.5
    )


def test_a_photo_with_exif_gps_is_left_alone() -> None:
    tagger = Geotagger(LINE)
    meta = meta_at(T0 + timedelta(seconds=20), gps=GeoPoint(1.0, 2.0), gps_source="exif")
    assert not tagger.place(meta, "gps.jpg")
    assert meta.gps == GeoPoint(1.0, 2.0) and meta.gps_source == "exif"
    assert tagger.report.unplaced == 0 and tagger.report.placed == []


def test_a_camera_clock_without_zone_needs_the_camera_zone() -> None:
    local = datetime(2023, 10, 27, 6, 45, 20)  # Nepal wall clock of T0 + 20 s, no offset tag
    tagger = Geotagger(LINE)
    assert not tagger.place(meta_at(local), "naive.jpg")
    assert tagger.report.no_zone == ["naive.jpg"]
    for zone in ("Asia/Kathmandu", "+05:45"):
        zoned = Geotagger(LINE, camera_tz=parse_zone(zone))
        meta = meta_at(local)
        assert zoned.place(meta, "naive.jpg")
        assert meta.gps is not None and meta.gps.lat == pytest.approx(27.80 + 0.01 / 3)


def test_a_camera_clock_that_was_ahead_is_set_back_but_never_the_gps_clock() -> None:
    ahead = Geotagger(LINE, clock_offset=parse_clock_offset("+00:02:00"))
    fast = meta_at(T0 + timedelta(seconds=140))  # the camera showed 2 min more than the truth (20 s)
    assert ahead.place(fast, "fast.jpg")
    assert fast.gps is not None and fast.gps.lat == pytest.approx(27.80 + 0.01 / 3)
    satellite = meta_at(T0 + timedelta(seconds=20), time_source="GPS")
    assert ahead.place(satellite, "gps-clock.jpg")
    assert satellite.gps is not None and satellite.gps.lat == pytest.approx(27.80 + 0.01 / 3)


def test_the_median_gap_shows_a_wrong_zone() -> None:
    tagger = Geotagger(LINE, camera_tz=parse_zone("+00:00"))  # the camera was really on Nepal time
    for seconds in (0, 20, 60):
        wall = (T0 + timedelta(seconds=seconds)).astimezone(NPT).replace(tzinfo=None)
        tagger.place(meta_at(wall), f"{seconds}.jpg")
    assert tagger.report.outside_track == ["0.jpg", "20.jpg", "60.jpg"]
    assert tagger.report.median_gap_s == pytest.approx(5 * 3600 + 45 * 60 - 4000 + 20)
    summary = tagger.report.summary(1800)
    assert "3 outside the track's time range" in summary and "wrong --camera-tz" in summary


def test_no_capture_time_is_counted() -> None:
    tagger = Geotagger(LINE)
    assert not tagger.place(meta_at(None), "untimed.jpg")
    assert tagger.report.no_time == ["untimed.jpg"]


def test_a_gpx_file_is_read_from_every_track_segment_sorted_by_time(tmp_path: Path) -> None:
    path = write_gpx(
        tmp_path / "t.gpx",
        [
            [("2023-10-27T01:01:00Z", 27.81, 86.73, 3460.0)],
            [("2023-10-27T01:00:00Z", 27.80, 86.70, None), ("2023-10-27T02:00:00+05:45", 27.0, 86.0, 1.0)],
        ],
    )
    points = read_track([path])
    assert [p.time for p in points] == [
        datetime(2023, 10, 26, 20, 15, tzinfo=UTC),  # 02:00 in Nepal is 20:15 UTC the day before
        T0,
        T0 + timedelta(minutes=1),
    ]
    assert points[1].point == GeoPoint(27.80, 86.70) and points[1].elevation_m is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),
        ("<gpx><trk>", "is not valid GPX"),
        (
            f"{GPX_HEAD}<trk><trkseg><trkpt lat='1' lon='2'/></trkseg></trk></gpx>",
            "no track points with a time",
        ),
    ],
)
def test_a_bad_gpx_file_is_one_line_naming_it(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "bad.gpx"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BadInput) as caught:
        read_track([path])
    message = str(caught.value)
    assert needle in message and str(path) in message and "\n" not in message


@pytest.mark.parametrize("text", ["Mars/Olympus", "+25:00", "5:45", "+05:75"])
def test_a_bad_camera_zone_is_refused(text: str) -> None:
    with pytest.raises(BadInput, match="Camera time zone"):
        parse_zone(text)


@pytest.mark.parametrize("text", ["2 minutes", "+00:02", "+00:60:00", "00:00:99"])
def test_a_bad_clock_offset_is_refused(text: str) -> None:
    with pytest.raises(BadInput, match="Camera clock offset"):
        parse_clock_offset(text)


def test_clock_offsets_read_both_ways() -> None:
    assert parse_clock_offset("-01:00:05") == -timedelta(hours=1, seconds=5)
    assert parse_clock_offset("00:00:30") == timedelta(seconds=30)


def test_without_a_track_nothing_is_placed_but_the_clock_settings_are_still_checked() -> None:
    assert geotagger_from_settings([], "+05:45", "+00:00:10", 1800) is None  # kept in a config for next time
    with pytest.raises(BadInput, match="Camera time zone"):
        geotagger_from_settings([], "Nepal Standard", None, 1800)


def test_the_track_can_be_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gpx = write_gpx(tmp_path / "t.gpx", [[("2023-10-27T01:00:00Z", 27.8, 86.7, None)]])
    config = tmp_path / "peaklens.yaml"
    config.write_text(f"gpx: [{gpx}]\ncamera_tz: Asia/Kathmandu\ngpx_max_gap_s: 600\n")
    monkeypatch.setenv("PEAKLENS_CONFIG", str(config))
    settings = load_settings()
    tagger = geotagger_from_settings(
        settings.gpx, settings.camera_tz, settings.camera_clock_offset, settings.gpx_max_gap_s
    )
    assert tagger is not None and tagger.max_gap_s == 600 and len(tagger.points) == 1
    assert settings.public_dict()["gpx"] == [str(gpx)]  # `peaklens config --json` prints it


def test_the_fingerprint_changes_with_the_track_and_the_clock() -> None:
    base = Geotagger(LINE).fingerprint()
    assert base == Geotagger(list(reversed(LINE))).fingerprint()
    assert base != Geotagger(LINE[:2]).fingerprint()
    assert base != Geotagger(LINE, clock_offset=timedelta(seconds=1)).fingerprint()
