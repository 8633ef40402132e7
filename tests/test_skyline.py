"""Skyline heading refinement on a synthetic range: the photo is drawn by an independent renderer.

The terrain is an analytic surface (Gaussian mountains) written into a real SRTM tile; the test draws the photo
from the analytic surface itself (a plain ray march per column, flat-earth distances with the curvature drop
d²/2R'), not from the DEM sampler or the code under test, then hands the code a compass heading that is off by
a known angle.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peaklens.dem import Dem, add_tiles, load_dem
from peaklens.geo import EARTH_RADIUS_KM, REFRACTION_K, Camera
from peaklens.records import GeoPoint
from peaklens.skyline import detect_skyline, refine_heading

CAMERA = GeoPoint(27.5, 86.5)
CAMERA_ALT = 3600.0
BASE_M = 3000.0
KM_PER_DEG_LAT = math.pi / 180 * EARTH_RADIUS_KM
KM_PER_DEG_LON = KM_PER_DEG_LAT * math.cos(math.radians(CAMERA.lat))
#: (bearing from the camera °, distance km, height above the base m, width km): a ragged range to the east
MOUNTAINS = [
    (18, 14, 2600, 2.0), (31, 9, 1500, 1.2), (42, 21, 3400, 2.5), (55, 12, 2100, 1.5), (63, 7, 900, 0.8),
    (74, 17, 2900, 2.2), (86, 10, 1700, 1.3), (97, 24, 3300, 3.0), (108, 13, 2000, 1.6), (121, 18, 2500, 2.0),
]  # fmt: skip
TRUE_HEADING = 70.0
HFOV = 60.0
SIZE = (640, 480)


def _terrain_m(north_km: np.ndarray, east_km: np.ndarray) -> np.ndarray:
    height = np.full(np.broadcast(north_km, east_km).shape, BASE_M)
    for bearing, distance, top, width in MOUNTAINS:
        n0 = distance * math.cos(math.radians(bearing))
        e0 = distance * math.sin(math.radians(bearing))
        height += top * np.exp(-((north_km - n0) ** 2 + (east_km - e0) ** 2) / (2 * width**2))
    return height


def _write_tile(folder: Path) -> Path:
    lats = np.linspace(28, 27, 1201)
    lons = np.linspace(86, 87, 1201)
    north = (lats[:, None] - CAMERA.lat) * KM_PER_DEG_LAT
    east = (lons[None, :] - CAMERA.lon) * KM_PER_DEG_LON
    path = folder / "N27E086.hgt"
    path.write_bytes(np.round(_terrain_m(north, east)).astype(">i2").tobytes())
    return path


def _draw_photo(heading: float, pitch_px: float = 0.0) -> Image.Image:
    """Blue sky above the skyline the analytic terrain shows at ``heading``, grey-brown rock below."""
    width, height = SIZE
    focal = width / (2 * math.tan(math.radians(HFOV / 2)))
    radius_km = EARTH_RADIUS_KM / (1 - REFRACTION_K)
    d = np.linspace(0.2, 40, 4000)
    rows = np.empty(width)
    for u in range(width):
        alpha = math.atan((u + 0.5 - width / 2) / focal)
        azimuth = math.radians(heading) + alpha
        terrain = _terrain_m(d * math.cos(azimuth), d * math.sin(azimuth))
        drop_m = (d**2) / (2 * radius_km) * 1000
        elevation = np.max(np.arctan((terrain - drop_m - CAMERA_ALT) / (d * 1000)))
        rows[u] = height / 2 - focal * math.tan(elevation) / math.cos(alpha) - pitch_px
    y = np.arange(height)[:, None]
    sky = np.stack([70 + 60 * y / height, 120 + 50 * y / height, 215 + 20 * y / height], axis=-1)
    rng = np.random.default_rng(1)
    rock = np.array([120.0, 105.0, 90.0]) + rng.normal(0, 6, (height, width, 3))
    pixels = np.where((y < rows[None, :])[..., None], np.broadcast_to(sky, (height, width, 3)), rock)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def dem(tmp_path_factory: pytest.TempPathFactory) -> Dem:
    folder = tmp_path_factory.mktemp("skyline")
    add_tiles(folder / "data", [_write_tile(folder)])
    loaded = load_dem(folder / "data")
    assert loaded is not None
    return loaded


@pytest.mark.parametrize(("compass_error", "pitch_px"), [(6.0, 0.0), (-9.5, 25.0), (12.0, -30.0)])
def test_a_compass_off_by_a_known_angle_is_corrected_to_within_one_degree(
    dem: Dem, compass_error: float, pitch_px: float
) -> None:
    photo = _draw_photo(TRUE_HEADING, pitch_px)
    camera = Camera(CAMERA, CAMERA_ALT, heading_deg=TRUE_HEADING + compass_error, hfov_deg=HFOV)
    fit = refine_heading(photo, camera, dem)
    assert fit is not None and fit.reason is None, fit
    assert fit.offset_deg is not None
    assert abs(fit.offset_deg - (-compass_error)) < 1.0, fit
    assert fit.score >= 0.8


def test_a_right_compass_needs_no_correction(dem: Dem) -> None:
    fit = refine_heading(_draw_photo(TRUE_HEADING), Camera(CAMERA, CAMERA_ALT, TRUE_HEADING, HFOV), dem)
    assert fit is not None and fit.offset_deg == pytest.approx(0.0, abs=0.5)


def test_the_detector_finds_the_drawn_skyline() -> None:
    photo = _draw_photo(TRUE_HEADING)
    rows, reason = detect_skyline(photo, width=SIZE[0])
    assert reason is None
    pixels = np.asarray(photo, dtype=float)
    truth = np.argmax(np.abs(pixels[:, :, 2] - 100) < 40, axis=0)  # first rock row: blue channel near 90
    assert np.nanmedian(np.abs(rows - truth)) <= 2


def test_it_gives_up_on_an_overcast_photo_and_says_why(dem: Dem) -> None:
    rng = np.random.default_rng(0)
    clouds = Image.fromarray(rng.integers(150, 230, (480, 640, 3)).astype(np.uint8))
    fit = refine_heading(clouds, Camera(CAMERA, CAMERA_ALT, TRUE_HEADING, HFOV), dem)
    assert fit is not None and fit.offset_deg is None and fit.reason is not None and "sky" in fit.reason


def test_it_gives_up_when_the_photo_skyline_matches_no_heading(dem: Dem) -> None:
    photo = _draw_photo(TRUE_HEADING)
    mirrored = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # a skyline this terrain does not have
    fit = refine_heading(mirrored, Camera(CAMERA, CAMERA_ALT, TRUE_HEADING, HFOV), dem)
    assert fit is not None and fit.offset_deg is None, fit
    assert fit.reason is not None


def test_no_heading_or_no_coverage(dem: Dem) -> None:
    photo = _draw_photo(TRUE_HEADING)
    assert refine_heading(photo, Camera(CAMERA, CAMERA_ALT), dem) is None
    outside = refine_heading(photo, Camera(GeoPoint(26.5, 86.5), CAMERA_ALT, TRUE_HEADING, HFOV), dem)
    assert (
        outside is not None
        and outside.offset_deg is None
        and outside.reason == "the camera is outside the DEM"
    )
