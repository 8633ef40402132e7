"""Which named peaks a ridge hides from real trek cameras, on the real SRTM tiles of ../shared/dem (read in place).

The expected verdicts come from an independent profile: the raw .hgt samples read with numpy (nearest cell),
a straight line from the camera to the summit with the earth's bulge d·(D − d)/(2·R_eff) subtracted from the
terrain (R_eff = R / (1 − 0.13), standard refraction), over the same stretch the rule checks (from 150 m after
the camera to 2 km before the summit). Only clear cases are asserted: terrain at least 100 m above the line
(hidden) or everywhere at least 40 m below it (seen); the DEM code must agree on every one of them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from peaklens.catalog import load_catalog
from peaklens.dem import Dem, read_hgt
from peaklens.records import GeoPoint

SHARED_DEM = Path(__file__).resolve().parents[2] / "shared" / "dem"
R_EFF_M = 6371008.8 / (1 - 0.13)
#: a case is clear when the terrain rises this far above the line (hidden) or stays this far below it (seen);
#: the rule under test blocks at 20 m above the line, and nearest cells differ from bilinear by tens of metres
HIDDEN_M = 100.0
SEEN_M = 40.0
CAMERA_CLEARANCE = 150.0

pytestmark = pytest.mark.skipif(not SHARED_DEM.is_dir(), reason="needs ../shared/dem")

#: real trek camera positions and GPS altitudes (EXIF of ../shared/trek/jpeg)
CAMERAS = {
    "Tengboche (IMG_2195)": (GeoPoint(27.83549722, 86.76423611), 3865.7),
    "Namche (IMG_1920)": (GeoPoint(27.80304444, 86.71505), 3559.0),
    "Dingboche (IMG_2486)": (GeoPoint(27.89311111, 86.82685833), 4418.2),
    "Gorak Shep (IMG_2844)": (GeoPoint(27.96901389, 86.82224167), 5126.5),
}


def _raw_tiles() -> dict[tuple[int, int], np.ndarray]:
    return {
        (int(p.stem[1:3]), int(p.stem[4:7])): np.fromfile(p, ">i2").reshape(1201, 1201)
        for p in SHARED_DEM.glob("N*E*.hgt")
    }


def _height(tiles: dict[tuple[int, int], np.ndarray], lat: float, lon: float) -> float:
    key = (math.floor(lat), math.floor(lon))
    grid = tiles[key]
    row = round((key[0] + 1 - lat) * 1200)
    col = round((lon - key[1]) * 1200)
    return float(grid[row, col])


def _excess_m(
    tiles: dict[tuple[int, int], np.ndarray], camera: GeoPoint, alt: float, peak: GeoPoint, elev: float
) -> float:
    """The most the terrain rises above the sight line (negative: how far below it stays)."""
    north = (peak.lat - camera.lat) * 111195.0
    east = (peak.lon - camera.lon) * 111195.0 * math.cos(math.radians((peak.lat + camera.lat) / 2))
    total = math.hypot(north, east)
    worst = -math.inf
    for d in np.arange(CAMERA_CLEARANCE, total - min(2000.0, 0.3 * total), 30.0):
        f = d / total
        lat, lon = camera.lat + f * (peak.lat - camera.lat), camera.lon + f * (peak.lon - camera.lon)
        terrain = _height(tiles, lat, lon) - d * (total - d) / (2 * R_EFF_M)
        line = alt + (elev - alt) * f
        worst = max(worst, terrain - line)
    return worst


def test_named_peaks_hidden_or_seen_from_real_trek_cameras_agree_with_a_numpy_profile() -> None:
    tiles = _raw_tiles()
    dem = Dem([read_hgt(p.name, p.read_bytes()) for p in sorted(SHARED_DEM.glob("*.hgt"))])
    peaks = [p for p in load_catalog()[0] if p.latlon is not None and p.elev_m is not None]
    decided = {"hidden": 0, "seen": 0}
    for where, (camera, alt) in CAMERAS.items():
        near = [
            p
            for p in peaks
            if p.latlon is not None
            and abs(p.latlon.lat - camera.lat) < 0.45
            and abs(p.latlon.lon - camera.lon) < 0.45
        ]
        sight = dem.line_of_sight(
            camera,
            alt,
            np.array([p.latlon.lat for p in near if p.latlon is not None]),
            np.array([p.latlon.lon for p in near if p.latlon is not None]),
            np.array([float(p.elev_m or 0) for p in near]),
        )
        for peak, blocked, checked in zip(near, sight.blocked, sight.checked, strict=True):
            assert peak.latlon is not None and peak.elev_m is not None
            excess = _excess_m(tiles, camera, alt, peak.latlon, float(peak.elev_m))
            if excess > HIDDEN_M:
                assert checked and blocked, (
                    f"{peak.names[0]} from {where}: terrain {excess:.0f} m above the line"
                )
                decided["hidden"] += 1
            elif excess < -SEEN_M:
                assert checked and not blocked, f"{peak.names[0]} from {where}: line {-excess:.0f} m clear"
                decided["seen"] += 1
    # the four cameras decide enough peaks both ways for the agreement to mean something
    assert decided["hidden"] >= 5 and decided["seen"] >= 3, decided


def test_everest_is_seen_from_tengboche() -> None:
    """What every Tengboche photo shows: Everest's summit above the Nuptse–Lhotse wall (profile and DEM code)."""
    tiles = _raw_tiles()
    dem = Dem([read_hgt(p.name, p.read_bytes()) for p in sorted(SHARED_DEM.glob("*.hgt"))])
    everest = next(p for p in load_catalog()[0] if "Mount Everest" in p.names)
    assert everest.latlon is not None and everest.elev_m is not None
    camera, alt = CAMERAS["Tengboche (IMG_2195)"]
    excess = _excess_m(tiles, camera, alt, everest.latlon, float(everest.elev_m))
    sight = dem.line_of_sight(
        camera,
        alt,
        np.array([everest.latlon.lat]),
        np.array([everest.latlon.lon]),
        np.array([float(everest.elev_m)]),
    )
    assert excess < -SEEN_M and bool(sight.checked[0]) and not bool(sight.blocked[0])
