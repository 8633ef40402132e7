"""Register a photo against the terrain: the heading, pitch and roll that put the DEM's silhouettes on its edges.

The phone compass is a few degrees off and phones do not record pitch, so labels drawn from the EXIF alone miss
their summits. Following Baboud et al. (CVPR 2011), the terrain's silhouette edges — the skyline and every
nearer ridge standing in front of farther terrain — are rendered from the DEM into a panorama, and the photo's
own edges are matched against them with a metric that only asks "is there an edge in the photo where the
terrain has one?" (edges the model lacks — clouds, people, prayer flags, snow texture — cost nothing but a
lower mean). Unlike a skyline-only fit it needs no clear sky: a nearer ridge in front of a cloudy summit still
fixes the direction. The method and the choice of thresholds: docs/GEO.md ("Registration").

Pipeline, per photo:

1. the panorama of silhouette edges around the camera (``render_panorama``: one 360° render per camera
   position, reused for photos within ``REUSE_M`` of it by ``Registrar``);
2. the photo's edges — of its gray levels and of its blueness (snow against a pale sky is a colour edge more
   than a brightness one) — resampled into the same (azimuth, elevation) grid as the panorama for a level
   camera (``photo_edges``), softly saturated so one strong edge cannot outweigh many matching ones;
3. a coarse search over heading × pitch by one FFT cross-correlation. Only placements that put the terrain's
   skyline inside the picture can win (a photo of summits shows the ridge they stand on against the sky); if a
   placement without it matches better, the photo's strongest edges are not the terrain's (a pine, a stupa,
   clouds) and the fit gives up;
4. the coarse grid's best ``TOP_HEADINGS`` headings scored again at full resolution with the exact rectilinear
   projection (the coarse grid blurs, and its winner is not always the photo's heading); the best of them is
   refined with three small rolls (a roll kept only where it fits ``ROLL_MARGIN`` better than level);
5. the confidence: how far the best full-resolution score stands above the next heading's (a second heading
   that fits as well means the photo does not fix the direction). Below ``MIN_CONFIDENCE`` the fit gives up
   and says why; the compass stays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np
from PIL import Image, ImageFilter
from threadpoolctl import ThreadpoolController

from peaklens import geo
from peaklens.dem import Dem
from peaklens.frame import (
    CatalogEntry,
    FrameView,
    camera_altitude,
    frame_view,
    project_many,
    rotate_to_camera,
)
from peaklens.records import GeoPoint

#: the panorama's angular step (degrees): 0.1° is 1/160 of a 16° telephoto frame
PANORAMA_STEP_DEG = 0.1
#: the elevation band rendered (degrees above the camera's horizontal)
EL_MIN_DEG, EL_MAX_DEG = -35.0, 45.0
#: terrain rendered from this distance (km; nearer the 90 m SRTM cells give no usable edge) out to the range
NEAR_KM, RANGE_KM = 0.25, 90.0
#: a ridge standing in front of farther terrain weighs this much against the skyline's 1 (haze lowers its
#: contrast, and the foreground hides it more often)
INNER_WEIGHT = 0.6
#: silhouettes nearer than this (km) weigh less, down to a tenth (coarse cells, GPS error)
NEAR_FULL_KM = 3.0
#: distance samples along each ray (geometric spacing: 2 % of the distance apart)
RAY_SAMPLES = 220
#: a ridge counts as a silhouette when the terrain seen just above it is at least this many times farther
DEPTH_RATIO = 1.2
#: the panorama is rendered in sectors of this width (degrees), as photos need them
SECTOR_DEG = 5.0
#: sectors ray-marched together (a batch's arrays stay small enough for the CPU's cache)
RENDER_BATCH = 2
#: a photo taken within this distance (m) and altitude difference of a rendered panorama reuses it
REUSE_M = 50.0
#: how far from the compass the heading is searched, each way; and the pitch range
SEARCH_DEG = 12.0
PITCH_RANGE_DEG = 35.0
#: the coarse grid is about this many cells across the photo (its step never finer than the panorama's)
COARSE_CELLS = 64
#: how much the photo's edges where the terrain says sky count against a match, from this many coarse cells
#: above the terrain's highest edge in a column
SKY_WEIGHT = 0.5
SKY_MARGIN_CELLS = 2
#: the photo's blueness (blue less red) counts this many times a gray level: snow against a pale sky differs
#: little in brightness but much in colour, and so does the bluish shade under a ridge (chosen on the marked
#: trek photos, docs/GEO.md: 2 and 3 register 27-28 of the 50, 4 and more make a fit worse)
BLUE_GAIN = 3.0
#: a rolled camera must fit this much better (as a share of the score) than a level one to be kept
ROLL_MARGIN = 0.03
#: the compass prior on the heading: COMPASS_PRIOR · (offset / COMPASS_SIGMA_DEG)² is taken from a score
COMPASS_PRIOR = 0.05
COMPASS_SIGMA_DEG = 8.0
#: the refinement scores shifts of up to this many coarse cells around the coarse fit
REFINE_CELLS = 2
#: the rolls tried in the fine search (phones are held level within a few degrees)
ROLLS_DEG = (-2.0, 0.0, 2.0)
#: the runner-up heading must lie at least this far (degrees, or a tenth of the field of view) from the best
SEPARATION_DEG = 1.5
#: below this confidence (1 - runner-up / best among the coarse grid's best headings scored at full resolution)
#: the fit gives up; chosen on the marked trek photos (docs/GEO.md): the wrong fits there stay under 0.05, the
#: right ones 0.06-0.75
MIN_CONFIDENCE = 0.15
#: the coarse grid's best this-many headings are scored again at full resolution
TOP_HEADINGS = 3
#: a heading whose coarse score is under this share of the best's is not scored again (it comes nowhere near the
#: best at full resolution on the marked photos: the eval is the same from 0 to 0.7, and 0.8 let a wrong fit
#: through; it saves a few ms a photo)
MIN_CANDIDATE_SHARE = 0.6
#: the terrain's skyline must rise and fall by this much (degrees) across the frame to fix a direction
MIN_RELIEF_DEG = 0.5
#: a photo whose skyline lies nearer than NEAR_SKYLINE_KM (km) in more than MAX_NEAR_SKYLINE of its columns is
#: not registered: at 1 km a 10 m GPS error is half a degree, and 90 m cells draw no usable ridge there
NEAR_SKYLINE_KM = 2.5
MAX_NEAR_SKYLINE = 0.5
#: the best fit must put the terrain's skyline (a ridge against the sky) inside the picture in at least this
#: share of its columns: matches on inner ridges alone (a forested slope, a selfie) were the wrong fits
MIN_SKYLINE_IN_FRAME = 0.75
#: a placement is only scored where the terrain has silhouette mass under this share of the photo's columns
MIN_EDGE_COLUMNS = 0.3
#: the best fit must show a rendered silhouette in at least this share of the frame's columns (else the photo
#: shows too little terrain edge: a telephoto of a face, trees, a valley floor)
MIN_FRAME_SILHOUETTE = 0.5


class Panorama:
    """Silhouette edges around one camera position on a PANORAMA_STEP_DEG grid of (azimuth from 0° clockwise,
    elevation from EL_MIN_DEG up), rendered lazily in SECTOR_DEG sectors: a photo pays for the directions it
    may look at, and the next photo taken nearby for the ones it adds. A byte a cell (80 kB a sector)."""

    def __init__(self, dem: Dem, position: GeoPoint, altitude_m: float) -> None:
        self.dem = dem
        self.position = position
        self.altitude_m = altitude_m
        self.step_deg = PANORAMA_STEP_DEG
        self.n_az = round(360.0 / PANORAMA_STEP_DEG)
        self.n_el = round((EL_MAX_DEG - EL_MIN_DEG) / PANORAMA_STEP_DEG) + 1
        self._per_sector = round(SECTOR_DEG / PANORAMA_STEP_DEG)
        #: per sector, dense edge weights (azimuth cells, elevation cells) quantised to 0..255
        self._sectors: dict[int, np.ndarray] = {}
        self._skyline_km = np.full(self.n_az, np.nan)
        self._skyline_deg = np.full(self.n_az, np.nan)

    def window(self, first: int, count: int) -> np.ndarray:
        """Edge weights (count, n_el) for the azimuth cells first .. first + count - 1 (wrapping at 360°), as
        stored: 0..255 (a quarter of the memory traffic of floats while they are pooled and cut)."""
        cells = (first + np.arange(count)) % self.n_az
        sectors = cells // self._per_sector
        self._render_missing(sectors)
        # consecutive runs of one sector are one slice of its dense block
        out = np.empty((count, self.n_el), dtype=np.uint8)
        bounds = [0, *(np.flatnonzero(np.diff(sectors)) + 1).tolist(), count]
        for start, end in pairwise(bounds):
            sector = int(sectors[start])
            local = int(cells[start]) - sector * self._per_sector
            out[start:end] = self._sectors[sector][local : local + end - start]
        return out

    def skyline(self, first_deg: float, last_deg: float) -> tuple[np.ndarray, np.ndarray]:
        """The skyline's distance (km) and elevation angle (degrees) along each azimuth cell from
        ``first_deg`` to ``last_deg``."""
        first = math.floor(first_deg / self.step_deg)
        count = max(math.ceil(last_deg / self.step_deg) - first, 1)
        cells = (first + np.arange(count)) % self.n_az
        self._render_missing(cells // self._per_sector)
        return self._skyline_km[cells], self._skyline_deg[cells]

    def _render_missing(self, sectors: np.ndarray) -> None:
        missing = [int(k) for k in np.unique(sectors) if int(k) not in self._sectors]
        if missing:
            self._render(missing)

    def _render(self, sectors: list[int]) -> None:
        # a few sectors per ray march: its temporaries (~20k samples) stay small and in the CPU's cache, about
        # twice as quick on a 90° view as one march over all of it
        for first in range(0, len(sectors), RENDER_BATCH):
            self._render_batch(sectors[first : first + RENDER_BATCH])

    def _render_batch(self, sectors: list[int]) -> None:
        cells = np.concatenate([np.arange(k * self._per_sector, (k + 1) * self._per_sector) for k in sectors])
        az, el, weight, skyline_km, skyline_deg = render_silhouettes(
            self.dem, self.position, self.altitude_m, cells * self.step_deg
        )
        self._skyline_km[cells] = skyline_km
        self._skyline_deg[cells] = skyline_deg
        az_cells = cells[az]
        owner = az_cells // self._per_sector
        for k in sectors:
            mine = owner == k
            block = np.zeros((self._per_sector, self.n_el), dtype=np.uint8)
            np.maximum.at(
                block,
                (az_cells[mine] - k * self._per_sector, el[mine]),
                np.round(weight[mine] * 255).astype(np.uint8),
            )
            self._sectors[k] = block


@dataclass(frozen=True)
class Registration:
    """A photo's camera as the terrain says it points, or why there is none (``reason``).

    ``heading_offset_deg`` is added to the compass; ``pitch_deg`` (up positive) and ``roll_deg`` (clockwise
    positive) are the camera's attitude; ``confidence`` in [0, 1] is the margin of the best heading over the
    runner-up (see the module docstring).
    """

    heading_offset_deg: float | None
    pitch_deg: float | None
    roll_deg: float | None
    confidence: float
    reason: str | None = None
    details: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason is None and self.heading_offset_deg is not None

    def to_json(self) -> dict[str, object]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 2)

        return {
            "heading_offset_deg": r(self.heading_offset_deg),
            "pitch_deg": r(self.pitch_deg),
            "roll_deg": r(self.roll_deg),
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
        }


def _gave_up(reason: str, confidence: float = 0.0, details: dict[str, float] | None = None) -> Registration:
    return Registration(None, None, None, confidence, reason, details or {})


#: 180/π as np.degrees multiplies by it
_DEGREES = 180.0 / math.pi


@functools.cache
def _ray_samples(near_km: float, range_km: float, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distances (km) of the samples along every ray, geometrically spaced, and the cosine and sine of
    their angles at the earth's centre: the same for every panorama, computed once."""
    distances = np.geomspace(near_km, range_km, samples)
    delta = distances[None, :] / geo.EARTH_RADIUS_KM
    arrays = (distances, np.cos(delta), np.sin(delta))
    for array in arrays:
        array.flags.writeable = False
    return arrays


# --- the terrain side ------------------------------------------------------------------------------------------
def render_silhouettes(
    dem: Dem, position: GeoPoint, altitude_m: float, azimuths_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ray-march the DEM along each azimuth and keep the silhouette edges (Baboud et al.'s occluding contours).

    Along each azimuth the apparent elevation angle of the terrain is a function of distance; a point is seen
    when it rises above everything nearer, and a seen point followed by unseen terrain is a ridge. It is a
    silhouette when the next terrain seen above it is DEPTH_RATIO times farther: the skyline (nothing behind)
    weighs 1, a ridge in front of farther terrain 0.6 (haze lowers its contrast), both less when near.
    Returns (index into ``azimuths_deg``, elevation cell from EL_MIN_DEG, weight) per edge cell, and the
    distance (km) and elevation angle (degrees) of the skyline along each azimuth (NaN where no DEM).
    """
    step = PANORAMA_STEP_DEG
    distances, cos_delta, sin_delta = _ray_samples(NEAR_KM, RANGE_KM, RAY_SAMPLES)
    lat1, lon1 = math.radians(position.lat), math.radians(position.lon)
    bearing = np.radians(azimuths_deg)[:, None]
    # the destination of each sample on the sphere, in place where a temporary is not needed again (its
    # arrays are ~20k samples; the same operations in the same order as the textbook formula)
    sin_lat2 = np.cos(lat1) * sin_delta * np.cos(bearing)
    sin_lat2 += np.sin(lat1) * cos_delta
    lat2 = np.arcsin(sin_lat2)
    east = np.sin(bearing) * sin_delta
    east *= np.cos(lat1)
    sin_lat2 *= np.sin(lat1)
    north = np.subtract(cos_delta, sin_lat2, out=sin_lat2)
    lon2 = np.arctan2(east, north, out=east)
    lon2 += lon1
    # degrees as np.degrees computes them (a multiplication, ten times quicker than the ufunc)
    lat2 *= _DEGREES
    lon2 *= _DEGREES
    heights, _ = dem.heights(lat2.ravel(), lon2.ravel())
    heights = heights.reshape(lat2.shape)
    # the distances broadcast along each ray (their trigonometry once, not once a ray)
    angles = geo.elevation_angles_deg(distances, altitude_m, heights)
    angles[~np.isfinite(heights)] = -90.0
    best_before = np.maximum.accumulate(angles, axis=1)
    seen = np.zeros(angles.shape, dtype=bool)
    seen[:, 0] = True
    seen[:, 1:] = angles[:, 1:] > best_before[:, :-1]
    ridge = seen.copy()
    ridge[:, :-1] &= ~seen[:, 1:]
    # the distance of the next seen sample after each ridge (the terrain just above it): the seen samples in
    # row-major order, each ridge's successor is the next one in the same row
    rows, cols = np.nonzero(seen)
    is_ridge = ridge[rows, cols]
    next_same_row = np.append(rows[1:] == rows[:-1], False)
    next_col = np.append(cols[1:], 0)
    behind = np.where(next_same_row, distances[next_col], np.inf)
    ratio = behind / distances[cols]
    keep = is_ridge & (ratio >= DEPTH_RATIO) & (angles[rows, cols] > EL_MIN_DEG)
    # near terrain is drawn coarsely by 90 m cells and moves with every metre of GPS error: full weight from
    # NEAR_FULL_KM, a tenth at the nearest
    nearness = np.clip(distances[cols] / NEAR_FULL_KM, 0.1, 1.0)
    weight = (np.where(np.isinf(ratio), 1.0, INNER_WEIGHT) * nearness)[keep]
    el_bins = np.round((angles[rows, cols][keep] - EL_MIN_DEG) / step).astype(np.intp)
    inside = el_bins <= round((EL_MAX_DEG - EL_MIN_DEG) / step)
    last_seen = angles.shape[1] - 1 - np.argmax(seen[:, ::-1], axis=1)
    known = best_before[:, -1] > -90.0
    skyline_km = np.where(known, distances[last_seen], np.nan)
    skyline_deg = np.where(known, best_before[:, -1], np.nan)
    return rows[keep][inside], el_bins[inside], weight[inside].astype(np.float32), skyline_km, skyline_deg


# --- the photo side --------------------------------------------------------------------------------------------
def photo_channels(image: Image.Image, width: int) -> np.ndarray:
    """The photo's gray levels and its blueness (BLUE_GAIN · (blue − red)), scaled to ``width`` columns and
    slightly blurred (the grid's resolution): (2, height, width)."""
    height = max(8, round(image.height * width / image.width))
    rgb_image = image if image.mode == "RGB" else image.convert("RGB")
    small = rgb_image.resize((width, height), Image.Resampling.BILINEAR)
    rgb = np.asarray(small.filter(ImageFilter.GaussianBlur(0.7)), dtype=np.float32)
    with _blas().limit(limits=1, user_api="blas"):  # see _placements
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.stack([gray, BLUE_GAIN * (rgb[..., 2] - rgb[..., 0])])


def _blur(values: np.ndarray, passes: int = 2) -> np.ndarray:
    """A small separable [1 2 1]/4 blur of the last two axes, ``passes`` times (a Gaussian of sigma
    ~0.7·sqrt(passes) cells); the border cells keep half their own weight. Each pass sums [1 2 1] and the
    quarters are applied once at the end (a power of two: the same values, a pass over the array fewer)."""
    rows, cols = values.shape[-2:]
    out, scale = values, 1.0
    for _ in range(passes):
        if rows >= 3:
            out, scale = _blur_axis(out, -2), scale * 0.25
        if cols >= 3:
            out, scale = _blur_axis(out, -1), scale * 0.25
    if out is values:
        return np.array(out, copy=True)
    out *= scale
    return out


def _blur_axis(values: np.ndarray, axis: int) -> np.ndarray:
    """One [1 2 1] pass (unnormalised) along the last (``axis`` -1) or the second last axis (at least 3 cells
    long), the border cells counted twice."""
    out = values + values
    if axis == -1:
        out[..., 1:] += values[..., :-1]
        out[..., :-1] += values[..., 1:]
        out[..., 0] += values[..., 0]
        out[..., -1] += values[..., -1]
    else:
        out[..., 1:, :] += values[..., :-1, :]
        out[..., :-1, :] += values[..., 1:, :]
        out[..., 0, :] += values[..., 0, :]
        out[..., -1, :] += values[..., -1, :]
    return out


def _double_angle(values: np.ndarray) -> np.ndarray:
    """The unblurred ``oriented`` tensor (gx + i·gy)² of the last two axes (the central differences halved,
    at the borders the border value repeated) as its real and imaginary parts stacked, (2, rows, columns):
    real arithmetic is a fraction of the complex arrays' cost. Over a leading axis (channels) the channels'
    tensors are added up."""
    gx = np.zeros_like(values)
    gy = np.zeros_like(values)
    if values.shape[-1] >= 2:
        gx[..., 1:-1] = values[..., 2:] - values[..., :-2]
        gx[..., 0] = values[..., 1] - values[..., 0]
        gx[..., -1] = values[..., -1] - values[..., -2]
    if values.shape[-2] >= 2:
        gy[..., 1:-1, :] = values[..., 2:, :] - values[..., :-2, :]
        gy[..., 0, :] = values[..., 1, :] - values[..., 0, :]
        gy[..., -1, :] = values[..., -1, :] - values[..., -2, :]
    gx *= 0.5
    gy *= 0.5
    if values.ndim == 2:
        gx, gy = gx[None], gy[None]
    parts = np.empty((2, *values.shape[-2:]), dtype=values.dtype)
    # 2·gx·gy first (gx and gy are squared in place after), then gx² - gy², channel by channel
    np.multiply(gx[0], gy[0], out=parts[1])
    for k in range(1, gx.shape[0]):
        parts[1] += gx[k] * gy[k]
    parts[1] += parts[1]
    np.square(gx, out=gx)
    np.square(gy, out=gy)
    np.subtract(gx[0], gy[0], out=parts[0])
    for k in range(1, gx.shape[0]):
        parts[0] += gx[k] - gy[k]
    return parts


def oriented(values: np.ndarray) -> np.ndarray:
    """Edges as complex numbers in the double-angle form, |g|·e^{2iθ} (θ the gradient's direction), as their
    real and imaginary parts stacked (see ``_double_angle``).

    An edge and its opposite contrast count alike (snow above rock or rock above sky), two edges at right
    angles cancel, and so does texture, whose directions are spread evenly: what is left is the coherent,
    long edges a silhouette makes (the orientation term of Baboud et al.'s metric).
    """
    return _blur(_double_angle(values))


def _projection(
    height: int, width: int, hfov_deg: float, step_deg: float, pitch_deg: float, roll_deg: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Where each cell of the (elevation, azimuth offset) grid falls in a ``height`` × ``width`` photo: the
    flat index of its pixel, whether the cell's whole neighbourhood lies inside the photo, and the elevation of
    row 0."""
    focal = width / (2 * math.tan(math.radians(hfov_deg / 2)))
    half_v = math.degrees(math.atan(height / 2 / focal))
    half_h = hfov_deg / 2
    tilt = math.radians(abs(roll_deg))
    up = half_v * math.cos(tilt) + half_h * math.sin(tilt)
    lo_e = pitch_deg - up - 1.0
    hi_e = pitch_deg + up + 1.0
    alphas = np.arange(-half_h - 1.0, half_h + 1.0 + step_deg / 2, step_deg)
    elevations = np.arange(lo_e, hi_e + step_deg / 2, step_deg)
    # the directions' trigonometry on the grid's axes, broadcast to the grid by the rotation
    cx, cy, cz = rotate_to_camera(
        np.radians(alphas)[None, :], np.radians(elevations)[:, None], pitch_deg, roll_deg
    )
    shape = (elevations.size, alphas.size)
    cx, cy, cz = (np.broadcast_to(c, shape) for c in (cx, cy, cz))
    # u = width / 2 + focal · cx / cz and v = height / 2 - focal · cy / cz, in place (the grid is ~35k cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.multiply(focal, cx, out=np.empty(shape))
        u /= cz
        u += width / 2
        v = np.multiply(focal, cy, out=np.empty(shape))
        v /= cz
        np.subtract(height / 2, v, out=v)
    inside = cz > 0
    for bound in (u >= 1, u <= width - 2, v >= 1, v <= height - 2):
        inside &= bound
    # pixel i spans [i, i + 1): its centre is at i + 0.5; fmax/fmin send NaN (0/0) to the first pixel and
    # ±inf to the ends
    ui = _pixel(u, width)
    vi = _pixel(v, height)
    # the photo's border is no edge: keep cells whose whole neighbourhood lies inside (the four neighbours,
    # wrapping round at the grid's border)
    core = inside.copy()
    core[1:] &= inside[:-1]
    core[:1] &= inside[-1:]
    core[:-1] &= inside[1:]
    core[-1:] &= inside[:1]
    core[:, 1:] &= inside[:, :-1]
    core[:, :1] &= inside[:, -1:]
    core[:, :-1] &= inside[:, 1:]
    core[:, -1:] &= inside[:, :1]
    index = vi
    index *= width
    index += ui
    index.flags.writeable = False
    core.flags.writeable = False
    return index, core, float(elevations[0])


def _pixel(position: np.ndarray, size: int) -> np.ndarray:
    """The pixel (0 .. size - 1) holding each position along an axis; NaN goes to 0, beyond the ends to them.
    Works in ``position``'s memory."""
    pixel = position
    pixel -= 0.5
    np.rint(pixel, out=pixel)
    np.fmax(pixel, 0, out=pixel)
    np.fmin(pixel, size - 1, out=pixel)
    return pixel.astype(np.intp)


#: the coarse search projects every photo of a camera level, on the same grid (a refined pitch never repeats)
_level_projection = functools.lru_cache(maxsize=16)(_projection)


def photo_edges(
    channels: np.ndarray,
    hfov_deg: float,
    step_deg: float,
    pitch_deg: float = 0.0,
    roll_deg: float = 0.0,
) -> tuple[np.ndarray, float]:
    """The photo's oriented edges on an (elevation, azimuth offset) grid of ``step_deg`` for a camera of the given
    pitch and roll, softly saturated (``|z| / (|z| + typical)``: a faint ridge in haze counts nearly as much as
    the skyline); 0 outside the photo.

    Returns the grid (rows from the lowest elevation up, columns from the left edge's azimuth) and the
    elevation of its row 0 (degrees).
    """
    height, width = channels.shape[-2:]
    project = _level_projection if pitch_deg == 0.0 and roll_deg == 0.0 else _projection
    index, core, el0 = project(height, width, hfov_deg, step_deg, pitch_deg, roll_deg)
    # the channels' edge tensors add up (an edge in either counts, a colour edge and a brightness edge at the
    # same place count more); the blur is linear, so the sum is blurred once
    parts = oriented(np.take(channels.reshape(channels.shape[0], -1), index, axis=1))
    magnitude = _magnitude(parts)
    typical = _upper_quartile(magnitude[core]) + 1.0 if core.any() else 1.0
    # z / (|z| + typical) inside the photo's core, 0 outside
    scale = np.reciprocal(np.add(magnitude, typical, out=magnitude), out=magnitude)
    scale[~core] = 0.0
    return _complex(parts, scale), el0


def _magnitude(parts: np.ndarray) -> np.ndarray:
    """|parts[0] + i·parts[1]| as sqrt(re² + im²) (np.hypot is ten times slower; the values are far from
    overflowing)."""
    magnitude = np.square(parts[0])
    magnitude += np.square(parts[1])
    return np.sqrt(magnitude, out=magnitude)


def _complex(parts: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(parts[0] + i·parts[1]) · scale as a complex64 array."""
    out = np.empty(parts.shape[1:], dtype=np.complex64)
    np.multiply(parts[0], scale, out=out.real)
    np.multiply(parts[1], scale, out=out.imag)
    return out


def _upper_quartile(values: np.ndarray) -> float:
    """``np.percentile(values, 75)`` (linear interpolation) of a non-empty 1-d array, by one partition: the same
    value without the general function's overhead (a tenth of a millisecond a call, three calls a photo)."""
    position = 0.75 * (values.size - 1)
    below = math.floor(position)
    above = min(below + 1, values.size - 1)
    parted = np.partition(values, (below, above))
    # numpy's lerp, in the values' precision and from the nearer end
    low, high = parted[below], parted[above]
    share = np.asarray(position - below, dtype=values.dtype)
    return float(high - (high - low) * (1 - share) if share >= 0.5 else low + (high - low) * share)


# --- matching --------------------------------------------------------------------------------------------------
def _window(
    pano: Panorama, factor: int, az_lo: float, n_az: int, el_first: int, n_el: int
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Panorama edges (el, az) from azimuth ``az_lo`` for ``n_az`` cells of ``factor`` panorama steps and from
    coarse elevation row ``el_first`` for ``n_el`` rows, max-pooled (an edge anywhere in a coarse cell counts),
    blurred by a cell and given the direction of the silhouette line (double angle, as the photo's); with the
    azimuth of its first column's centre and the elevation of its first row's centre."""
    start = math.floor(az_lo / pano.step_deg)
    block = pano.window(start, n_az * factor)
    # rows outside the rendered band (a tall portrait pitched far) hold no edges: pad them with zeros
    below = max(-el_first * factor, 0)
    above = max((el_first + n_el) * factor - block.shape[1], 0)
    if below or above:
        block = np.pad(block, ((0, 0), (below, above)))
    lo = el_first * factor + below
    block = block[:, lo : lo + n_el * factor]
    if factor > 1:
        block = _max_pool(block, factor)
    edges = np.asarray(block.T, dtype=np.float32, order="C")
    edges *= 1.0 / 255.0
    grown = _blur(edges, 1)
    # the silhouette's direction (the tensor over its length), times the grown edge
    parts = oriented(grown)
    scale = _magnitude(parts)
    np.reciprocal(np.maximum(scale, 1e-6, out=scale), out=scale)
    parts *= scale
    first_az = (start + (factor - 1) / 2) * pano.step_deg
    first_el = EL_MIN_DEG + (el_first * factor + (factor - 1) / 2) * pano.step_deg
    # the sky: every cell two above the highest edge of its column (a column without edges has none)
    has = edges > 0
    top = np.where(has.any(axis=0), edges.shape[0] - 1 - np.argmax(has[::-1], axis=0), edges.shape[0])
    sky = (np.arange(edges.shape[0])[:, None] > top[None, :] + SKY_MARGIN_CELLS).astype(np.float32)
    return _complex(parts, grown), sky, first_az, first_el


def _max_pool(block: np.ndarray, factor: int) -> np.ndarray:
    """The maximum of each ``factor`` × ``factor`` cell of ``block``; one axis at a time, the second as the
    elementwise maximum of strided slices (a reduction over a short innermost axis is ten times slower)."""
    rows = block.reshape(block.shape[0] // factor, factor, -1).max(axis=1)
    return np.asarray(np.maximum.reduce([rows[:, i::factor] for i in range(factor)]))


def _fast_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c >= n (pocketfft is quickest on those)."""
    best = 1 << max(n - 1, 1).bit_length()
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            f = f35
            while f < n:
                f *= 2
            best = min(best, f)
            f35 *= 3
        f5 *= 5
    return best


def _score(
    agreement: np.ndarray, mass: np.ndarray, clutter: np.ndarray, sky_cells: np.ndarray, th: int, tw: int
) -> np.ndarray:
    """The match score from its sums (see ``_correlate``); -inf where the terrain shows almost no silhouette
    under the photo (such a placement says nothing)."""
    floor = MIN_EDGE_COLUMNS * tw
    sky_mean = clutter / np.maximum(sky_cells, 0.05 * th * tw)
    score = agreement / np.maximum(mass, floor) - SKY_WEIGHT * sky_mean
    return np.asarray(np.where(mass >= floor, score, -np.inf))


def _correlate(window: np.ndarray, sky: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Scores per shift [de, da] by FFT: the mean agreement of the photo's edges with the terrain's
    silhouettes (Re template · conj(window): edge strength times the cosine of twice the angle between them,
    over the terrain's edge mass under the photo) less SKY_WEIGHT times the mean edge strength the photo has
    where the terrain says sky (clouds cost a little, a ridge drawn into the blue sky a lot)."""
    wh, ww = window.shape
    th, tw = template.shape
    # a circular correlation as long as the window wraps only onto the shifts beyond the valid ones
    shape = (_fast_length(wh), _fast_length(ww))

    def spectrum(values: np.ndarray) -> np.ndarray:
        """np.fft.rfft2(values, shape), its row transforms only over the rows ``values`` has (the zero rows
        padded to ``shape`` transform to zeros: most of a template's)."""
        return np.fft.fft(np.fft.rfft(values, shape[1], axis=1), shape[0], axis=0)

    def valid(spectrum: np.ndarray) -> np.ndarray:
        """np.fft.irfft2(spectrum, shape) over the valid shifts: the row transforms only of their rows."""
        columns = np.fft.ifft(spectrum, shape[0], axis=0)[: wh - th + 1]
        return np.fft.irfft(columns, shape[1], axis=1)[:, : ww - tw + 1]

    # Re(window · conj(template)) = re·re + im·im: two real correlations summed in the spectrum, one inverse
    # (real transforms of the four parts are quicker than complex ones of the two arrays)
    agreement_spectrum = spectrum(window.real) * np.conj(spectrum(template.real))
    agreement_spectrum += spectrum(window.imag) * np.conj(spectrum(template.imag))
    agreement = valid(agreement_spectrum)
    footprint = np.conj(spectrum((template != 0).astype(np.float32)))
    sky_spectrum = spectrum(sky)
    mass = valid(spectrum(np.abs(window)) * footprint)
    clutter = valid(sky_spectrum * np.conj(spectrum(np.abs(template))))
    sky_cells = valid(sky_spectrum * footprint)
    return _score(agreement, mass, clutter, sky_cells, th, tw)


def _skyline_inside(
    pano: Panorama,
    factor: int,
    az_lo: float,
    tw: int,
    shape: tuple[int, int],
    pano_el0: float,
    step: float,
    template: np.ndarray,
) -> np.ndarray:
    """Per placement (template row 0 on window row r, column 0 on window column c): whether the terrain's
    skyline lies inside the photo in at least MIN_SKYLINE_IN_FRAME of its columns (a level camera's footprint:
    the rows the template covers in each column)."""
    rows, cols = shape
    start = math.floor((az_lo % 360.0) / pano.step_deg)
    _, sky_deg = pano.skyline(start * pano.step_deg, (start + (cols + tw - 1) * factor) * pano.step_deg)
    sky_deg = sky_deg[: (cols + tw - 1) * factor]
    sky_deg = np.pad(sky_deg, (0, (cols + tw - 1) * factor - sky_deg.size), constant_values=np.nan)
    sky_deg = np.nanmax(sky_deg.reshape(-1, factor), axis=1) if factor > 1 else sky_deg
    sky_row = (sky_deg - pano_el0) / step  # window rows, NaN where the DEM has none
    covered = np.nonzero((template != 0).any(axis=1))[0]
    lo, hi = (covered[0], covered[-1]) if covered.size else (0, template.shape[0] - 1)
    r = np.arange(rows)[:, None]
    with np.errstate(invalid="ignore"):
        inside = ((sky_row[None, :] - r) >= lo) & ((sky_row[None, :] - r) <= hi)
    counts = np.cumsum(np.pad(inside.astype(np.int32), ((0, 0), (1, 0))), axis=1)
    share = (counts[:, tw : tw + cols] - counts[:, :cols]) / tw
    return np.asarray(share >= MIN_SKYLINE_IN_FRAME)


def _parabola_at(values: np.ndarray, i: int) -> float:
    """Where the parabola through ``values[i - 1 : i + 2]`` peaks, in cells from ``i`` (0 at either end)."""
    return _parabola(*values[i - 1 : i + 2]) if 0 < i < values.size - 1 else 0.0


def _parabola(a: float, b: float, c: float) -> float:
    """Where the parabola through three equally spaced values peaks, in cells from the middle one."""
    curvature = a - 2 * b + c
    return 0.5 * (a - c) / curvature if curvature < 0 and math.isfinite(curvature) else 0.0


def _placements(window: np.ndarray, templates: np.ndarray, rows: int, cols: int, unit: int = 1) -> np.ndarray:
    """Σ window[i + k, j·unit + l] · templates[k, l, ...] for the few placements (i, j) of the refinement:
    (rows, cols, templates) sums. Each column shift is copied once, and every row shift is then a contiguous
    block, summed by a matrix product (three times quicker than an einsum over a sliding window)."""
    height, width = templates.shape[:2]
    flat = templates.reshape(height * width, -1)
    sums = np.zeros((rows, cols, flat.shape[1]), dtype=np.result_type(window, templates))
    # window rows of zeros add nothing: only the band from the first to the last row holding a value is
    # copied and summed (the terrain's edges and the sky fill part of the window's height)
    filled = np.flatnonzero(window.any(axis=1))
    if filled.size == 0:
        return sums
    lo, hi = int(filled[0]), int(filled[-1]) + 1
    shifted = np.stack([window[lo:hi, j * unit : j * unit + width] for j in range(cols)])
    # one thread: OpenBLAS splits a product this long over both cores, and waking the second thread costs
    # far more than the product (on the shared 2-core machine 2-8 ms against 0.05 ms for a fine template)
    with _blas().limit(limits=1, user_api="blas"):
        for i in range(rows):
            # window rows first .. last - 1 meet template rows first - i .. last - 1 - i
            first, last = max(lo, i), min(hi, i + height)
            if last > first:
                block = shifted[:, first - lo : last - lo].reshape(cols, -1)
                sums[i] = block @ flat[(first - i) * width : (last - i) * width]
    return sums


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries numpy loaded, found once (a scan of the process's libraries takes a millisecond)."""
    return ThreadpoolController()


def _refine(
    pano: Panorama,
    channels: np.ndarray,
    heading: float,
    hfov: float,
    step: float,
    pitch: float,
    roll: float,
    windows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, float, float]],
) -> tuple[float, float, float]:
    """Around a coarse fit: the exact projection of the pitch and ``roll`` (a level camera's grid is only
    shifted by a pitch near the centre), scored directly for ±REFINE_CELLS cells in heading and pitch.
    Returns (score, heading offset from ``heading``, pitch). ``windows`` keeps the terrain windows between
    rolls (two rolls of one size share theirs)."""
    factor = max(1, round(step / pano.step_deg))
    step = factor * pano.step_deg
    template, el0 = photo_edges(channels, hfov, step, pitch, roll)
    th, tw = template.shape
    reach = REFINE_CELLS
    az_lo = heading - hfov / 2 - 1.0 - reach * step
    el_first = math.floor((el0 - EL_MIN_DEG) / step) - reach
    key = (el_first, th)
    if key not in windows:
        windows[key] = _window(pano, factor, az_lo % 360.0, tw + 2 * reach, el_first, th + 2 * reach + 1)
    window, sky, first_az, pano_el0 = windows[key]
    rows, cols = window.shape[0] - th + 1, window.shape[1] - tw + 1
    footprint = (template != 0).astype(np.float32)
    # Re(window · conj(template)) = re·re + im·im: a real sum over both arrays' interleaved floats
    agreement = _placements(
        np.ascontiguousarray(window).view(np.float32),
        np.ascontiguousarray(template).view(np.float32),
        rows,
        cols,
        2,
    )[..., 0]
    mass = _placements(np.abs(window), footprint, rows, cols)[..., 0]
    clutter, sky_cells = np.moveaxis(
        _placements(sky, np.stack([np.abs(template), footprint], axis=-1), rows, cols), -1, 0
    )
    rows, cols = agreement.shape
    scores = _score(agreement, mass, clutter, sky_cells, th, tw)
    if not np.isfinite(scores).any():
        return -math.inf, 0.0, pitch
    i, j = np.unravel_index(int(np.argmax(np.where(np.isfinite(scores), scores, -1e9))), scores.shape)
    di = _parabola(*scores[i - 1 : i + 2, j]) if 0 < i < rows - 1 else 0.0
    dj = _parabola(*scores[i, j - 1 : j + 2]) if 0 < j < cols - 1 else 0.0
    offset = (j + dj - reach) * step + geo.signed_angle_deg(az_lo % 360.0, first_az)
    found_pitch = pitch + (pano_el0 + (i + di) * step - el0)
    return float(scores[i, j]), offset, found_pitch


def _runner_up(scores: np.ndarray, best: int, apart: int) -> float:
    """The best score outside the best one's own lobe (the slopes falling away from it on both sides) and at
    least ``apart`` cells from it: a second heading the photo also fits."""
    left = best
    while left > 0 and scores[left - 1] <= scores[left]:
        left -= 1
    right = best
    while right < scores.size - 1 and scores[right + 1] <= scores[right]:
        right += 1
    cells = np.arange(scores.size)
    elsewhere = ((cells < left) | (cells > right)) & (np.abs(cells - best) > apart)
    return float(scores[elsewhere].max()) if elsewhere.any() else 0.0


@dataclass
class _Best:
    score: float
    runner_up: float
    offset_deg: float
    pitch_deg: float
    edge_columns: float
    pitch_at_edge: bool = False
    relief_deg: float = 0.0
    #: the best score outside the best one's lobe among all placements, the skyline in the picture or not
    runner_any: float = 0.0
    #: (heading offset, pitch) of the coarse grid's best TOP_HEADINGS headings, the best first, each at least
    #: the separation from the others: scored again at full resolution
    candidates: tuple[tuple[float, float], ...] = ()


def _search(
    pano: Panorama,
    channels: np.ndarray,
    heading: float,
    hfov: float,
    step: float,
    search: float,
    pitch: float,
    pitch_range: float,
    roll: float,
) -> _Best | None:
    factor = max(1, round(step / pano.step_deg))
    step = factor * pano.step_deg
    template, el0 = photo_edges(channels, hfov, step, pitch, roll)
    th, tw = template.shape
    alpha_lo = -hfov / 2 - 1.0
    n_shift = round(search / step)
    az_lo = heading + alpha_lo - n_shift * step
    # the rows the template's row 0 may sit on: a pitch within ±pitch_range that leaves some terrain edge in
    # the photo (searching placements over empty sky or below the rendered band costs and says nothing)
    extent = pano.window(math.floor((az_lo % 360.0) / pano.step_deg), (tw + 2 * n_shift) * factor).any(axis=0)
    if not extent.any():
        return None
    rows = np.nonzero(extent)[0]
    edges_lo, edges_hi = EL_MIN_DEG + rows[0] * pano.step_deg, EL_MIN_DEG + rows[-1] * pano.step_deg
    lowest = max(el0 - pitch_range, edges_lo - th * step)
    highest = min(el0 + pitch_range, edges_hi)
    if highest < lowest:
        return None
    el_first = math.floor((lowest - EL_MIN_DEG) / step) - 1
    el_last = math.ceil((highest - EL_MIN_DEG) / step) + th + 1
    window, sky, first_az, pano_el0 = _window(
        pano, factor, az_lo % 360.0, tw + 2 * n_shift, el_first, el_last - el_first
    )
    if window.shape[0] < th:
        return None
    band = window
    scores = _correlate(band, sky, template)
    finite = np.isfinite(scores)
    if not finite.any():
        return None
    scores = np.where(finite, scores, scores[finite].min())
    # the compass as a prior: a heading far from it must match better to win (trek compasses: within ~10°)
    offsets = (np.arange(scores.shape[1]) - n_shift) * step
    scores = scores - COMPASS_PRIOR * (offsets / COMPASS_SIGMA_DEG) ** 2
    # only placements that put the terrain's skyline inside the picture win: a photo of summits shows the ridge
    # they stand on against the sky, and placements without it were the wrong fits (foreground edges matched
    # to inner ridges); the others still compete as runners-up
    anywhere = scores.max(axis=0)
    inside = _skyline_inside(pano, factor, az_lo, tw, scores.shape, pano_el0, step, template)
    if not inside.any():
        return None
    scores = np.where(inside, scores, scores.min())
    by_heading = scores.max(axis=0)
    best_col = int(np.argmax(by_heading))
    best_row = int(np.argmax(scores[:, best_col]))
    best = float(by_heading[best_col])
    apart = max(round(max(SEPARATION_DEG, hfov / 10) / step), 2)
    runner = _runner_up(by_heading, best_col, apart)
    runner_any = _runner_up(np.maximum(anywhere, by_heading), best_col, apart)
    first_offset = geo.signed_angle_deg(az_lo % 360.0, first_az) - n_shift * step

    def placement(column: int) -> tuple[float, float]:
        """The heading offset and pitch of the best placement in a column, to a fraction of a cell (a parabola
        through the neighbours in heading and in pitch)."""
        row = int(np.argmax(scores[:, column]))
        return (
            (column + _parabola_at(by_heading, column)) * step + first_offset,
            pitch + (pano_el0 + (row + _parabola_at(scores[:, column], row)) * step - el0),
        )

    candidates: list[tuple[float, float]] = []
    open_columns = by_heading.copy()
    floor = scores.min()
    for _ in range(TOP_HEADINGS):
        column = int(np.argmax(open_columns))
        if not open_columns[column] > floor:
            break
        if candidates and open_columns[column] < MIN_CANDIDATE_SHARE * best:
            break
        candidates.append(placement(column))
        open_columns[max(0, column - apart) : column + apart + 1] = -np.inf
    offset, found_pitch = placement(best_col)
    at_edge = abs(found_pitch - pitch) >= pitch_range - 1.5 * step
    placed = band[best_row : best_row + th, best_col : best_col + tw]
    on_edge = (np.abs(placed) > 0.05) & (template != 0)  # an edge of weight 0.2 or more, blurred
    edged = on_edge.any(axis=0)
    edge_columns = float(edged.mean())
    # the relief of the terrain's skyline across the frame: a flat horizon fixes no direction
    tops = on_edge.shape[0] - 1 - np.argmax(on_edge[::-1, edged], axis=0)
    relief = float(tops.max() - tops.min()) * step if tops.size else 0.0
    return _Best(
        best,
        runner,
        offset,
        found_pitch,
        edge_columns,
        at_edge,
        relief,
        runner_any,
        tuple(candidates),
    )


class Registrar:
    """Registers photos against one DEM, keeping the panoramas it rendered for photos taken nearby."""

    def __init__(self, dem: Dem, keep: int = 64) -> None:
        self.dem = dem
        self.keep = keep
        self._panoramas: list[Panorama] = []
        self.rendered = 0

    def panorama(self, position: GeoPoint, altitude_m: float) -> Panorama:
        """The panorama of a camera position: one rendered within REUSE_M (and altitude) or a new one."""
        for pano in self._panoramas:
            if (
                geo.haversine_km(pano.position, position) * 1000.0 <= REUSE_M
                and abs(pano.altitude_m - altitude_m) <= REUSE_M
            ):
                return pano
        pano = Panorama(self.dem, position, altitude_m)
        self.rendered += 1
        self._panoramas = [pano, *self._panoramas][: self.keep]
        return pano

    @staticmethod
    def _near_share(pano: Panorama, heading: float, hfov: float) -> float:
        distances, _ = pano.skyline(heading - hfov / 2, heading + hfov / 2)
        known = np.isfinite(distances)
        return float((distances[known] < NEAR_SKYLINE_KM).mean()) if known.any() else 1.0

    @staticmethod
    def _skyline_share(pano: Panorama, heading: float, pitch: float, hfov: float, aspect: float) -> float:
        """The share of the frame's columns where the terrain's skyline (a ridge against the sky) is in the
        picture, for a camera of that heading and pitch."""
        _, elevations = pano.skyline(heading - hfov / 2, heading + hfov / 2)
        alphas = np.linspace(-hfov / 2, hfov / 2, elevations.size)
        with np.errstate(invalid="ignore"):
            _, y = project_many(alphas, elevations, hfov, aspect, pitch, 0.0)
            inside = (y > 0.0) & (y < 1.0)
        return float(inside.mean())

    def register(self, image: Image.Image, camera: geo.Camera) -> Registration | None:
        """The photo's heading correction, pitch and roll, or why not; None without a compass heading.

        ``image`` is the photo as displayed (EXIF orientation applied), ``camera`` its EXIF camera.
        """
        if camera.heading_deg is None or not math.isfinite(camera.heading_deg):
            return None
        if not self.dem.covers(camera.position.lat, camera.position.lon):
            return _gave_up("the camera is outside the DEM")
        altitude, _ = camera_altitude(camera, self.dem)
        if altitude is None:
            return _gave_up("no camera altitude (no GPS altitude and a DEM void under the camera)")
        hfov = geo.field_of_view_deg(camera)
        if not 1.0 < hfov < 120.0:
            return _gave_up(f"a {hfov:.0f}° field of view cannot be registered (1°–120° rectilinear)")
        pano = self.panorama(camera.position, altitude)
        heading = camera.heading_deg
        coarse_step = max(PANORAMA_STEP_DEG, hfov / COARSE_CELLS)
        coarse_cols = max(16, round(hfov / coarse_step))
        channels = photo_channels(image, coarse_cols)
        coarse = _search(pano, channels, heading, hfov, coarse_step, SEARCH_DEG, 0.0, PITCH_RANGE_DEG, 0.0)
        if coarse is None:
            return _gave_up("the terrain around the camera has no silhouette edge to match")
        if coarse.edge_columns < MIN_FRAME_SILHOUETTE:
            return _gave_up(
                f"the terrain shows a silhouette in only {coarse.edge_columns:.0%} of the frame", 0.0
            )
        if coarse.relief_deg < MIN_RELIEF_DEG:
            return _gave_up(
                f"the terrain's skyline is too flat here to fix a direction ({coarse.relief_deg:.1f}° of relief)"
            )
        heading_fit = heading + coarse.offset_deg
        near = self._near_share(pano, heading_fit, hfov)
        if near > MAX_NEAR_SKYLINE:
            return _gave_up(
                f"a ridge nearer than {NEAR_SKYLINE_KM:g} km forms {near:.0%} of the skyline (the DEM's cells "
                "and the GPS are too coarse for it)"
            )
        coarse_confidence = 1.0 - coarse.runner_up / coarse.score if coarse.score > 0 else 0.0
        skyline_share = self._skyline_share(
            pano, heading_fit, coarse.pitch_deg, hfov, image.height / image.width
        )
        details = {
            "score": coarse.score,
            "runner_up": coarse.runner_up,
            "coarse_confidence": coarse_confidence,
            "edge_columns": coarse.edge_columns,
            "near_skyline": near,
            "skyline_in_frame": skyline_share,
            "runner_any": coarse.runner_any,
        }
        if skyline_share < MIN_SKYLINE_IN_FRAME:
            return _gave_up(
                f"the terrain's skyline is in only {skyline_share:.0%} of the frame at the best fit (no ridge "
                "against the sky to trust)",
                coarse_confidence,
                details,
            )
        if coarse.runner_any > coarse.score:
            return _gave_up(
                "a placement without the skyline in the picture matches better elsewhere (the photo's strongest "
                "edges are not the terrain's)",
                coarse_confidence,
                details,
            )
        if coarse.pitch_at_edge:
            return _gave_up(
                f"the best match needs a pitch at the edge of the ±{PITCH_RANGE_DEG:.0f}° search",
                coarse_confidence,
                details,
            )
        if abs(coarse.offset_deg) >= SEARCH_DEG - coarse_step:
            return _gave_up(
                f"the best match is at the edge of the ±{SEARCH_DEG:.0f}° search", coarse_confidence, details
            )
        fine_step = max(PANORAMA_STEP_DEG, coarse_step / 2)
        fine_channels = photo_channels(image, max(16, round(hfov / fine_step)))
        # the coarse grid's best headings scored again at full resolution (exact projection, level camera): the
        # coarse grid blurs, and its winner is not always the photo's heading; the margin of the best over the
        # next is the confidence
        refined = sorted(
            (
                (
                    *_refine(pano, fine_channels, heading + offset, hfov, fine_step, pitch, 0.0, {}),
                    offset,
                    pitch,
                )
                for offset, pitch in coarse.candidates
            ),
            key=lambda fit: fit[0],
            reverse=True,
        )
        if not refined:
            return _gave_up("the terrain around the camera has no silhouette edge to match", 0.0, details)
        best, coarse_offset, coarse_pitch = refined[0][:3], refined[0][3], refined[0][4]
        confidence = coarse_confidence
        if len(refined) > 1:
            confidence = 1.0 - max(refined[1][0], 0.0) / best[0] if best[0] > 0 else 0.0
            details["fine_score"], details["fine_runner_up"] = best[0], refined[1][0]
        if confidence < MIN_CONFIDENCE:
            return _gave_up(
                f"another heading fits almost as well (confidence {confidence:.2f} < {MIN_CONFIDENCE})",
                confidence,
                details,
            )
        # a roll must fit clearly better than a level camera to be kept (phones are mostly held level, and a
        # roll picked by a hair moves the pitch with it)
        windows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, float, float]] = {}
        fits = {0.0: best}
        for roll in ROLLS_DEG:
            if roll != 0.0:
                fits[roll] = _refine(
                    pano, fine_channels, heading + coarse_offset, hfov, fine_step, coarse_pitch, roll, windows
                )
        roll = max(fits, key=lambda r: fits[r][0])
        if roll != 0.0 and fits[roll][0] < fits[0.0][0] * (1.0 + ROLL_MARGIN):
            roll = 0.0
        _, offset, pitch = fits[roll]
        return Registration(coarse_offset + offset, pitch, roll, confidence, None, details)


def place_photo(
    image: Image.Image,
    camera: geo.Camera,
    peaks: Sequence[CatalogEntry],
    dem: Dem | None,
    registrar: Registrar | None = None,
) -> tuple[FrameView, Registration | None]:
    """Every catalog peak placed in a photo not (yet) in the store: registered against the terrain where the
    DEM covers the camera and the photo fixes the heading, on the compass otherwise. ``registrar`` keeps
    panoramas between photos (one is made for this photo when none is given)."""
    fit = None
    if dem is not None and camera.heading_deg is not None:
        fit = (registrar or Registrar(dem)).register(image, camera)
    placed, correction = registered_camera(camera, fit)
    offset, source = correction or (None, None)
    return frame_view(placed, peaks, dem, heading_offset_deg=offset, heading_source=source), fit


def registered_camera(
    camera: geo.Camera, fit: Registration | None
) -> tuple[geo.Camera, tuple[float, str] | None]:
    """The camera as a fit registered it (its pitch and roll) and the heading correction the fit found; the
    camera as it was and no correction where the fit gave up (or there was none)."""
    if fit is None or not fit.ok or fit.heading_offset_deg is None:
        return camera, None
    return replace(camera, pitch_deg=fit.pitch_deg, roll_deg=fit.roll_deg), (
        fit.heading_offset_deg,
        "registered",
    )
