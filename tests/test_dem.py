"""Terrain occlusion over synthetic DEM tiles written as real SRTM .hgt files and GeoTIFFs."""

from __future__ import annotations

import gzip
import http.server
import math
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile

from peaklens.dem import Dem, Tile, add_tiles, fetch_tiles, load_dem
from peaklens.errors import BadInput
from peaklens.frame import frame_view
from peaklens.geo import EARTH_RADIUS_KM, PRIOR_FLOOR, REFRACTION_K, Camera
from peaklens.records import BBox, GeoPoint, PeakDoc

VOID = -32768


def _grid(south: int, west: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Latitude per row (north first) and longitude per column of an SRTM tile."""
    return np.linspace(south + 1, south, side), np.linspace(west, west + 1, side)


def _write_hgt(folder: Path, name: str, heights: np.ndarray) -> Path:
    path = folder / f"{name}.hgt"
    path.write_bytes(heights.astype(">i2").tobytes())
    return path


def _terrain(
    south: int, west: int, side: int, base: int, ridges: list[tuple[float, float, float, float]]
) -> np.ndarray:
    """Flat ground at ``base`` with ridges (lat, lon_from, lon_to, height) 0.01° wide, running east-west."""
    lats, lons = _grid(south, west, side)
    heights = np.full((side, side), base, dtype=np.int32)
    for lat, lon_from, lon_to, height in ridges:
        rows = np.abs(lats - lat) < 0.005
        cols = (lons >= lon_from) & (lons <= lon_to)
        heights[np.ix_(rows, cols)] = height
    return heights


def _peak(lat: float, lon: float, elev: int) -> PeakDoc:
    return PeakDoc("target", ["Target"], np.zeros(2, dtype=np.float32), GeoPoint(lat, lon), elev)


def _occluded(data_dir: Path, camera: GeoPoint, alt: float | None, peak: PeakDoc) -> bool | None:
    dem = load_dem(data_dir)
    assert dem is not None
    return frame_view(Camera(camera, alt, heading_deg=0.0, hfov_deg=60.0), [peak], dem).peaks[0].occluded


CAMERA = GeoPoint(27.1, 86.5)
TARGET = _peak(27.3, 86.5, 5000)  # 22 km due north, 2000 m above the camera


@pytest.fixture
def ridge_dir(tmp_path: Path) -> Path:
    """One 3″ tile: ground at 2900 m, a 4500 m ridge halfway (27.2° N) between camera and target."""
    hgt = _write_hgt(tmp_path, "N27E086", _terrain(27, 86, 1201, 2900, [(27.2, 86.4, 86.6, 4500)]))
    data_dir = tmp_path / "data"
    assert add_tiles(data_dir, [hgt]) == ["N27E086"]
    return data_dir


def test_a_ridge_between_camera_and_peak_hides_it(ridge_dir: Path) -> None:
    # the sight line crosses the ridge at ~3000 + 2000/2 = 4000 m, 500 m below its crest
    dem = load_dem(ridge_dir)
    assert dem is not None
    view = frame_view(Camera(CAMERA, 3000.0, heading_deg=0.0, hfov_deg=60.0), [TARGET], dem)
    (peak,) = view.peaks
    assert peak.occluded is True and not peak.in_frame and peak.prior == PRIOR_FLOOR
    assert peak.x == pytest.approx(0.5)  # it would be dead centre
    assert view.terrain_checked


def test_the_same_peak_is_visible_from_a_camera_raised_above_the_ridge(ridge_dir: Path) -> None:
    # from 4400 m the line crosses the ridge at ~(4400 + 5000)/2 = 4700 m
    assert _occluded(ridge_dir, CAMERA, 4400.0, TARGET) is False
    beside = _peak(27.3, 86.9, 5000)  # the line crosses 27.2° N at 86.7° E, past the ridge end (86.6° E)
    assert _occluded(ridge_dir, CAMERA, 3000.0, beside) is False


def test_without_gps_altitude_the_camera_stands_on_the_dem(ridge_dir: Path) -> None:
    dem = load_dem(ridge_dir)
    assert dem is not None
    view = frame_view(Camera(CAMERA, None, heading_deg=0.0, hfov_deg=60.0), [TARGET], dem)
    assert view.altitude_source == "dem" and view.altitude_m == pytest.approx(2901.7)
    assert view.peaks[0].occluded is True


def test_earth_curvature_with_refraction_lifts_the_middle_of_a_long_line(tmp_path: Path) -> None:
    # camera and summit both at 3000 m, 40 km apart; the straight line sags below 3000 m by R'(1 - cos(θ/2))
    radius = EARTH_RADIUS_KM * 1000 / (1 - REFRACTION_K)
    half_km = 0.18 * math.pi / 180 * EARTH_RADIUS_KM  # 20.0 km
    sag = radius * (1 - math.cos(half_km * 1000 / radius))
    assert sag == pytest.approx(27.3, abs=0.2)
    # ridges 27 m and 17 m above the sagging line: the first blocks, the second is within the 20 m margin
    for ridge, hidden in ((3000, True), (2990, False)):
        folder = tmp_path / str(ridge)
        folder.mkdir()
        hgt = _write_hgt(folder, "N27E086", _terrain(27, 86, 1201, 2000, [(27.28, 86.0, 87.0, ridge)]))
        add_tiles(folder / "data", [hgt])
        assert _occluded(folder / "data", GeoPoint(27.1, 86.5), 3000.0, _peak(27.46, 86.5, 3000)) is hidden


def test_voids_neither_block_nor_count_as_deep_holes(tmp_path: Path) -> None:
    heights = _terrain(27, 86, 1201, 2900, [(27.2, 86.4, 86.6, VOID)])  # the ridge band is void
    lats, _ = _grid(27, 86, 1201)
    heights[np.abs(lats - 27.1) < 0.002, :] = VOID  # and so is the camera's own spot
    add_tiles(tmp_path / "data", [_write_hgt(tmp_path, "N27E086", heights)])
    dem = load_dem(tmp_path / "data")
    assert dem is not None
    assert _occluded(tmp_path / "data", CAMERA, 3000.0, TARGET) is False
    assert dem.ground_m(27.1, 86.5) is None  # void: no ground
    # beside a void the height is the valid neighbours', not pulled towards -32768
    edge = dem.ground_m(27.2 + 0.005 + 0.5 / 1200, 86.5)
    assert edge == pytest.approx(2900)
    no_altitude = frame_view(Camera(CAMERA, None, heading_deg=0.0, hfov_deg=60.0), [TARGET], dem)
    assert no_altitude.altitude_m is None and no_altitude.peaks[0].occluded is None


def test_a_line_of_sight_across_a_tile_seam(tmp_path: Path) -> None:
    # camera in N27E086, summit and a blocking ridge in N27E087
    west = _write_hgt(tmp_path, "N27E086", _terrain(27, 86, 1201, 2900, []))
    east_ridge = _write_hgt(tmp_path, "N27E087", _terrain(27, 87, 1201, 2900, [(27.5, 87.0, 87.4, 4800)]))
    add_tiles(tmp_path / "data", [west, east_ridge])
    camera, summit = GeoPoint(27.5, 86.8), _peak(27.5, 87.2, 5000)  # due east-ish, 40 km, across 87° E
    assert _occluded(tmp_path / "data", camera, 3000.0, summit) is True
    flat_dir = tmp_path / "flat"
    flat_dir.mkdir()
    east_flat = _write_hgt(flat_dir, "N27E087", _terrain(27, 87, 1201, 2900, []))
    add_tiles(tmp_path / "data", [east_flat])  # same name: replaces the ridged tile
    assert _occluded(tmp_path / "data", camera, 3000.0, summit) is False
    dem = load_dem(tmp_path / "data")
    assert dem is not None and dem.ground_m(27.5, 87.0) == pytest.approx(2900)


def test_a_camera_outside_coverage_leaves_terrain_not_checked(ridge_dir: Path) -> None:
    dem = load_dem(ridge_dir)
    assert dem is not None
    outside = frame_view(Camera(GeoPoint(26.9, 86.5), 3000.0, heading_deg=0.0, hfov_deg=60.0), [TARGET], dem)
    assert not outside.terrain_checked and outside.to_json()["terrain"] == "not checked"
    assert outside.peaks[0].occluded is None and outside.peaks[0].in_frame
    assert outside.altitude_source == "gps"
    leaving = _peak(28.2, 86.5, 8000)  # inside coverage camera, but the line leaves the tile
    assert _occluded(ridge_dir, GeoPoint(27.9, 86.5), 3000.0, leaving) is None


def test_compressed_tiles_as_distributed_are_read(tmp_path: Path) -> None:
    heights = _terrain(27, 86, 1201, 4321, []).astype(">i2").tobytes()
    gz = tmp_path / "N27E086.hgt.gz"
    gz.write_bytes(gzip.compress(heights))
    zipped = tmp_path / "N28E086.SRTMGL3.hgt.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("N28E086.hgt", heights)
    assert add_tiles(tmp_path / "data", [gz, zipped]) == ["N27E086", "N28E086"]
    dem = load_dem(tmp_path / "data")
    assert dem is not None and dem.ground_m(27.5, 86.5) == dem.ground_m(28.5, 86.5) == pytest.approx(4321)


def test_one_arc_second_tiles_are_read_at_their_own_spacing(tmp_path: Path) -> None:
    lats, _ = _grid(27, 86, 3601)
    heights = (1000 + np.round((28 - lats) * 3600))[:, None] + np.zeros((1, 3601), dtype=np.int32)
    add_tiles(tmp_path / "data", [_write_hgt(tmp_path, "N27E086", heights)])
    dem = load_dem(tmp_path / "data")
    assert dem is not None
    assert dem.ground_m(27.5, 86.3) == pytest.approx(1000 + 1800)  # row 1800 of 3600
    assert dem.ground_m(27.5 - 0.5 / 3600, 86.3) == pytest.approx(2800.5)  # halfway to the next row
    assert dem.cell_m() == pytest.approx(30.9, abs=0.1)


# --- GeoTIFF ----------------------------------------------------------------------------------------------
def _write_geotiff(
    path: Path, heights: np.ndarray, west: float, north: float, step: float, *, projected: bool = False
) -> Path:
    """A pixel-is-area GeoTIFF in WGS 84 lat/lon, tags written by hand (GeoTIFF 1.0 spec)."""
    model_type = 1 if projected else 2  # 1 = projected, 2 = geographic
    geokeys = (1, 1, 0, 3, 1024, 0, 1, model_type, 1025, 0, 1, 1, 2048, 0, 1, 4326)
    tifffile.imwrite(
        path,
        heights,
        extratags=[
            (33550, "d", 3, (step, step, 0.0), True),
            (33922, "d", 6, (0.0, 0.0, 0.0, west, north, 0.0), True),
            (34735, "H", len(geokeys), geokeys, True),
            (42113, "s", 0, f"{VOID}", True),
        ],
    )
    return path


def test_a_geotiff_tile_hides_the_peak_like_the_hgt(tmp_path: Path) -> None:
    side = 1200  # pixel-is-area: 1200 pixels of 3″ cover exactly one degree
    centres = 28 - (np.arange(side) + 0.5) / side
    heights = np.full((side, side), 2900, dtype=np.int16)
    heights[np.abs(centres - 27.2) < 0.005, :] = 4500
    heights[:5, :5] = VOID
    tif = _write_geotiff(tmp_path / "khumbu.tif", heights, 86.0, 28.0, 1 / side)
    assert add_tiles(tmp_path / "data", [tif]) == ["khumbu"]
    dem = load_dem(tmp_path / "data")
    assert dem is not None
    assert dem.covers(27.0, 86.0) and dem.covers(28.0, 87.0) and not dem.covers(28.01, 86.5)
    assert dem.ground_m(27.5, 86.5) == pytest.approx(2900)
    assert dem.ground_m(27.2, 86.5) == pytest.approx(4500)
    assert dem.ground_m(27.999, 86.001) is None  # the void corner
    assert _occluded(tmp_path / "data", CAMERA, 3000.0, TARGET) is True
    assert _occluded(tmp_path / "data", CAMERA, 4400.0, TARGET) is False


def test_bad_tiles_are_refused_with_one_line(tmp_path: Path) -> None:
    short = tmp_path / "N27E086.hgt"
    short.write_bytes(b"\0" * 1000)
    nameless = _write_hgt(tmp_path, "khumbu", np.zeros((1201, 1201)))
    projected = _write_geotiff(
        tmp_path / "utm.tif", np.zeros((10, 10), np.int16), 400000, 3100000, 30, projected=True
    )
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((10, 10), np.int16))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for path, message in [
        (short, "not an SRTM tile"),
        (nameless, "does not say where it is"),
        (projected, "projected"),
        (plain, "without GeoTIFF georeferencing"),
        (text, "not a DEM tile"),
        (tmp_path / "missing.hgt", "No such DEM file"),
    ]:
        with pytest.raises(BadInput, match=message) as info:
            add_tiles(tmp_path / "data", [path])
        assert "\n" not in str(info.value)
    assert load_dem(tmp_path / "data") is None  # nothing was registered


# --- fetching ---------------------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fetch_offline_fails_with_one_clear_line(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_closed_port()}/skadi"
    with pytest.raises(BadInput, match=r"Cannot download DEM tiles from 127\.0\.0\.1.*offline") as info:
        fetch_tiles(tmp_path, BBox(top=27.9, left=86.6, bottom=27.7, right=86.9), base_url=base, timeout_s=2)
    assert "\n" not in str(info.value)


@pytest.fixture
def tile_server(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A local HTTP server laid out like the skadi bucket, holding N27/N27E086.hgt.gz only."""
    root = tmp_path / "www"
    (root / "skadi" / "N27").mkdir(parents=True)
    payload = gzip.compress(_terrain(27, 86, 1201, 3333, []).astype(">i2").tobytes())
    (root / "skadi" / "N27" / "N27E086.hgt.gz").write_bytes(payload)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield lambda: f"http://127.0.0.1:{server.server_address[1]}/skadi"
    server.shutdown()
    thread.join()


def test_fetch_downloads_the_tiles_of_the_bounding_box_and_skips_missing_ones(
    tmp_path: Path, tile_server: Callable[[], str]
) -> None:
    data_dir = tmp_path / "data"
    bbox = BBox(top=27.9, left=86.6, bottom=27.7, right=87.1)  # N27E086 and N27E087 (absent: sea)
    assert fetch_tiles(data_dir, bbox, base_url=tile_server()) == ["N27E086"]
    dem = load_dem(data_dir)
    assert dem is not None and dem.ground_m(27.8, 86.7) == pytest.approx(3333)
    assert fetch_tiles(data_dir, bbox, base_url=tile_server()) == []  # already registered


def test_a_summit_height_is_the_highest_terrain_sample_within_two_cells() -> None:
    """Catalog positions sit within ~150 m of the SRTM summit: the terrain's own summit is the highest sample
    within two cells of it, NaN outside the tiles."""
    heights = np.full((21, 21), 4000, dtype=np.int16)
    heights[10, 10] = 6000  # the summit, at (27.5 - 10/1200, 86.5 + 10/1200)
    heights[10, 14] = 7000  # a higher one four cells east: not this summit's
    tile = Tile(
        "T", heights, 27.5, 86.5, 1 / 1200, 1 / 1200, None, (27.5 - 20 / 1200, 86.5, 27.5, 86.5 + 20 / 1200)
    )
    dem = Dem([tile])
    lat, lon = 27.5 - 10 / 1200, 86.5 + 10 / 1200
    tops = dem.summits_m(
        np.array([lat, lat + 2 / 1200, lat, 10.0]), np.array([lon, lon, lon - 2 / 1200, 10.0])
    )
    assert tops[:3] == pytest.approx([6000, 6000, 6000], abs=1e-3)
    assert np.isnan(tops[3])
    # two cells away from the higher one, on the far side: it counts
    assert dem.summits_m(np.array([lat]), np.array([lon + 2 / 1200]))[0] == pytest.approx(7000, abs=1e-3)
