"""How long terrain occlusion takes per photo: every catalog peak's line of sight over a DEM.

Synthetic but realistically sized terrain: the 1° SRTM tiles covering the catalog (N27/N28 × E086/E087),
written as real ``.hgt`` files, registered with ``add_tiles`` and memory-mapped by ``load_dem`` exactly as
``peaklens dem add`` does. The cameras are the trek photos' GPS/altitude/heading (EXIF of ../shared/trek),
or a grid over the Khumbu when those are absent. The sight lines never stop early, so the cost does not depend
on the heights; the terrain is a smooth random surface to keep the pages touched realistic.

    .venv/bin/python -m bench.dem_speed [--resolution 1,3] [--repeat 5]

``rows(...)`` returns the table rows; ``run(...)`` returns a ``bench.common.Section`` for ``bench.run_all``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import TREK, Section, percentile, table
from peaklens.catalog import load_catalog
from peaklens.dem import Dem, add_tiles, load_dem
from peaklens.exif import read_meta
from peaklens.frame import frame_view
from peaklens.geo import Camera, horizontal_fov_deg
from peaklens.records import GeoPoint

TILES = [(27, 86), (27, 87), (28, 86), (28, 87)]
HEADER = [
    "DEM",
    "photos",
    "peaks",
    "occlusion ms/photo: median",
    "p90",
    "max",
    "frame_view ms: median",
    "p90",
]


def _write_tiles(folder: Path, arcsec: int, seed: int = 0) -> list[Path]:
    side = 3600 // arcsec + 1
    rng = np.random.default_rng(seed)
    paths = []
    t = np.linspace(0, 1, side)
    for lat, lon in TILES:
        waves = np.zeros((side, side))
        for f, g in ((3, 2), (7, 5), (13, 11)):
            waves += (
                rng.uniform(300, 900)
                * np.sin(2 * np.pi * (f * t[:, None] + rng.uniform()))
                * np.cos(2 * np.pi * (g * t[None, :] + rng.uniform()))
            )
        heights = (4500 + waves).astype(">i2")
        path = folder / f"N{lat:02d}E{lon:03d}.hgt"
        path.write_bytes(heights.tobytes())
        paths.append(path)
    return paths


def cameras(limit: int = 100) -> list[Camera]:
    """The trek photos' cameras (GPS, altitude, heading, field of view), or a Khumbu grid without them."""
    found = []
    for path in sorted((TREK / "jpeg").glob("*.jpg"))[:limit] if (TREK / "jpeg").is_dir() else []:
        with Image.open(path) as image:
            meta = read_meta(image)
        if meta.gps is not None:
            found.append(
                Camera(
                    meta.gps,
                    meta.altitude_m,
                    meta.heading_deg,
                    horizontal_fov_deg(meta.focal_length_35mm, None, 4032, 3024),
                )
            )
    if found:
        return found
    grid = np.linspace(27.75, 27.98, 10)
    return [
        Camera(GeoPoint(float(lat), float(lon)), 4000.0, 60.0, 65.0)
        for lat in grid
        for lon in np.linspace(86.7, 86.85, 10)
    ][:limit]


def _time(dem: Dem, cams: list[Camera], repeat: int) -> tuple[list[float], list[float]]:
    peaks = load_catalog()[0]
    lats = np.array([p.latlon.lat for p in peaks if p.latlon is not None])
    lons = np.array([p.latlon.lon for p in peaks if p.latlon is not None])
    elevs = np.array([float(p.elev_m or np.nan) for p in peaks if p.latlon is not None])
    sight_ms, frame_ms = [], []
    for camera in cams:
        alt = camera.altitude_m if camera.altitude_m is not None else 4000.0
        dem.line_of_sight(camera.position, alt, lats, lons, elevs)  # warm the pages this camera touches
        sight, frame = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            dem.line_of_sight(camera.position, alt, lats, lons, elevs)
            sight.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            frame_view(camera, peaks, dem)
            frame.append((time.perf_counter() - started) * 1000)
        # per photo, the median of its repeats: the 2-core test machine is shared, single calls get preempted
        sight_ms.append(statistics.median(sight))
        frame_ms.append(statistics.median(frame))
    return sight_ms, frame_ms


def rows(resolutions: tuple[int, ...] = (3, 1), repeat: int = 5) -> list[list[object]]:
    """One row per DEM resolution (arc-seconds): occlusion and full frame geometry time per photo."""
    cams = cameras()
    peaks = [p for p in load_catalog()[0] if p.latlon is not None]
    out: list[list[object]] = []
    for arcsec in resolutions:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            add_tiles(folder / "data", _write_tiles(folder, arcsec))
            dem = load_dem(folder / "data")
            assert dem is not None
            sight, frame = _time(dem, cams, repeat)
            out.append(
                [
                    f"{len(TILES)} SRTM tiles, {arcsec}″",
                    len(cams),
                    len(peaks),
                    f"{percentile(sight, 50):.2f}",
                    f"{percentile(sight, 90):.2f}",
                    f"{max(sight):.2f}",
                    f"{percentile(frame, 50):.2f}",
                    f"{percentile(frame, 90):.2f}",
                ]
            )
    return out


def run(resolutions: tuple[int, ...] = (3, 1), repeat: int = 5) -> Section:
    body = table(HEADER, rows(resolutions, repeat))
    return Section(
        "Terrain occlusion per photo", body + "\n\nTarget: ≤ 5 ms per photo for the whole catalog."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resolution", default="3,1", help="arc-seconds of the tiles, comma separated")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per camera")
    args = parser.parse_args()
    section = run(tuple(int(r) for r in args.resolution.split(",")), args.repeat)
    print(f"## {section.title}\n\n{section.body}")


if __name__ == "__main__":
    main()
