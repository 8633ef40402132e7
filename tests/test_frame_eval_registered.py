"""The eval's three heading sources — compass, registered against the terrain, one click — with |y error| where a
mark has a height, and the count of fits that made a photo worse.

Same synthetic camera and peaks as tests/test_frame_eval.py (heading 0°, 90° field of view, peaks 10 km away at
chosen bearings); the registration is injected (a fixed answer per photo), so the scores are worked by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from peaklens.errors import BadInput
from peaklens.frame_eval import RULE_REGISTERED, evaluate_frames, format_frame_report, load_frame_labels
from peaklens.geo import Camera
from peaklens.records import PeakDoc
from peaklens.registration import Registration
from tests.frame_labels_support import BEARINGS, HERE, _destination, _write_labels

ASPECT = 0.75
CAMERAS = {
    "one.jpg": Camera(HERE, 4000.0, 0.0, 90.0, aspect=ASPECT),
    "two.jpg": Camera(HERE, 4000.0, 10.0, 90.0, aspect=ASPECT),
}
LABELS = """
photos:
  - photo: one.jpg
    peaks:
      - {peak: Peak 1, x: 0.55, y: 0.40, confidence: high}
      - {peak: p2, x: 0.74, y: 0.45, confidence: medium}
      - {peak: peak 3, x: 0.26, confidence: low}
    not_visible: [Peak 5]
  - photo: two.jpg
    peaks:
      - {peak: Peak 1, x: 0.40, confidence: high}
"""
#: the heading correction that puts Peak 1 at its mark in photo one: x 0.55 = off axis atan(0.1)
RIGHT_OFFSET = -math.degrees(math.atan(0.1))


@pytest.fixture
def peaks() -> list[PeakDoc]:
    return [
        PeakDoc(pid, [f"Peak {pid[1]}"], np.zeros(2), _destination(b, 10.0), 6000)
        for pid, b in BEARINGS.items()
    ]


def _camera(path: Path) -> Camera:
    return CAMERAS[path.name]


def _elevation_deg() -> float:
    """Every peak: 6000 m, 10 km from a camera at 4000 m, on the effective-radius sphere."""
    radius = 6371008.8 / (1 - 0.13)
    central = 10000.0 / radius
    return math.degrees(
        math.atan2((radius + 6000) * math.cos(central) - (radius + 4000), (radius + 6000) * math.sin(central))
    )


def _x(off_axis_deg: float, pitch_deg: float) -> float:
    """Rectilinear x of a summit at the common elevation seen by a pitched camera (no roll), by hand."""
    a, e, p = math.radians(off_axis_deg), math.radians(_elevation_deg()), math.radians(pitch_deg)
    across = math.cos(e) * math.sin(a)
    ahead = math.sin(e) * math.sin(p) + math.cos(e) * math.cos(a) * math.cos(p)
    return 0.5 + across / ahead / (2 * math.tan(math.radians(45)))


def _y(off_axis_deg: float, pitch_deg: float) -> float:
    """Rectilinear y of a summit at the common elevation, by the rotation worked out by hand (no roll)."""
    a, e, p = math.radians(off_axis_deg), math.radians(_elevation_deg()), math.radians(pitch_deg)
    up = math.sin(e) * math.cos(p) - math.cos(e) * math.cos(a) * math.sin(p)
    ahead = math.sin(e) * math.sin(p) + math.cos(e) * math.cos(a) * math.cos(p)
    return 0.5 - up / ahead / (2 * math.tan(math.radians(45)) * ASPECT)


def _register_photo_one(path: Path, camera: Camera) -> Registration:
    """Photo one registers with the right correction and a 2° pitch; photo two gives up."""
    if path.name == "one.jpg":
        return Registration(RIGHT_OFFSET, 2.0, 0.0, 0.8)
    return Registration(None, None, None, 0.05, "another heading fits almost as well")


def test_registered_labels_are_scored_with_their_heights(tmp_path: Path, peaks: list[PeakDoc]) -> None:
    """Photo one is registered (the right correction, pitch 2°), photo two gives up and keeps its compass."""

    labels = load_frame_labels(_write_labels(tmp_path, LABELS), peaks)
    report = evaluate_frames(labels, peaks, cameras=_camera, register=_register_photo_one)
    assert (report.registered_photos, report.registration_tried, report.made_worse) == (1, 2, [])
    # x with the 2° pitch: photo one P1 at 5.711°, P2 at 21.801° + 5.711° = 27.512°, P3 at -25.253°; photo two
    # on the compass (no pitch): P1 at -10° -> 0.41184, 0.01184 from its mark
    errors = sorted(
        [abs(_x(5.711, 2.0) - 0.55), abs(_x(27.512, 2.0) - 0.74), abs(_x(-25.253, 2.0) - 0.26), 0.01184]
    )
    assert report.registered.n == 4
    assert report.registered.median == pytest.approx((errors[1] + errors[2]) / 2, abs=1e-4)
    # y: P1 at 5.711° off axis and P2 at 27.512°, pitch 2°
    y1, y2 = _y(5.711, 2.0), _y(27.512, 2.0)
    y_stats = report.y_errors["registered"]
    assert y_stats.n == 2
    assert y_stats.median == pytest.approx((abs(y1 - 0.40) + abs(y2 - 0.45)) / 2, abs=1e-4)
    # the compass has no pitch: both y marks unplaced
    assert (report.y_errors["compass"].n, report.y_errors["compass"].unplaced) == (0, 2)
    assert RULE_REGISTERED in {s.rule for s in report.in_frame}
    text = format_frame_report(report)
    assert "Registered against the terrain: 1 of 2 photos tried" in text
    assert f"| {y_stats.median:.3f} |" in text


def test_one_click_fixes_the_pitch_from_the_marks_height(tmp_path: Path, peaks: list[PeakDoc]) -> None:
    """Dragging Peak 1 to (0.55, 0.40): the pitch that puts it at y 0.40, then Peak 2's y from that pitch."""
    labels = load_frame_labels(_write_labels(tmp_path, LABELS), peaks)
    report = evaluate_frames(labels, peaks, cameras=_camera)
    e, a = math.radians(_elevation_deg()), math.atan(0.1)
    in_plane = math.atan2(math.sin(e), math.cos(e) * math.cos(a))
    pitch = math.degrees(in_plane - math.atan((0.5 - 0.40) * 2 * ASPECT))
    clicked = report.y_errors["one click"]
    assert clicked.n == 1
    assert clicked.median == pytest.approx(abs(_y(27.512, pitch) - 0.45), abs=1e-4)


def test_a_fit_that_moves_the_labels_away_is_counted_as_making_the_photo_worse(
    tmp_path: Path, peaks: list[PeakDoc]
) -> None:
    """Photo two registered 10° off: P1 at -20° -> x 0.31801, 0.08199 from its mark against 0.01184 on the
    compass — worse by more than 0.02."""

    def register(path: Path, camera: Camera) -> Registration:
        return Registration(10.0 if path.name == "two.jpg" else RIGHT_OFFSET, 0.0, 0.0, 0.5)

    labels = load_frame_labels(_write_labels(tmp_path, LABELS), peaks)
    report = evaluate_frames(labels, peaks, cameras=_camera, register=register)
    assert report.made_worse == ["two.jpg"]
    two = next(r for r in report.per_photo if r.photo == "two.jpg")
    assert two.registered_errors["p1"] == pytest.approx(
        abs(0.5 - math.tan(math.radians(20)) / 2 - 0.40), abs=1e-4
    )


@pytest.mark.parametrize("y", ["1.2", "-0.1", "true", "high"])
def test_a_bad_height_is_one_line(tmp_path: Path, peaks: list[PeakDoc], y: str) -> None:
    body = f"photos:\n  - photo: one.jpg\n    peaks:\n      - {{peak: Peak 1, x: 0.5, y: {y}}}\n"
    with pytest.raises(BadInput, match="y of 'Peak 1' must be a number from 0 to 1"):
        load_frame_labels(_write_labels(tmp_path, body), peaks)


def test_registration_is_counted_by_the_labels_conditions(tmp_path: Path, peaks: list[PeakDoc]) -> None:
    """How often registration fits, per condition the marker wrote (a photo counts under each of its
    conditions), in the text and in the JSON; a condition the header does not list is an error naming it."""
    labelled = LABELS.replace(
        "  - photo: one.jpg\n", "  - photo: one.jpg\n    conditions: [clear, foreground]\n"
    )
    labelled = labelled.replace(
        "  - photo: two.jpg\n", "  - photo: two.jpg\n    conditions: [cloud, foreground]\n"
    )

    labels = load_frame_labels(_write_labels(tmp_path, labelled), peaks)
    report = evaluate_frames(labels, peaks, cameras=_camera, register=_register_photo_one)
    assert report.registered_by_condition == {"clear": (1, 1), "cloud": (0, 1), "foreground": (1, 2)}
    assert "by the labels' conditions: clear 1 of 1, cloud 0 of 1, foreground 1 of 2" in format_frame_report(
        report
    )
    assert report.to_json()["registered_by_condition"]["foreground"] == {"registered": 1, "tried": 2}
    # without a registration nothing is tried, so nothing is counted
    assert evaluate_frames(labels, peaks, cameras=_camera).registered_by_condition == {}
    with pytest.raises(BadInput, match=r"two\.jpg: `conditions` must be a list of clear, cloud"):
        load_frame_labels(_write_labels(tmp_path, labelled.replace("[cloud, foreground]", "[sunny]")), peaks)


def test_registration_is_counted_over_the_photos_that_show_a_ridge_against_the_sky(
    tmp_path: Path, peaks: list[PeakDoc]
) -> None:
    """Issue 16's goal counts registration among the photos whose terrain meets open sky over at least a
    quarter of the width (`skyline:`, judged by the marker): photo one (0.25, the boundary) counts, photo
    two (0.2) does not; a file without shares has no such count; a share outside 0..1 is an error naming it."""
    labelled = LABELS.replace("  - photo: one.jpg\n", "  - photo: one.jpg\n    skyline: 0.25\n")
    labelled = labelled.replace("  - photo: two.jpg\n", "  - photo: two.jpg\n    skyline: 0.2\n")

    labels = load_frame_labels(_write_labels(tmp_path, labelled), peaks)
    assert [p.skyline for p in labels] == [0.25, 0.2]
    report = evaluate_frames(labels, peaks, cameras=_camera, register=_register_photo_one)
    assert report.registered_with_ridge == (1, 1)
    assert "show a ridge against the sky (over >= 0.25 of the width): 1 of 1" in format_frame_report(report)
    assert report.to_json()["registered_with_ridge"] == {"registered": 1, "tried": 1}
    # photo two, which the injected registration does not fit, counts once its share reaches the boundary
    both = load_frame_labels(
        _write_labels(tmp_path, labelled.replace("skyline: 0.2\n", "skyline: 0.3\n")), peaks
    )
    report_both = evaluate_frames(both, peaks, cameras=_camera, register=_register_photo_one)
    assert report_both.registered_with_ridge == (1, 2)
    plain = evaluate_frames(load_frame_labels(_write_labels(tmp_path, LABELS), peaks), peaks, cameras=_camera)
    assert plain.registered_with_ridge is None and "ridge against the sky" not in format_frame_report(plain)
    assert plain.to_json()["registered_with_ridge"] is None
    for wrong in ("1.5", "-0.1", "lots", "true"):
        with pytest.raises(BadInput, match=r"two\.jpg: `skyline` must be a share of the width from 0 to 1"):
            load_frame_labels(
                _write_labels(tmp_path, labelled.replace("skyline: 0.2\n", f"skyline: {wrong}\n")), peaks
            )
