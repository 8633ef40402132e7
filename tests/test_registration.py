"""Registering a photo against the terrain: synthetic mountains drawn by an independent renderer, and real trek
photos against ../shared/dem and the hand marks of eval/trek_labels.yaml.

The synthetic photos are drawn here, not by peaklens: the skyline of an analytic terrain (Gaussian mountains
on a plateau) is ray-marched in this file with its own earth-curvature formula, projected with its own
rectilinear camera, and painted sky-blue above and textured rock below. The camera's true heading and pitch
are therefore known exactly; the compass handed to the registration is off by a chosen error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from peaklens.catalog import load_catalog
from peaklens.dem import Dem, Tile, read_hgt
from peaklens.enrich import camera_of
from peaklens.geo import Camera
from peaklens.imaging import open_photo
from peaklens.records import GeoPoint, PeakDoc
from peaklens.registration import MIN_CONFIDENCE, Registrar, place_photo

REPO = Path(__file__).resolve().parents[1]
SHARED_DEM = REPO.parent / "shared" / "dem"
TREK_LABELS = REPO / "eval" / "trek_labels.yaml"

CAMERA = GeoPoint(27.5, 86.5)
PLATEAU_M = 4000.0
EYE_M = 1.7
#: (bearing from the camera °, distance km, height above the plateau m, width km): a skyline with a shape
Mountain = tuple[float, float, float, float]
MOUNTAINS: list[Mountain] = [
    (-30, 14, 2200, 1.6),
    (-12, 18, 3000, 2.2),
    (-4, 11, 1500, 0.9),
    (5, 16, 2600, 1.4),
    (14, 22, 3300, 2.5),
    (27, 12, 1800, 1.1),
    (40, 19, 2500, 2.0),
    (60, 15, 2000, 1.5),
    (85, 20, 2800, 2.0),
]
KM_PER_DEG_LAT = 111.195
R_EFFECTIVE_M = 6371008.8 / (1 - 0.13)


def _offset_km(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East and north km from the camera (local flat approximation; the mountains are within 25 km)."""
    north = (lat - CAMERA.lat) * KM_PER_DEG_LAT
    east = (lon - CAMERA.lon) * KM_PER_DEG_LAT * math.cos(math.radians(CAMERA.lat))
    return east, north


def _terrain_m(lat: np.ndarray, lon: np.ndarray, mountains: Sequence[Mountain]) -> np.ndarray:
    east, north = _offset_km(lat, lon)
    height = np.full(np.shape(lat), PLATEAU_M)
    for bearing, distance, rise, width in mountains:
        cx, cy = distance * math.sin(math.radians(bearing)), distance * math.cos(math.radians(bearing))
        height = height + rise * np.exp(-((east - cx) ** 2 + (north - cy) ** 2) / (2 * width**2))
    return height


def _dem(mountains: Sequence[Mountain]) -> Dem:
    """A 0.8° × 0.8° tile at 3″ around the camera holding the analytic terrain."""
    step = 1 / 1200
    north, west = CAMERA.lat + 0.4, CAMERA.lon - 0.4
    lats = north - np.arange(961) * step
    lons = west + np.arange(961) * step
    grid = _terrain_m(lats[:, None], lons[None, :], mountains).astype(np.float32)
    bounds = (float(lats[-1]), west, north, float(lons[-1]))
    return Dem([Tile("synthetic", grid, north, west, step, step, None, bounds)])


def _skyline_deg(azimuths: np.ndarray, mountains: Sequence[Mountain], camera_m: float) -> np.ndarray:
    """The highest apparent elevation along each azimuth: a straight march every 25 m to 35 km, the drop
    d²/(2·R_eff) for curvature with refraction."""
    d_km = np.arange(0.1, 35.0, 0.025)
    az = np.radians(azimuths)[:, None]
    north = d_km[None, :] * np.cos(az)
    east = d_km[None, :] * np.sin(az)
    lat = CAMERA.lat + north / KM_PER_DEG_LAT
    lon = CAMERA.lon + east / (KM_PER_DEG_LAT * math.cos(math.radians(CAMERA.lat)))
    d_m = d_km * 1000.0
    rise = _terrain_m(lat, lon, mountains) - camera_m - d_m**2 / (2 * R_EFFECTIVE_M)
    return np.degrees(np.arctan2(rise, d_m)).max(axis=1)


def _photo(
    heading: float,
    pitch: float,
    hfov: float,
    mountains: Sequence[Mountain],
    size: tuple[int, int] = (480, 360),
) -> Image.Image:
    """A photo of the synthetic terrain from a camera of that true heading and pitch (no roll)."""
    width, height = size
    focal = width / (2 * math.tan(math.radians(hfov / 2)))
    camera_m = PLATEAU_M + EYE_M
    alphas = np.linspace(-hfov / 2 - 3, hfov / 2 + 3, 4 * width)
    elevations = np.radians(_skyline_deg(heading + alphas, mountains, camera_m))
    a, p = np.radians(alphas), math.radians(pitch)
    x = np.cos(elevations) * np.sin(a)
    y = np.sin(elevations) * math.cos(p) - np.cos(elevations) * np.cos(a) * math.sin(p)
    z = np.sin(elevations) * math.sin(p) + np.cos(elevations) * np.cos(a) * math.cos(p)
    u = width / 2 + focal * x / z
    v = height / 2 - focal * y / z
    columns = np.arange(width) + 0.5
    skyline_row = np.interp(columns, u, v)
    rows = np.arange(height)[:, None] + 0.5
    rng = np.random.default_rng(7)
    sky = np.array([120.0, 170.0, 235.0]) + 30 * (rows / height)[..., None]
    rock = np.array([95.0, 85.0, 80.0]) + rng.normal(0, 12, (height, width, 1))
    image = np.where((rows < skyline_row[None, :])[..., None], sky, rock)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def mountains_dem() -> Dem:
    return _dem(MOUNTAINS)


def _camera(compass: float, hfov: float, aspect: float = 0.75, position: GeoPoint = CAMERA) -> Camera:
    return Camera(position, PLATEAU_M + EYE_M, compass, hfov, aspect=aspect)


@pytest.mark.parametrize(
    ("heading", "pitch", "hfov", "compass_error"), [(0.0, 4.0, 40.0, 5.0), (-20.0, 2.0, 50.0, -7.0)]
)
def test_a_wrong_compass_is_corrected_and_the_pitch_found(
    mountains_dem: Dem, heading: float, pitch: float, hfov: float, compass_error: float
) -> None:
    image = _photo(heading, pitch, hfov, MOUNTAINS)
    fit = Registrar(mountains_dem).register(image, _camera(heading + compass_error, hfov))
    assert fit is not None and fit.ok, fit
    assert fit.heading_offset_deg == pytest.approx(-compass_error, abs=0.25)
    # the sky term (photo edges where the terrain says sky cost) pulls the pitch down by up to about a fine
    # cell (0.4-0.6° at 40-50°); docs/GEO.md "Registration"
    assert fit.pitch_deg == pytest.approx(pitch, abs=0.6)
    assert fit.confidence >= MIN_CONFIDENCE


@pytest.mark.parametrize(
    ("heading", "pitch", "hfov", "compass_error"),
    [(20, -2, 35, -6), (20, -2, 25, -8), (10, 3, 30, 6), (40, 1, 60, 4), (20, -2, 45, -6), (-35, 0, 20, 9)],
)
def test_a_fit_is_right_or_gives_up_never_wrong(
    mountains_dem: Dem, heading: float, pitch: float, hfov: float, compass_error: float
) -> None:
    """Smooth look-alike bumps make some views ambiguous: the registration may give up there (the compass
    stays), but a fit it accepts is the true heading."""
    image = _photo(heading, pitch, hfov, MOUNTAINS)
    fit = Registrar(mountains_dem).register(image, _camera(heading + compass_error, hfov))
    assert fit is not None
    if fit.ok:
        assert fit.heading_offset_deg == pytest.approx(-compass_error, abs=0.3)
    else:
        assert fit.reason


def test_a_field_of_view_beyond_100_degrees_is_registered(mountains_dem: Dem) -> None:
    image = _photo(30.0, 3.0, 104.0, MOUNTAINS, size=(640, 360))
    fit = Registrar(mountains_dem).register(image, _camera(36.0, 104.0, aspect=360 / 640))
    assert fit is not None and fit.ok, fit
    assert fit.heading_offset_deg == pytest.approx(-6.0, abs=0.5)


def test_a_compass_error_beyond_the_search_is_not_turned_into_a_wrong_fit(mountains_dem: Dem) -> None:
    """The true heading is 25° from the compass, outside the ±12° searched: whatever the photo matches there
    is not the terrain it shows, and a fit may not move the labels to it."""
    image = _photo(0.0, 2.0, 30.0, MOUNTAINS)
    fit = Registrar(mountains_dem).register(image, _camera(25.0, 30.0))
    assert fit is not None and not fit.ok and fit.reason


def test_flat_terrain_gives_up_with_a_reason() -> None:
    flat = _dem([])
    image = _photo(0.0, 0.0, 40.0, [])
    fit = Registrar(flat).register(image, _camera(3.0, 40.0))
    assert fit is not None and not fit.ok
    assert fit.reason is not None and "too flat" in fit.reason


def test_terrain_rising_right_in_front_of_the_camera_gives_up() -> None:
    """A hill 500 m away hides every mountain: a 90 m DEM and a GPS fix cannot place so near a ridge."""
    hill = [(0.0, 0.5, 220.0, 0.35), *MOUNTAINS]
    dem = _dem(hill)
    image = _photo(0.0, 3.0, 40.0, hill)
    fit = Registrar(dem).register(image, _camera(4.0, 40.0))
    assert fit is not None and not fit.ok
    assert fit.reason is not None and ("nearer than" in fit.reason or "silhouette" in fit.reason)


def test_photos_taken_within_50_m_share_one_panorama(mountains_dem: Dem) -> None:
    registrar = Registrar(mountains_dem)
    image = _photo(0.0, 2.0, 40.0, MOUNTAINS)
    registrar.register(image, _camera(2.0, 40.0))
    near = GeoPoint(CAMERA.lat + 30 / 111195, CAMERA.lon)  # 30 m north
    registrar.register(image, _camera(2.0, 40.0, position=near))
    assert registrar.rendered == 1
    far = GeoPoint(CAMERA.lat + 200 / 111195, CAMERA.lon)  # 200 m north
    registrar.register(image, _camera(2.0, 40.0, position=far))
    assert registrar.rendered == 2


def test_a_registered_photo_puts_the_summit_label_on_the_summit(mountains_dem: Dem) -> None:
    """place_photo: the label of the highest mountain in view lands where the drawn photo has its summit."""
    heading, pitch, hfov = 0.0, 4.0, 40.0
    image = _photo(heading, pitch, hfov, MOUNTAINS)
    bearing, distance, _, _ = MOUNTAINS[3]  # 5° right, 16 km, the summit of its own bump
    lat = CAMERA.lat + distance * math.cos(math.radians(bearing)) / KM_PER_DEG_LAT
    lon = CAMERA.lon + distance * math.sin(math.radians(bearing)) / (
        KM_PER_DEG_LAT * math.cos(math.radians(CAMERA.lat))
    )

    elev_m = round(float(_terrain_m(np.array(lat), np.array(lon), MOUNTAINS)))
    peak = PeakDoc("bump", ["Bump"], np.zeros(2), GeoPoint(lat, lon), elev_m)

    view, fit = place_photo(image, _camera(heading + 5.0, hfov), [peak], mountains_dem)
    assert fit is not None and fit.ok and view.heading_source == "registered"
    placed = view.by_id("bump")
    assert placed is not None and placed.x is not None and placed.y is not None
    focal = 480 / (2 * math.tan(math.radians(hfov / 2)))
    drop = (distance * 1000) ** 2 / (2 * R_EFFECTIVE_M)
    elevation = math.atan2(elev_m - PLATEAU_M - EYE_M - drop, distance * 1000)
    a, p = math.radians(bearing), math.radians(pitch)
    y3 = math.sin(elevation) * math.cos(p) - math.cos(elevation) * math.cos(a) * math.sin(p)
    z3 = math.sin(elevation) * math.sin(p) + math.cos(elevation) * math.cos(a) * math.cos(p)
    x3 = math.cos(elevation) * math.sin(a)
    assert placed.x == pytest.approx(0.5 + focal * x3 / z3 / 480, abs=0.01)
    assert placed.y == pytest.approx(0.5 - focal * y3 / z3 / 360, abs=0.02)


# --- real trek photos against the hand marks -------------------------------------------------------------------
needs_real = pytest.mark.skipif(
    not SHARED_DEM.is_dir() or not (REPO.parent / "shared" / "trek" / "jpeg").is_dir(),
    reason="needs ../shared/dem and ../shared/trek",
)


@pytest.fixture(scope="module")
def real_dem() -> Dem:
    return Dem([read_hgt(p.name, p.read_bytes()) for p in sorted(SHARED_DEM.glob("*.hgt"))])


def _bearing_deg(a: GeoPoint, b: GeoPoint) -> float:
    lat1, lat2, dlon = math.radians(a.lat), math.radians(b.lat), math.radians(b.lon - a.lon)
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(x, y)) % 360


@needs_real
@pytest.mark.parametrize(
    "photo",
    # IMG_2197 and IMG_2200 (120 mm on the Everest-Lhotse wall) gave up before the search kept to placements
    # with the skyline in the picture: another heading scored almost as well with the skyline out of it;
    # IMG_2288 (Ama Dablam behind a pine) and IMG_2609 (before a near ridge) before the photo's edges counted
    # blueness as well as brightness (snow against a pale sky)
    [
        "IMG_2195.jpg",
        "IMG_2114.jpg",
        "IMG_2844.jpg",
        "IMG_2197.jpg",
        "IMG_2200.jpg",
        "IMG_2288.jpg",
        "IMG_2609.jpg",
        # IMG_2532 (Lhotse above Dingboche, 58 mm) and IMG_1920 (Everest above the forest at Namche) before
        # the coarse grid's best headings were scored again at full resolution
        "IMG_2532.jpg",
        "IMG_1920.jpg",
    ],
)
def test_real_trek_photos_are_registered_to_their_hand_marks(real_dem: Dem, photo: str) -> None:
    """The heading registration finds agrees with the one the photo's most confident hand mark implies: the
    catalog bearing of the marked peak less its angle off axis at the marked x."""
    entry = next(e for e in yaml.safe_load(TREK_LABELS.read_text())["photos"] if e["photo"].endswith(photo))
    mark = next(m for m in entry["peaks"] if m["confidence"] == "high")
    catalog = {name: p for p in load_catalog()[0] for name in p.names}
    peak = catalog[mark["peak"]]
    loaded = open_photo((TREK_LABELS.parent / entry["photo"]).resolve())
    camera = camera_of(loaded.meta, loaded.width, loaded.height)
    assert camera is not None and camera.heading_deg is not None and camera.hfov_deg is not None
    assert peak.latlon is not None
    off_axis = math.degrees(math.atan((mark["x"] - 0.5) * 2 * math.tan(math.radians(camera.hfov_deg / 2))))
    wanted = (_bearing_deg(camera.position, peak.latlon) - off_axis - camera.heading_deg + 180) % 360 - 180
    fit = Registrar(real_dem).register(loaded.image, camera)
    assert fit is not None and fit.ok, fit
    assert fit.heading_offset_deg == pytest.approx(wanted, abs=max(0.6, 0.02 * camera.hfov_deg))


@needs_real
@pytest.mark.parametrize(
    "photo",
    [
        "IMG_2742.jpg",  # a telephoto of one face
        "IMG_2656.jpg",  # 16 mm: clouds taken for the skyline at a pitch of -23° instead of -4°
        "IMG_2906.jpg",  # 163 mm: a lenticular cloud's edge against blue sky taken for the skyline, 12° off
    ],
)
def test_real_photos_without_a_usable_ridge_keep_their_compass(real_dem: Dem, photo: str) -> None:
    """Photos whose strongest edges are not the terrain's: no fit (the compass stays), and a reason."""
    loaded = open_photo(REPO.parent / "shared" / "trek" / "jpeg" / photo)
    camera = camera_of(loaded.meta, loaded.width, loaded.height)
    assert camera is not None
    fit = Registrar(real_dem).register(loaded.image, camera)
    assert fit is not None and not fit.ok and fit.reason
