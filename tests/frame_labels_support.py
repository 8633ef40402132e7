"""Marked frames written by hand for the frame-evaluation tests."""

from __future__ import annotations

import math
from pathlib import Path

from peaklens.records import GeoPoint

HERE = GeoPoint(27.9, 86.8)


def _destination(bearing_deg: float, km: float) -> GeoPoint:
    """The standard great-circle destination formula (not the code under test)."""
    phi, lam, theta, delta = (
        math.radians(HERE.lat),
        math.radians(HERE.lon),
        math.radians(bearing_deg),
        km / R_KM,
    )
    phi2 = math.asin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi), math.cos(delta) - math.sin(phi) * math.sin(phi2)
    )
    return GeoPoint(math.degrees(phi2), math.degrees(lam2))


#: bearing of each synthetic peak; from heading 0 with a 90° frame: P1 x 0.5, P2 x 0.7 (tan 21.80° = 0.4),
#: P3 x 0.2 (tan 30.96° = 0.6), P4 at 60° (outside the old cone, 57°), P5 at 50° (outside the frame, inside the
#: old cone), P6 behind the camera
BEARINGS = {
    "p1": 0.0,
    "p2": math.degrees(math.atan(0.4)),
    "p3": 360.0 - math.degrees(math.atan(0.6)),
    "p4": 60.0,
    "p5": 50.0,
    "p6": 180.0,
}


def _write_labels(folder: Path, body: str) -> Path:
    for name in ("one.jpg", "two.jpg"):
        (folder / name).write_bytes(b"not decoded: the cameras are given")
    path = folder / "labels.yaml"
    path.write_text(body, encoding="utf-8")
    return path


R_KM = 6371.0088
