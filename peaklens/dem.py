"""Terrain elevation tiles (DEM) and the line of sight from a camera to each summit over them.

A nearer ridge hiding a peak is the commonest false "in view" on the trek photos; a digital elevation model
settles it. Tiles are registered once (``add_tiles``: SRTM ``.hgt``/``.hgt.gz``/``.hgt.zip`` 1″ and 3″, or a GeoTIFF in
geographic lat/lon) into ``<data_dir>/dem/`` as ``.npy`` arrays plus ``tiles.json``; ``load_dem`` memory-maps
them, so a photo touches only the pages its sight lines cross.

GeoTIFFs are read with ``tifffile`` (pure numpy, maintained, no GDAL/PROJ system libraries to install); the
georeferencing comes from the standard GeoTIFF tags (ModelPixelScale, ModelTiepoint, GeoKeyDirectory) and
GDAL's NoData tag. Projected GeoTIFFs are refused: reprojecting needs PROJ, and the public SRTM/Copernicus
tiles are all plain lat/lon.

The sight line uses the prior's model (``peaklens.geo``): straight on a sphere of the effective radius
R / (1 - REFRACTION_K), i.e. earth curvature with standard refraction.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np

from peaklens import geo
from peaklens.errors import BadInput
from peaklens.records import BBox, GeoPoint

#: the value SRTM writes where the radar saw nothing (shadow, water)
SRTM_VOID = -32768
#: public, no-login SRTM tiles (Mapzen/AWS "Terrain Tiles", 1″ where available), N27/N27E086.hgt.gz
SKADI_URL = "https://s3.amazonaws.com/elevation-tiles-prod/skadi"
#: connect/read timeout of one tile download: an offline machine fails fast, a slow link still gets through
FETCH_TIMEOUT_S = 10.0
#: a bounding box needing more tiles than this is refused (each tile is ~25 MB)
MAX_FETCH_TILES = 36
#: the first metres of the sight line are skipped: GPS altitude is ±10–20 m, the ground under the camera
#: would otherwise hide everything when the photographer stands on a slope
CAMERA_CLEARANCE_M = 150.0
#: the last kilometres before the summit are skipped: catalog coordinates are ±0.02° (about 2 km), so the
#: line to the catalog point may cut the peak's own flank
TARGET_CLEARANCE_KM = 2.0
#: terrain must rise this far above the sight line to block it (DEM noise, trees, snow)
BLOCK_MARGIN_M = 20.0
#: a catalog summit's terrain height is the highest sample within this many cells of its position (catalog
#: positions sit within ~150 m of the SRTM summit, docs/CATALOG.md)
SUMMIT_CELLS = 2
#: most samples along one sight line: a 25 km line is sampled every 1″ cell (31 m), a longer one more sparsely
#: (a ridge that hides a summit is hundreds of metres wide); keeps a photo's whole catalog within ~5 ms
MAX_SAMPLES = 800

_HGT_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})$", re.IGNORECASE)
_HGT_SIDES = {1201 * 1201 * 2: 1201, 3601 * 3601 * 2: 3601}
_INDEX = "tiles.json"


@dataclass(frozen=True)
class Tile:
    """A grid of heights; row 0 is the northern edge, samples at (north - r·dlat, west + c·dlon)."""

    name: str
    heights: np.ndarray
    north: float
    west: float
    dlat: float
    dlon: float
    void: float | None
    #: the area answered: south, west, north, east (half a pixel beyond the samples for area-registered tiles)
    bounds: tuple[float, float, float, float]

    @cached_property
    def gapless(self) -> bool:
        """No void and no NaN anywhere in the tile (looked at once: a terrain panorama samples it 100k times)."""
        heights = np.asarray(self.heights)
        if heights.dtype.kind == "f" and not np.isfinite(heights).all():
            return False
        return self.void is None or not bool((heights == self.void).any())

    def contains(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        south, west, north, east = self.bounds
        return (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)

    def sample(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Bilinear heights; a void corner is left out (its weight goes to the others), NaN when all are void."""
        rows, cols = self.heights.shape
        # in place where a temporary is not needed again (a terrain panorama samples 20k points a call)
        r = self.north - lat
        r /= self.dlat
        np.clip(r, 0, rows - 1, out=r)
        c = lon - self.west
        c /= self.dlon
        np.clip(c, 0, cols - 1, out=c)
        # r and c are >= 0 here: truncation is the floor
        r0 = r.astype(np.intp)
        np.minimum(r0, max(rows - 2, 0), out=r0)
        c0 = c.astype(np.intp)
        np.minimum(c0, max(cols - 2, 0), out=c0)
        r -= r0
        c -= c0
        fr, fc = r, c
        flat = self.heights.reshape(-1)
        top_left = r0
        top_left *= cols
        top_left += c0
        bottom_left = top_left + (cols if rows > 1 else 0)
        right = 1 if cols > 1 else 0
        values = [
            flat.take(index).astype(np.float64)
            for index in (top_left, top_left + right, bottom_left, bottom_left + right)
        ]
        if self.gapless:  # the common case (void-filled SRTM): no corner to leave out
            v00, v01, v10, v11 = values
            # in place (a terrain panorama samples 20k points a call): top, bottom, then between them
            v01 -= v00
            v01 *= fc
            v00 += v01
            v11 -= v10
            v11 *= fc
            v10 += v11
            v10 -= v00
            v10 *= fr
            v00 += v10
            return v00
        weights = [(1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc]
        goods = [np.isfinite(v) if self.void is None else np.isfinite(v) & (v != self.void) for v in values]
        if all(g.all() for g in goods):  # no void around any sample
            return sum((v * w for v, w in zip(values, weights, strict=True)), np.zeros(lat.shape))
        total = np.zeros(lat.shape)
        weight = np.zeros(lat.shape)
        for value, good, w in zip(values, goods, weights, strict=True):
            total += np.where(good, value, 0.0) * w
            weight += np.where(good, w, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(weight > 1e-9, total / weight, np.nan)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "north": self.north,
            "west": self.west,
            "dlat": self.dlat,
            "dlon": self.dlon,
            "void": self.void,
            "bounds": list(self.bounds),
        }


class Sight(NamedTuple):
    """Per target: ``blocked`` by terrain, and whether the whole line lay inside the DEM (``checked``)."""

    blocked: np.ndarray
    checked: np.ndarray


class Dem:
    """A set of tiles answering heights anywhere they cover; the first registered tile wins on overlaps."""

    def __init__(self, tiles: Iterable[Tile]) -> None:
        self.tiles = list(tiles)

    def heights(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(heights, covered) for arrays of points: NaN height where not covered or void."""
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        out = np.full(lat.shape, np.nan)
        covered = np.zeros(lat.shape, dtype=bool)
        if lat.size == 0:
            return out, covered
        lo_lat, hi_lat, lo_lon, hi_lon = lat.min(), lat.max(), lon.min(), lon.max()
        # the points no tile has answered yet (flat indices; None: all of them): each tile looks only at those
        # (a panorama's rays cross tile edges, and the first tile answers most of their samples)
        todo: np.ndarray | None = None
        flat_lat, flat_lon = lat.reshape(-1), lon.reshape(-1)
        flat_out, flat_covered = out.reshape(-1), covered.reshape(-1)
        for tile in self.tiles:
            south, west, north, east = tile.bounds
            if south > hi_lat or north < lo_lat or west > hi_lon or east < lo_lon:
                continue
            lat_left = flat_lat if todo is None else flat_lat[todo]
            lon_left = flat_lon if todo is None else flat_lon[todo]
            inside = tile.contains(lat_left, lon_left)
            answered = np.count_nonzero(inside)
            if answered == lat_left.size:  # the tile answers every point left
                where = slice(None) if todo is None else todo
                flat_out[where] = tile.sample(lat_left, lon_left)
                flat_covered[where] = True
                break
            if answered:
                hit, rest = np.flatnonzero(inside), np.flatnonzero(~inside)
                if todo is not None:
                    hit, rest = todo[hit], todo[rest]
                flat_out[hit] = tile.sample(flat_lat[hit], flat_lon[hit])
                flat_covered[hit] = True
                todo = rest
        return out, covered

    def covers(self, lat: float, lon: float) -> bool:
        return bool(self.heights(np.array([lat]), np.array([lon]))[1][0])

    def ground_m(self, lat: float, lon: float) -> float | None:
        """Terrain height at a point; None outside the tiles or in a void."""
        value = float(self.heights(np.array([lat]), np.array([lon]))[0][0])
        return value if math.isfinite(value) else None

    def summits_m(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """The terrain's own summit height near each point: the highest sample within SUMMIT_CELLS cells
        (NaN outside the tiles). 3″ cells round sharp summits down by 30-120 m, and a camera registered
        against this terrain sees its summits there, so labels placed at these heights land on the photo's."""
        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        if lats.size == 0 or not self.tiles:
            return np.full(lats.shape, np.nan)
        cells = np.arange(-SUMMIT_CELLS, SUMMIT_CELLS + 1)
        d_lat, d_lon = np.meshgrid(
            cells * min(t.dlat for t in self.tiles), cells * min(t.dlon for t in self.tiles), indexing="ij"
        )
        grid_lat = lats[:, None] + d_lat.ravel()[None, :]
        grid_lon = lons[:, None] + d_lon.ravel()[None, :]
        heights, _ = self.heights(grid_lat.ravel(), grid_lon.ravel())
        heights = heights.reshape(grid_lat.shape)
        with np.errstate(all="ignore"):
            top = np.nanmax(np.where(np.isfinite(heights), heights, -np.inf), axis=1)
        return np.where(np.isfinite(top), top, np.nan)

    def cell_m(self) -> float:
        """The finest sample spacing of the registered tiles, in metres (north-south)."""
        return min(t.dlat for t in self.tiles) * math.pi / 180 * geo.EARTH_RADIUS_KM * 1000

    def line_of_sight(
        self,
        camera: GeoPoint,
        camera_alt_m: float,
        lats: np.ndarray,
        lons: np.ndarray,
        elevs_m: np.ndarray,
    ) -> Sight:
        """Is each summit hidden by terrain? All targets at once (one flat array of samples).

        Samples every DEM cell along each great circle, between CAMERA_CLEARANCE_M from the camera and
        TARGET_CLEARANCE_KM before the summit; a sample blocks when the terrain rises BLOCK_MARGIN_M above the
        straight line on the effective-radius sphere. Voids never block. A line leaving the tiles, or a summit
        of unknown height where the DEM has none, is not checked.
        """
        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        elevs = np.asarray(elevs_m, dtype=np.float64).copy()
        count = lats.size
        if count == 0 or not self.tiles or not self.covers(camera.lat, camera.lon):
            return Sight(np.zeros(count, dtype=bool), np.zeros(count, dtype=bool))
        unknown = ~np.isfinite(elevs)
        if unknown.any():
            elevs[unknown] = self.heights(lats[unknown], lons[unknown])[0]
        radius = geo.effective_radius_m()
        a = _unit(np.radians(camera.lat), np.radians(camera.lon))
        b = _unit(np.radians(lats), np.radians(lons))
        earth_central = np.arccos(np.clip(b @ a, -1.0, 1.0))  # true-sphere angle, for interpolation
        distance_m = earth_central * geo.EARTH_RADIUS_KM * 1000
        step = max(self.cell_m(), 10.0)
        per_target = np.clip(np.ceil(distance_m / step), 2, MAX_SAMPLES).astype(np.intp)
        owner = np.repeat(np.arange(count), per_target)
        starts = np.cumsum(per_target) - per_target
        k = np.arange(owner.size) - starts[owner]
        frac = (k + 0.5) / per_target[owner]
        d = frac * distance_m[owner]
        clearance = np.minimum(TARGET_CLEARANCE_KM * 1000, 0.3 * distance_m)[owner]
        keep = (d >= CAMERA_CLEARANCE_M) & (d <= distance_m[owner] - clearance)
        owner, frac, d = owner[keep], frac[keep], d[keep]
        omega = earth_central[owner]
        with np.errstate(invalid="ignore", divide="ignore"):
            sin_omega = np.sin(omega)
            wa = np.where(sin_omega > 1e-12, np.sin((1 - frac) * omega) / sin_omega, 1 - frac)
            wb = np.where(sin_omega > 1e-12, np.sin(frac * omega) / sin_omega, frac)
        points = wa[:, None] * a[None, :] + wb[:, None] * b[owner]
        lat_s = np.degrees(np.arcsin(np.clip(points[:, 2] / np.linalg.norm(points, axis=1), -1, 1)))
        lon_s = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
        terrain, covered = self.heights(lat_s, lon_s)
        # the sight line, straight on the effective sphere: r(t) = rc·rt·sin T / (rc·sin t + rt·sin(T - t))
        r_cam = radius + camera_alt_m
        r_top = radius + elevs[owner]
        theta_t = distance_m[owner] / radius
        theta = d / radius
        line = (
            r_cam * r_top * np.sin(theta_t) / (r_cam * np.sin(theta) + r_top * np.sin(theta_t - theta))
            - radius
        )
        blocking = covered & (terrain - line > BLOCK_MARGIN_M)  # NaN (void) compares False
        blocked = np.bincount(owner, weights=blocking, minlength=count) > 0
        outside = np.bincount(owner, weights=~covered, minlength=count) > 0
        checked = ~outside & np.isfinite(elevs)
        return Sight(blocked & checked, checked)


def _unit(lat: np.ndarray | float, lon: np.ndarray | float) -> np.ndarray:
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


# --- registering tiles ------------------------------------------------------------------------------------
def dem_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "dem"


def registry_path(data_dir: Path) -> Path:
    """The file listing the registered tiles: it changes whenever terrain is added."""
    return dem_dir(data_dir) / _INDEX


def _hgt_corner(stem: str) -> tuple[int, int]:
    match = _HGT_NAME.match(stem)
    if match is None:
        raise BadInput(f"SRTM tile name {stem!r} does not say where it is (expected e.g. N27E086.hgt).")
    ns, lat, ew, lon = match.groups()
    return (int(lat) * (1 if ns.upper() == "N" else -1), int(lon) * (1 if ew.upper() == "E" else -1))


def read_hgt(name: str, data: bytes) -> Tile:
    """An SRTM tile: big-endian int16, 1201² (3″) or 3601² (1″) samples, both edges included."""
    side = _HGT_SIDES.get(len(data))
    if side is None:
        raise BadInput(
            f"{name}: {len(data)} bytes is not an SRTM tile (1201x1201 or 3601x3601 big-endian 16-bit samples)."
        )
    stem = name.split(".")[0]
    lat, lon = _hgt_corner(stem)
    heights = np.frombuffer(data, dtype=">i2").reshape(side, side).astype(np.int16)
    step = 1.0 / (side - 1)
    return Tile(
        stem.upper(),
        heights,
        lat + 1.0,
        float(lon),
        step,
        step,
        float(SRTM_VOID),
        (lat, lon, lat + 1.0, lon + 1.0),
    )


def read_geotiff(path: Path) -> Tile:
    """A GeoTIFF in geographic lat/lon (EPSG:4326-like), single band, through tifffile."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            tags = page.tags  # type: ignore[union-attr]
            scale = tags.get("ModelPixelScaleTag")
            tie = tags.get("ModelTiepointTag")
            if scale is None or tie is None:
                raise BadInput(
                    f"{path.name}: a TIFF without GeoTIFF georeferencing (pixel scale and tie point)."
                )
            keys = tif.geotiff_metadata or {}
            nodata_tag = tags.get("GDAL_NODATA")
            heights = page.asarray()  # type: ignore[union-attr]
    except BadInput:
        raise
    except Exception as exc:  # tifffile raises many kinds for a broken file
        raise BadInput(f"{path.name}: not a readable GeoTIFF ({exc})") from None
    model = keys.get("GTModelTypeGeoKey")
    if model is not None and int(model) != 2:
        raise BadInput(
            f"{path.name}: a projected GeoTIFF; register tiles in geographic lat/lon (EPSG:4326), like SRTM."
        )
    if heights.ndim == 3 and heights.shape[-1] == 1:
        heights = heights[..., 0]
    if heights.ndim != 2:
        raise BadInput(f"{path.name}: expected one band of heights, found an array of shape {heights.shape}.")
    sx, sy = float(scale.value[0]), float(scale.value[1])
    i, j, _, x, y, _ = (float(v) for v in tie.value[:6])
    if sx <= 0 or sy <= 0:
        raise BadInput(f"{path.name}: pixel scale must be positive, not {sx}, {sy}.")
    pixel_is_point = int(keys.get("GTRasterTypeGeoKey", 1)) == 2
    rows, cols = heights.shape
    west, north = x - i * sx, y + j * sy  # georeference of pixel (0, 0): its corner, or its centre if point
    if pixel_is_point:
        bounds = (north - (rows - 1) * sy, west, north, west + (cols - 1) * sx)
    else:
        bounds = (north - rows * sy, west, north, west + cols * sx)
        west, north = west + sx / 2, north - sy / 2  # sample centres
    void: float | None = None
    if nodata_tag is not None:
        try:
            void = float(str(nodata_tag.value).strip("\x00 "))
        except ValueError:
            void = None
    dtype = np.float32 if heights.dtype.kind == "f" else np.int32 if heights.dtype.itemsize > 2 else np.int16
    return Tile(
        path.name.split(".")[0], np.ascontiguousarray(heights, dtype=dtype), north, west, sy, sx, void, bounds
    )


def _read_tile(path: Path) -> Tile:
    if not path.is_file():
        raise BadInput(f"No such DEM file: {path}")
    lower = path.name.lower()
    if lower.endswith(".hgt"):
        return read_hgt(path.name, path.read_bytes())
    if lower.endswith(".hgt.gz"):
        try:
            return read_hgt(path.name, gzip.decompress(path.read_bytes()))
        except (OSError, EOFError) as exc:
            raise BadInput(f"{path.name}: not a readable gzip file ({exc})") from None
    if lower.endswith(".zip"):  # USGS/NASA distribute SRTM as N27E086.SRTMGL1.hgt.zip, one .hgt inside
        try:
            with zipfile.ZipFile(path) as archive:
                members = [n for n in archive.namelist() if n.lower().endswith(".hgt")]
                if len(members) != 1:
                    raise BadInput(f"{path.name}: expected one .hgt file inside, found {len(members)}.")
                return read_hgt(Path(members[0]).name, archive.read(members[0]))
        except zipfile.BadZipFile as exc:
            raise BadInput(f"{path.name}: not a readable zip file ({exc})") from None
    if lower.endswith((".tif", ".tiff")):
        return read_geotiff(path)
    raise BadInput(f"{path.name}: not a DEM tile (expected SRTM .hgt / .hgt.gz / .hgt.zip or GeoTIFF .tif).")


def _read_index(folder: Path) -> list[dict[str, object]]:
    index = folder / _INDEX
    if not index.is_file():
        return []
    entries = json.loads(index.read_text())
    return list(entries) if isinstance(entries, list) else []


def _register(folder: Path, tile: Tile) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{tile.name}.npy", tile.heights)
    entries = [e for e in _read_index(folder) if e.get("name") != tile.name]
    entries.append(tile.describe())
    tmp = folder / f"{_INDEX}.tmp"
    tmp.write_text(json.dumps(entries, indent=1))
    tmp.replace(folder / _INDEX)
    return tile.name


def add_tiles(data_dir: Path, paths: Iterable[Path]) -> list[str]:
    """Register DEM tiles under the data dir; a tile of the same name is replaced. All files are read first."""
    tiles = [_read_tile(Path(p)) for p in paths]
    return [_register(dem_dir(data_dir), tile) for tile in tiles]


def load_dem(data_dir: Path) -> Dem | None:
    """The registered tiles, memory-mapped; None when there are none."""
    folder = dem_dir(data_dir)
    tiles = []
    for entry in _read_index(folder):
        path = folder / f"{entry['name']}.npy"
        if not path.is_file():
            continue
        bounds = entry["bounds"]
        assert isinstance(bounds, list)
        void = entry.get("void")
        tiles.append(
            Tile(
                str(entry["name"]),
                np.load(path, mmap_mode="r"),
                float(entry["north"]),  # type: ignore[arg-type]
                float(entry["west"]),  # type: ignore[arg-type]
                float(entry["dlat"]),  # type: ignore[arg-type]
                float(entry["dlon"]),  # type: ignore[arg-type]
                None if void is None else float(void),  # type: ignore[arg-type]
                (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
            )
        )
    return Dem(tiles) if tiles else None


# --- downloading tiles ------------------------------------------------------------------------------------
def tile_names(bbox: BBox) -> list[str]:
    """SRTM names of the 1° tiles covering a bounding box (not across the antimeridian)."""
    names = []
    for lat in range(math.floor(bbox.bottom), math.floor(bbox.top) + 1):
        for lon in range(math.floor(bbox.left), math.floor(bbox.right) + 1):
            names.append(f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}{'E' if lon >= 0 else 'W'}{abs(lon):03d}")
    return names


def fetch_tiles(
    data_dir: Path, bbox: BBox, base_url: str = SKADI_URL, timeout_s: float = FETCH_TIMEOUT_S
) -> list[str]:
    """Download and register the SRTM tiles covering ``bbox`` that are not registered yet.

    ``base_url`` serves ``<base>/N27/N27E086.hgt.gz`` (the AWS open terrain tiles). A tile the server does
    not have (open sea) is skipped; no network gives one BadInput line.
    """
    names = tile_names(bbox)
    if len(names) > MAX_FETCH_TILES:
        raise BadInput(
            f"The photos span {len(names)} one-degree DEM tiles; at most {MAX_FETCH_TILES} are fetched."
        )
    have = {str(e.get("name")) for e in _read_index(dem_dir(data_dir))}
    host = urlsplit(base_url).netloc or base_url
    fetched = []
    for name in names:
        if name in have:
            continue
        url = f"{base_url.rstrip('/')}/{name[:3]}/{name}.hgt.gz"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 404):
                continue  # no tile there (sea)
            raise BadInput(f"Cannot download DEM tile {name} from {host}: HTTP {exc.code}.") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BadInput(
                f"Cannot download DEM tiles from {host} ({reason}); offline? Register tiles with `peaklens dem add`."
            ) from None
        try:
            data = gzip.decompress(payload)
        except (OSError, EOFError):
            raise BadInput(f"DEM tile {name} from {host} is not a gzip file.") from None
        fetched.append(_register(dem_dir(data_dir), read_hgt(name, data)))
    return fetched
